#!/usr/bin/env python3
"""Generates the safetensors test fixtures in Tests/SwapIOTests/Fixtures/safetensors/.

Requires torch and the `safetensors` package (tested with torch 2.13.0+cpu, safetensors 0.8.0).
Deterministic: every random choice comes from seeded generators, so rerunning reproduces the
same bytes, with one exception: the reference writer orders `__metadata__` keys in hash-map
order, so values.safetensors (two metadata keys; the tests read them but never compare that
file byte-wise) may come out with its two keys swapped. The python_written_* files, which the
tests compare byte for byte, have exactly one metadata key.

Outputs
  values.safetensors            tensors of every convertible dtype with torch's own `.float()`
                                of each stored next to it as "<name>.as_f32"; a zero-size tensor;
                                a scalar; metadata.
  python_written_{f32,f16,bf16}.safetensors
                                save_file() of the same inputs converted with torch's
                                .float()/.half()/.bfloat16(): the Swift writer must reproduce
                                these bytes exactly from the F32 file's tensors.
  malformed/*.safetensors       one hand-made file per validation rule; malformed.json records the
                                error the reference implementation reports for each.
  accepted/*.safetensors        unusual but valid files; accepted.json records what the reference
                                reads from each (name -> [dtype, shape]).
  fuzz_corpus.bin / .json       mutated files; for each, the reference's verdict (the tensors it
                                reads, or its error category).

Usage:  python3 tools/reference/make_safetensors_fixtures.py
"""
import json
import os
import random
import struct

import torch
import safetensors
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.normpath(os.path.join(ROOT, "Tests", "SwapIOTests", "Fixtures", "safetensors"))


def reference_verdict(data: bytes):
    """What the reference Rust implementation makes of `data`: ("ok", {name: [dtype, shape]})
    or ("error", category, message)."""
    try:
        result = safetensors.deserialize(bytes(data))
    except Exception as e:  # SafetensorError
        message = str(e)
        categories = [
            ("header too small", "headerTooSmall"),
            ("header too large", "headerTooLarge"),
            ("invalid header length", "invalidHeaderLength"),
            ("invalid UTF-8", "invalidUTF8"),
            ("invalid JSON", "invalidJSON"),
            ("invalid offset", "invalidOffset"),
            ("overflow computing", "validationOverflow"),
            ("subbytes", "misalignedSlice"),
            ("invalid shape, data type, or offset", "sizeMismatch"),
            ("incomplete metadata", "incompleteBuffer"),
        ]
        for needle, category in categories:
            if needle in message:
                return ("error", category, message)
        raise RuntimeError("unclassified reference error: " + message)
    return ("ok", {name: [info["dtype"], list(info["shape"])] for name, info in result})


def file_bytes(header, data=b"", declared_length=None):
    hb = header.encode() if isinstance(header, str) else header
    n = len(hb) if declared_length is None else declared_length
    return struct.pack("<Q", n) + hb + data


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------------------------
def make_values():
    g = torch.Generator().manual_seed(1234)
    t = {}
    specials = [0.0, -0.0, 1.0, -1.0, 0.5, 65504.0, 65520.0, 1e-8, -3.0e38, float("inf"),
                float("-inf"), float("nan"), 1.1754942e-38, 1e-45]
    t["f32.values"] = torch.cat([torch.tensor(specials), torch.randn(50, generator=g) * 100])

    # F16 / BF16: a stride through all 65536 bit patterns plus the interesting ones
    # (zeros, smallest/largest subnormal, smallest normal, max, infinities, quiet and
    # signalling NaNs with payloads).
    edge = [0x0000, 0x8000, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3C00, 0x7BFF, 0xFBFF, 0x7C00,
            0xFC00, 0x7E00, 0xFE00, 0x7C01, 0x7D55, 0x7FFF, 0xFFFF]
    bedge = [0x0000, 0x8000, 0x0001, 0x007F, 0x0080, 0x3F80, 0x7F7F, 0xFF7F, 0x7F80, 0xFF80,
             0x7FC0, 0xFFC0, 0x7F81, 0x7FFF, 0xFFFF]
    pat16 = list(range(0, 65536, 37))
    as_i16 = lambda pats: torch.tensor([p - 65536 if p >= 32768 else p for p in pats], dtype=torch.int16)
    t["f16.values"] = as_i16(edge + pat16).view(torch.float16).reshape(-1)
    t["bf16.values"] = as_i16(bedge + pat16).view(torch.bfloat16).reshape(-1)
    t["f16.matrix"] = (torch.randn(3, 4, generator=g) * 10).half()
    t["bf16.matrix"] = (torch.randn(2, 3, 2, generator=g) * 10).bfloat16()

    t["f64.values"] = torch.tensor([0.0, -1.5, 1e300, -1e-300, 3.141592653589793, 16777217.0,
                                    float("inf"), float("nan")], dtype=torch.float64)
    t["i64.values"] = torch.tensor([0, -1, 2**62, -(2**63), 16777217, 123456789], dtype=torch.int64)
    t["i32.values"] = torch.tensor([0, -1, 2**31 - 1, -(2**31), 16777217, 42], dtype=torch.int32)
    t["i16.values"] = torch.tensor([0, -1, 32767, -32768, 1234], dtype=torch.int16)
    t["i8.values"] = torch.tensor([0, -1, 127, -128, 5], dtype=torch.int8)
    t["u8.values"] = torch.tensor([0, 1, 128, 255], dtype=torch.uint8)
    t["bool.values"] = torch.tensor([True, False, True, True])
    t["f8e4m3.values"] = torch.arange(256, dtype=torch.int16).to(torch.uint8).view(torch.float8_e4m3fn)
    t["f8e5m2.values"] = torch.arange(256, dtype=torch.int16).to(torch.uint8).view(torch.float8_e5m2)
    for name in list(t):
        t[name + ".as_f32"] = t[name].float().clone()
    t["empty"] = torch.zeros(0, 3)
    t["scalar"] = torch.tensor(3.5)
    save_file(t, os.path.join(OUT, "values.safetensors"),
              metadata={"format": "pt", "source": "make_safetensors_fixtures.py"})


def make_python_written():
    g = torch.Generator().manual_seed(99)
    # Values chosen to exercise rounding: random magnitudes over many binades, exact ties for
    # F16 and BF16, overflow to infinity, subnormal results, infinities, signed zero.
    ties16 = [1.0 + 2**-11, 1.0 + 3 * 2**-11, 2048.0 + 1.0, 65504.0, 65519.99, 65520.0, 1e-7, 6e-8,
              2.98e-8, -0.0, float("inf"), float("-inf"), 1e5]
    tiesbf = [1.0 + 2**-8, 1.0 + 3 * 2**-8, 3.0e38, 3.4e38, 1e-40, -0.0]
    inputs = {
        # deliberately not in name order: the writer sorts
        "unet.conv_in.weight": torch.randn(2, 3, 2, 2, generator=g) * torch.logspace(-8, 8, 24).reshape(2, 3, 2, 2),
        "b": torch.tensor(ties16 + tiesbf),
        "a.bias": torch.tensor(-2.5),
        "empty": torch.zeros(0),
        "Z": torch.randn(5, generator=g),
    }
    save_file(inputs, os.path.join(OUT, "python_written_f32.safetensors"), metadata={"format": "pt"})
    save_file({k: v.half() for k, v in inputs.items()},
              os.path.join(OUT, "python_written_f16.safetensors"), metadata={"format": "pt"})
    save_file({k: v.bfloat16() for k, v in inputs.items()},
              os.path.join(OUT, "python_written_bf16.safetensors"), metadata={"format": "pt"})
    # The same without metadata (no __metadata__ key at all).
    save_file(inputs, os.path.join(OUT, "python_written_f32_nometa.safetensors"))


# ---------------------------------------------------------------------------------------------
def entry(dtype, shape, begin, end):
    return '{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}' % (dtype, json.dumps(shape).replace(" ", ""), begin, end)


MALFORMED = {
    # name: bytes
    "header_too_small": b"\x05\x00\x00\x00\x00",
    "header_too_large": file_bytes('{}', declared_length=100_000_001),
    "header_length_past_end": file_bytes('{"w":' + entry("F32", [1], 0, 4) + '}', b"\0" * 4, declared_length=200),
    "invalid_utf8": file_bytes(b'{"w\xff":' + entry("F32", [1], 0, 4).encode() + b'}', b"\0" * 4),
    "invalid_json": file_bytes('{"w":' + entry("F32", [1], 0, 4) + ',}', b"\0" * 4),
    "not_an_object": file_bytes('[1, 2]'),
    "metadata_not_strings": file_bytes('{"__metadata__":{"epoch":3},"w":' + entry("F32", [1], 0, 4) + '}', b"\0" * 4),
    "missing_dtype": file_bytes('{"unet.conv_in.weight":{"shape":[1],"data_offsets":[0,4]}}', b"\0" * 4),
    "missing_shape": file_bytes('{"unet.conv_in.weight":{"dtype":"F32","data_offsets":[0,4]}}', b"\0" * 4),
    "missing_data_offsets": file_bytes('{"unet.conv_in.weight":{"dtype":"F32","shape":[1]}}', b"\0" * 4),
    "unknown_dtype": file_bytes('{"unet.conv_in.weight":' + entry("F31", [1], 0, 4) + '}', b"\0" * 4),
    "negative_extent": file_bytes('{"unet.conv_in.weight":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', b"\0" * 4),
    "three_offsets": file_bytes('{"unet.conv_in.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}', b"\0" * 4),
    "duplicate_field": file_bytes('{"unet.conv_in.weight":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\0" * 4),
    "offsets_reversed": file_bytes('{"unet.conv_in.weight":' + entry("F32", [1], 4, 0) + '}', b"\0" * 4),
    "offsets_not_from_zero": file_bytes('{"unet.conv_in.weight":' + entry("F32", [1], 4, 8) + '}', b"\0" * 8),
    "offsets_gap": file_bytes('{"a":' + entry("F32", [1], 0, 4) + ',"unet.conv_in.weight":' + entry("F32", [1], 8, 12) + '}', b"\0" * 12),
    "offsets_overlap": file_bytes('{"a":' + entry("F32", [2], 0, 8) + ',"unet.conv_in.weight":' + entry("F32", [1], 4, 8) + '}', b"\0" * 8),
    "size_mismatch": file_bytes('{"unet.conv_in.weight":' + entry("F32", [4, 4], 0, 100) + '}', b"\0" * 100),
    "shape_overflow": file_bytes('{"unet.conv_in.weight":' + entry("F32", [4294967296, 4294967296, 2], 0, 0) + '}'),
    "dtype_bits_overflow": file_bytes('{"unet.conv_in.weight":' + entry("F32", [2305843009213693952], 0, 0) + '}'),
    "misaligned_subbyte": file_bytes('{"unet.conv_in.weight":' + entry("F4", [3], 0, 1) + '}', b"\0"),
    "data_longer_than_tensors": file_bytes('{"unet.conv_in.weight":' + entry("F32", [1], 0, 4) + '}', b"\0" * 5),
    "data_shorter_than_tensors": file_bytes('{"unet.conv_in.weight":' + entry("F32", [2], 0, 8) + '}', b"\0" * 4),
    "empty_header_with_data": file_bytes('{}', b"\0"),
}

ACCEPTED = {
    "leading_and_trailing_whitespace": file_bytes(' \n\t{"w":' + entry("F32", [1], 0, 4) + '}\r\n  ', b"\0\0\x80\x3f"),
    "array_form_entry": file_bytes('{"w":["F16",[2],[0,4]]}', b"\x00\x3c\x00\xc0"),
    "unknown_fields_ignored": file_bytes('{"w":{"dtype":"F32","extra":{"x":[1,2.5,null,true]},"shape":[1],"data_offsets":[0,4]}}', b"\0\0\0\x40"),
    "duplicate_name_last_wins": file_bytes('{"w":' + entry("F32", [1], 0, 4) + ',"w":' + entry("F32", [2], 0, 8) + '}', b"\0" * 8),
    "zero_size_shared_offsets": file_bytes('{"a":' + entry("F32", [0], 0, 0) + ',"b":' + entry("F32", [1], 0, 4) + ',"c":' + entry("F16", [0, 7], 4, 4) + '}', b"\0" * 4),
    "unsorted_offsets": file_bytes('{"second":' + entry("I8", [2], 2, 4) + ',"first":' + entry("U8", [2], 0, 2) + '}', b"\x01\x02\xff\x7f"),
    "metadata_null": file_bytes('{"__metadata__":null,"w":' + entry("F32", [1], 0, 4) + '}', b"\0" * 4),
    "metadata_last": file_bytes('{"w":' + entry("F32", [1], 0, 4) + ',"__metadata__":{"k":"v","uni\\u00e9\\ud83d\\ude00":"x\\ny"}}', b"\0" * 4),
    "empty_file_header": file_bytes('{}'),
    "unaligned_data": file_bytes('{"w":' + entry("F16", [3], 0, 6) + '}', b"\x00\x3c\x00\x40\x00\x42"),
    "escaped_name": file_bytes('{"a\\"b\\\\c\\u0041\\n":' + entry("BF16", [1], 0, 2) + '}', b"\x80\x3f"),
    "huge_extent_times_zero": file_bytes('{"w":' + entry("F32", [0, 4294967296], 0, 0) + '}'),
    "f4_even": file_bytes('{"w":' + entry("F4", [4], 0, 2) + '}', b"\x12\x34"),
}


def make_malformed_and_accepted():
    manifest = {}
    for name, data in MALFORMED.items():
        verdict = reference_verdict(data)
        assert verdict[0] == "error", (name, verdict)
        manifest[name] = {"category": verdict[1], "message": verdict[2]}
        write(os.path.join(OUT, "malformed", name + ".safetensors"), data)
    with open(os.path.join(OUT, "malformed.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)
    manifest = {}
    for name, data in ACCEPTED.items():
        verdict = reference_verdict(data)
        assert verdict[0] == "ok", (name, verdict)
        manifest[name] = verdict[1]
        write(os.path.join(OUT, "accepted", name + ".safetensors"), data)
    with open(os.path.join(OUT, "accepted.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


# ---------------------------------------------------------------------------------------------
TOKENS = [",", '"', "{", "}", "[", "]", ":", " ", "-", "0", "1", "9", "1e3", "0.5", "null", "true",
          "F32", "F16", "BF16", "F4", "I64", "C64", "F8_E4M3", "X", "\\u0000", "\\ud800", "18446744073709551616",
          "4294967296", '"dtype":"F32",', '"shape":[1],', '"data_offsets":[0,4],', '"__metadata__":{},']


def mutate(rng, base):
    n = struct.unpack("<Q", base[:8])[0]
    header, data = bytearray(base[8:8 + n]), bytearray(base[8 + n:])
    kind = rng.randrange(10)
    if kind == 0:  # flip a byte anywhere
        b = bytearray(base)
        b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b)
    if kind == 1:  # truncate
        return base[:rng.randrange(len(base))]
    if kind == 2:  # append bytes
        return base + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
    if kind == 3:  # change the declared header length
        return struct.pack("<Q", max(0, n + rng.randrange(-9, 10))) + base[8:]
    # header text edits, length prefix kept consistent
    for _ in range(rng.randrange(1, 3)):
        pos = rng.randrange(len(header) + 1)
        op = rng.randrange(5)
        if op == 0 and header:  # replace a digit by another
            digits = [i for i, c in enumerate(header) if 48 <= c <= 57]
            if digits:
                header[rng.choice(digits)] = rng.choice(b"0123456789")
        elif op == 1 and header:  # delete a span
            del header[pos:pos + rng.randrange(1, 4)]
        elif op == 2:  # insert a token
            header[pos:pos] = rng.choice(TOKENS).encode()
        elif op == 3:  # swap a dtype name
            s = header.decode("utf-8", "replace")
            for d in ["F32", "F16", "BF16", "I8", "U8"]:
                if d in s:
                    s = s.replace(d, rng.choice(["F32", "F16", "BF16", "I8", "U8", "I16", "F64", "BOOL", "F4", "f32", "F8_E5M2"]), 1)
                    break
            header = bytearray(s.encode())
        else:  # adjust data length
            if rng.random() < 0.5 and data:
                del data[-rng.randrange(1, min(4, len(data)) + 1):]
            else:
                data += bytes(rng.randrange(1, 5))
    return struct.pack("<Q", len(header)) + bytes(header) + bytes(data)


def make_fuzz_corpus():
    rng = random.Random(20240607)
    bases = [
        file_bytes('{"__metadata__":{"k":"v"},"a":' + entry("F32", [2], 0, 8) + ',"b":' + entry("F16", [1, 2], 8, 12) + '}  ', bytes(range(12))),
        file_bytes('{"w":' + entry("BF16", [2], 0, 4) + ',"z":' + entry("U8", [0], 4, 4) + ',"i":' + entry("I8", [3], 4, 7) + '}', bytes(range(7))),
        file_bytes('{"s":' + entry("F64", [], 0, 8) + '}', bytes(8)),
    ]
    blob = bytearray()
    verdicts = []
    for i in range(420):
        data = mutate(rng, rng.choice(bases))
        v = reference_verdict(data)
        verdicts.append({"ok": v[1]} if v[0] == "ok" else {"error": v[1]})
        blob += struct.pack("<I", len(data)) + data
    write(os.path.join(OUT, "fuzz_corpus.bin"), bytes(blob))
    with open(os.path.join(OUT, "fuzz_corpus.json"), "w") as f:
        json.dump(verdicts, f, indent=0, sort_keys=True)
    ok = sum(1 for v in verdicts if "ok" in v)
    print(f"fuzz corpus: {len(verdicts)} cases, {ok} accepted by the reference")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    make_values()
    make_python_written()
    make_malformed_and_accepted()
    make_fuzz_corpus()
    print("wrote", OUT)
