#!/usr/bin/env python3
"""Writes the PNG fixtures of Tests/SwapIOTests/Fixtures and the JSON files the tests compare to.

Every PNG is encoded here from scratch with zlib + struct (no imaging library), so the expected
pixel values come from this script's own deterministic patterns, not from a decoder:

  * good/*.png        every colour type and bit depth, Adam7 interlaced variants, palettes with
                      partial tRNS, colour-key tRNS, multiple IDAT chunks, all five row filters,
                      text chunks (tEXt, zTXt, iTXt plain and compressed, text after IDAT).
  * bad/*.png         empty, not a PNG, truncated at several places, CRC errors, invalid IHDR,
                      corrupt zlib data, absurd dimensions.
  * png_expected.json for each good file: size, channels and bit depth as the reader delivers
                      them (palette -> RGB/RGBA, gray < 8 bit scaled to 8 bit, tRNS -> alpha) and
                      the flat HWC samples; the text chunks in file order. For each bad file: the
                      error kind (and chunk) the reader must report.
  * bilinear_reference.json  torch.nn.functional.interpolate(mode="bilinear",
                      align_corners=False) on small grids, for the heatmap resize.

Usage: python3 tools/reference/make_png_fixtures.py   (from the repository root)
"""

import json
import os
import struct
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "SwapIOTests", "Fixtures")

SIGNATURE = b"\x89PNG\r\n\x1a\n"
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(kind, data, crc=None):
    body = kind + data
    if crc is None:
        crc = zlib.crc32(body) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + body + struct.pack(">I", crc)


def ihdr(width, height, depth, color_type, interlace):
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, interlace))


def pack_row(samples, depth):
    """Packs one row of raw sample values (already flattened over channels) into bytes."""
    if depth == 16:
        return b"".join(struct.pack(">H", s) for s in samples)
    if depth == 8:
        return bytes(samples)
    per_byte = 8 // depth
    out = bytearray()
    for i in range(0, len(samples), per_byte):
        byte = 0
        group = samples[i:i + per_byte]
        for j, s in enumerate(group):
            byte |= s << (8 - depth * (j + 1))
        out.append(byte)
    return bytes(out)


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_row(kind, row, prev, bpp):
    out = bytearray([kind])
    for i, x in enumerate(row):
        a = row[i - bpp] if i >= bpp else 0
        b = prev[i] if prev is not None else 0
        c = prev[i - bpp] if (prev is not None and i >= bpp) else 0
        predictor = [0, a, b, (a + b) // 2, paeth(a, b, c)][kind]
        out.append((x - predictor) & 0xFF)
    return bytes(out)


def encode_scanlines(pixels, width, height, channels, depth, interlace):
    """pixels[y][x] is a tuple of raw samples. Returns the filtered, uncompressed image data.
    Row y of each (sub)image uses filter type y % 5, so every filter gets exercised."""
    bpp = max(1, channels * depth // 8)
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    raw = bytearray()
    for (x0, y0, dx, dy) in passes:
        xs = list(range(x0, width, dx))
        ys = list(range(y0, height, dy))
        if not xs or not ys:
            continue
        prev = None
        for row_index, y in enumerate(ys):
            flat = [s for x in xs for s in pixels[y][x]]
            row = pack_row(flat, depth)
            raw += filter_row(row_index % 5, row, prev, bpp)
            prev = row
    return bytes(raw)


def build_png(width, height, depth, color_type, pixels, interlace=0, pre=(), post=(), idat_parts=1):
    data = zlib.compress(encode_scanlines(pixels, width, height, CHANNELS[color_type], depth, interlace), 9)
    out = SIGNATURE + ihdr(width, height, depth, color_type, interlace)
    for c in pre:
        out += c
    step = max(1, -(-len(data) // idat_parts))
    for i in range(0, len(data), step):
        out += chunk(b"IDAT", data[i:i + step])
    for c in post:
        out += c
    return out + chunk(b"IEND", b"")


def pattern(x, y, c, depth):
    """The deterministic sample value at (x, y, channel c) for a bit depth."""
    if depth == 16:
        return (x * 4099 + y * 17011 + c * 30011 + x * y * 257) % 65536
    return (x * 29 + y * 71 + c * 113 + x * y * 7) % (1 << depth)


def palette_entries(count):
    return [((i * 37) % 256, (i * 91 + 17) % 256, (i * 53 + 101) % 256) for i in range(count)]


def palette_index(x, y, count):
    return (x * 3 + y * 5 + x * y) % count


# ---------------------------------------------------------------------------------------------
# Good files

good = []      # (name, bytes, expected dict)


def add_direct(name, width, height, color_type, depth, interlace=0, trns=None, idat_parts=1):
    """Gray / gray+alpha / RGB / RGBA, optionally with a tRNS colour key."""
    channels = CHANNELS[color_type]
    pixels = [[tuple(pattern(x, y, c, depth) for c in range(channels)) for x in range(width)]
              for y in range(height)]
    pre = []
    key = None
    if trns is not None:
        key = pixels[trns[1]][trns[0]]
        pre.append(chunk(b"tRNS", b"".join(struct.pack(">H", v) for v in key)))
    data = build_png(width, height, depth, color_type, pixels, interlace, pre, idat_parts=idat_parts)
    out_depth = 16 if depth == 16 else 8
    scale = 1 if depth >= 8 else 255 // ((1 << depth) - 1)
    out_max = (1 << out_depth) - 1
    samples = []
    for y in range(height):
        for x in range(width):
            px = pixels[y][x]
            samples += [v * scale for v in px]
            if key is not None:
                samples.append(0 if px == key else out_max)
    good.append((name, data, {
        "width": width, "height": height, "channels": channels + (1 if key is not None else 0),
        "bitDepth": out_depth, "sourceBitDepth": depth, "colorType": color_type,
        "interlaced": bool(interlace), "samples": samples, "text": [],
    }))


def add_palette(name, width, height, depth, interlace=0, trns_count=0):
    count = min(1 << depth, 200)
    entries = palette_entries(count)
    alphas = [(i * 67) % 256 for i in range(trns_count)]
    pixels = [[(palette_index(x, y, count),) for x in range(width)] for y in range(height)]
    pre = [chunk(b"PLTE", b"".join(bytes(e) for e in entries))]
    if trns_count:
        pre.append(chunk(b"tRNS", bytes(alphas)))
    data = build_png(width, height, depth, 3, pixels, interlace, pre)
    samples = []
    for y in range(height):
        for x in range(width):
            i = pixels[y][x][0]
            samples += list(entries[i])
            if trns_count:
                samples.append(alphas[i] if i < trns_count else 255)
    good.append((name, data, {
        "width": width, "height": height, "channels": 4 if trns_count else 3, "bitDepth": 8,
        "sourceBitDepth": depth, "colorType": 3, "interlaced": bool(interlace),
        "samples": samples, "text": [],
    }))


W, H = 11, 7
for d in (1, 2, 4, 8, 16):
    add_direct(f"gray{d}", W, H, 0, d)
add_direct("gray2_interlaced", W, H, 0, 2, interlace=1)
add_direct("gray8_interlaced", W, H, 0, 8, interlace=1)
add_direct("gray8_interlaced_3x2", 3, 2, 0, 8, interlace=1)
add_direct("gray8_1x1", 1, 1, 0, 8)
add_direct("gray8_trns", W, H, 0, 8, trns=(2, 3))
add_direct("gray16_trns", W, H, 0, 16, trns=(4, 1))
add_direct("graya8", W, H, 4, 8)
add_direct("graya16", W, H, 4, 16)
add_direct("rgb8", W, H, 2, 8)
add_direct("rgb8_multi_idat", 23, 17, 2, 8, idat_parts=4)
add_direct("rgb8_trns", W, H, 2, 8, trns=(1, 1))
add_direct("rgb16", W, H, 2, 16)
add_direct("rgb16_interlaced", W, H, 2, 16, interlace=1)
add_direct("rgba8", W, H, 6, 8)
add_direct("rgba8_interlaced", W, H, 6, 8, interlace=1)
add_direct("rgba16", W, H, 6, 16)
for d in (1, 2, 4, 8):
    add_palette(f"palette{d}", W, H, d)
add_palette("palette8_trns", W, H, 8, trns_count=100)
add_palette("palette4_trns_interlaced", W, H, 4, interlace=1, trns_count=9)


def text_chunk(key, value):
    return chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))


def ztxt_chunk(key, value):
    return chunk(b"zTXt", key.encode("latin-1") + b"\0\0" + zlib.compress(value.encode("latin-1")))


def itxt_chunk(key, value, compressed=False, lang="", translated=""):
    body = value.encode("utf-8")
    if compressed:
        body = zlib.compress(body)
    return chunk(b"iTXt", key.encode("latin-1") + b"\0" + bytes([1 if compressed else 0, 0]) +
                 lang.encode("ascii") + b"\0" + translated.encode("utf-8") + b"\0" + body)


TEXTS_BEFORE = [
    ("tEXt", "parameters", "a photo of a cat, highly detailed\n"
             "Negative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7.5, Seed: 42"),
    ("tEXt", "Author", "Zo\u00eb Fran\u00e7ois \u00a9 2024"),
    ("zTXt", "Comment", "compressed comment " * 8),
    ("iTXt", "prompt", "ein Hund \U0001F415 im Schnee \u2014 \u00fcn\u00efc\u00f6d\u00e9 \u4e2d\u6587"),
    ("iTXtz", "workflow", '{"nodes": ["KSampler", "VAEDecode"], "note": "\u00e9t\u00e9 \u2603"}'),
]
TEXTS_AFTER = [("tEXt", "Software", "make_png_fixtures.py")]


def make_text_chunk(kind, key, value):
    if kind == "tEXt":
        return text_chunk(key, value)
    if kind == "zTXt":
        return ztxt_chunk(key, value)
    if kind == "iTXt":
        return itxt_chunk(key, value, lang="de", translated="Eingabe")
    return itxt_chunk(key, value, compressed=True)


def add_text_fixture():
    width, height = 5, 4
    pixels = [[tuple(pattern(x, y, c, 8) for c in range(3)) for x in range(width)] for y in range(height)]
    data = build_png(width, height, 8, 2, pixels,
                     pre=[make_text_chunk(*t) for t in TEXTS_BEFORE],
                     post=[make_text_chunk(*t) for t in TEXTS_AFTER])
    samples = [s for row in pixels for px in row for s in px]
    good.append(("text_chunks", data, {
        "width": width, "height": height, "channels": 3, "bitDepth": 8, "sourceBitDepth": 8,
        "colorType": 2, "interlaced": False, "samples": samples,
        "text": [[k, v] for (_, k, v) in TEXTS_BEFORE + TEXTS_AFTER],
    }))


add_text_fixture()

# ---------------------------------------------------------------------------------------------
# Bad files

bad = []   # (name, bytes, {"error": kind, "chunk": optional})


def rgb8_file(with_text=False):
    w, h = 16, 16
    pixels = [[tuple(pattern(x, y, c, 8) for c in range(3)) for x in range(w)] for y in range(h)]
    pre = [text_chunk("parameters", "steps 20")] if with_text else []
    return build_png(w, h, 8, 2, pixels, pre=pre)


def chunk_offset(data, kind):
    """Byte offset of the length field of the first chunk of `kind`."""
    pos = 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        if data[pos + 4:pos + 8] == kind:
            return pos, length
        pos += 12 + length
    raise ValueError(kind)


def corrupt_crc(data, kind):
    pos, length = chunk_offset(data, kind)
    crc_at = pos + 8 + length
    b = bytearray(data)
    b[crc_at] ^= 0x5A
    return bytes(b)


base = rgb8_file()
idat_pos, idat_len = chunk_offset(base, b"IDAT")
iend_pos, _ = chunk_offset(base, b"IEND")
bad.append(("empty", b"", {"error": "empty"}))
bad.append(("not_png", b"GIF89a\x01\x00\x01\x00 this is not a PNG file at all", {"error": "notPNG"}))
bad.append(("text_file", b"hello, world\n", {"error": "notPNG"}))
bad.append(("truncated_signature", SIGNATURE[:5], {"error": "truncated"}))
bad.append(("truncated_ihdr", base[:20], {"error": "truncated"}))
bad.append(("truncated_idat", base[:idat_pos + 8 + idat_len // 2], {"error": "truncated"}))
bad.append(("missing_iend", base[:iend_pos], {"error": "truncated"}))
bad.append(("crc_idat", corrupt_crc(base, b"IDAT"), {"error": "crc", "chunk": "IDAT"}))
bad.append(("crc_ihdr", corrupt_crc(base, b"IHDR"), {"error": "crc", "chunk": "IHDR"}))
bad.append(("crc_text", corrupt_crc(rgb8_file(with_text=True), b"tEXt"), {"error": "crc", "chunk": "tEXt"}))
bad.append(("bad_ihdr_depth", SIGNATURE + ihdr(4, 4, 3, 2, 0) + base[33:], {"error": "corrupt"}))
bad.append(("bad_ihdr_zero_width", SIGNATURE + ihdr(0, 4, 8, 2, 0) + base[33:], {"error": "corrupt"}))
bad.append(("bad_ihdr_color_type", SIGNATURE + ihdr(4, 4, 8, 5, 0) + base[33:], {"error": "corrupt"}))
bad.append(("bad_zlib", SIGNATURE + ihdr(16, 16, 8, 2, 0) + chunk(b"IDAT", bytes(range(7, 250, 3)))
            + chunk(b"IEND", b""), {"error": "corrupt"}))
bad.append(("too_large", SIGNATURE + ihdr(100000, 100000, 16, 6, 0) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
            + chunk(b"IEND", b""), {"error": "tooLarge"}))


# ---------------------------------------------------------------------------------------------
# Bilinear reference (torch)

def bilinear_reference():
    import torch
    import torch.nn.functional as F
    cases = []
    grids = [
        (3, 4, [float((i * 7) % 5) - 1.5 for i in range(12)]),
        (2, 2, [0.0, 1.0, 2.0, 3.0]),
        (5, 3, [((i * 13) % 11) / 10.0 for i in range(15)]),
    ]
    targets = [(7, 5), (2, 3), (16, 16), (1, 1), (5, 3)]
    for (h, w, values) in grids:
        src = torch.tensor(values, dtype=torch.float64).reshape(1, 1, h, w)
        for (oh, ow) in targets:
            out = F.interpolate(src, size=(oh, ow), mode="bilinear", align_corners=False)
            cases.append({"height": h, "width": w, "values": values, "outHeight": oh, "outWidth": ow,
                          "expected": [float(v) for v in out.flatten()]})
    return cases


def main():
    os.makedirs(os.path.join(OUT, "good"), exist_ok=True)
    os.makedirs(os.path.join(OUT, "bad"), exist_ok=True)
    expected = {"good": {}, "bad": {}}
    for name, data, info in good:
        with open(os.path.join(OUT, "good", name + ".png"), "wb") as f:
            f.write(data)
        expected["good"][name] = info
    for name, data, info in bad:
        with open(os.path.join(OUT, "bad", name + ".png"), "wb") as f:
            f.write(data)
        expected["bad"][name] = info
    with open(os.path.join(OUT, "png_expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    with open(os.path.join(OUT, "bilinear_reference.json"), "w") as f:
        json.dump(bilinear_reference(), f, separators=(",", ":"))
    print(f"wrote {len(good)} good and {len(bad)} bad PNGs to {OUT}")


if __name__ == "__main__":
    main()
