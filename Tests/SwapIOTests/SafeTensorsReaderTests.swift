import Foundation
import SwapTensor
import Testing
@testable import SwapIO

// Fixtures under Fixtures/safetensors/ are produced by tools/reference/make_safetensors_fixtures.py
// (torch 2.13.0+cpu, safetensors 0.8.0). Each test names the function of that script that
// produced the files it reads.

/// Path of a fixture in Fixtures/safetensors/.
func safeTensorsFixture(_ name: String) -> String {
    let root = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    return root.appendingPathComponent("safetensors").appendingPathComponent(name).path
}

func safeTensorsFixtureBytes(_ name: String) -> [UInt8] {
    [UInt8](FileManager.default.contents(atPath: safeTensorsFixture(name))!)
}

/// A fresh empty directory under the system temporary directory.
func safeTensorsTempDirectory() -> String {
    let path = NSTemporaryDirectory() + "/swapio-safetensors-\(UUID().uuidString)"
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

func bits(_ values: [Float]) -> [UInt32] { values.map(\.bitPattern) }

@Suite struct SafeTensorsReaderTests {
    // Fixture: values.safetensors from make_values().
    @Test func metadataNamesAndInfo() throws {
        let file = try SafeTensorsFile(path: safeTensorsFixture("values.safetensors"))
        #expect(file.metadata == ["format": "pt", "source": "make_safetensors_fixtures.py"])
        #expect(file.names.count == 30)  // 14 dtypes, 14 ".as_f32", empty, scalar
        #expect(Set(file.names).contains("f16.values.as_f32"))
        let info = try file.info("f16.matrix")
        #expect(info.dtype == .f16)
        #expect(info.shape == [3, 4])
        #expect(info.byteCount == 24)
        let bf = try file.info("bf16.matrix")
        #expect(bf.dtype == .bf16 && bf.shape == [2, 3, 2])
        // Data order: offsets ascending and contiguous.
        var end = 0
        for e in file.entries {
            #expect(e.dataOffsets.lowerBound == end)
            end = e.dataOffsets.upperBound
        }
    }

    // Fixture: values.safetensors from make_values(). Every convertible dtype against torch's
    // own `.float()` of the same stored tensor, bit for bit (NaNs: both NaN, same sign and payload
    // as far as torch keeps it).
    @Test(arguments: ["f32.values", "f16.values", "bf16.values", "f16.matrix", "bf16.matrix",
                      "f64.values", "i64.values", "i32.values", "i16.values", "i8.values",
                      "u8.values", "bool.values", "f8e4m3.values", "f8e5m2.values"])
    func conversionMatchesTorch(name: String) throws {
        let file = try SafeTensorsFile(path: safeTensorsFixture("values.safetensors"))
        let converted = try file.tensor(name)
        let expected = try file.tensor(name + ".as_f32")
        #expect(try file.info(name + ".as_f32").dtype == .f32)
        #expect(converted.shape == expected.shape)
        #expect(converted.count > 0)
        let a = converted.scalars, b = expected.scalars
        var mismatches: [String] = []
        for i in 0..<a.count where a[i].bitPattern != b[i].bitPattern {
            // torch canonicalises some NaNs differently; a NaN must still map to a NaN.
            if a[i].isNaN && b[i].isNaN { continue }
            mismatches.append("[\(i)] got \(String(a[i].bitPattern, radix: 16)) want \(String(b[i].bitPattern, radix: 16))")
        }
        #expect(mismatches.isEmpty, "\(name): \(mismatches.prefix(10))")
    }

    // Fixture: values.safetensors from make_values(). F16/BF16 NaN payloads are kept exactly
    // (the conversion is a pure widening).
    @Test func halfNaNPayloadsAreExact() throws {
        let file = try SafeTensorsFile(path: safeTensorsFixture("values.safetensors"))
        let raw = try file.rawBytes("bf16.values")
        let values = try file.tensor("bf16.values").scalars
        for i in 0..<values.count {
            let b = UInt32(raw[2 * i]) | UInt32(raw[2 * i + 1]) << 8
            #expect(values[i].bitPattern == b << 16)
        }
        let h = try file.rawBytes("f16.values")
        let hv = try file.tensor("f16.values").scalars
        for i in 0..<hv.count {
            let b = UInt16(h[2 * i]) | UInt16(h[2 * i + 1]) << 8
            let f = Float16(bitPattern: b)
            if f.isNaN { #expect(hv[i].isNaN && Float16(hv[i]).bitPattern & 0x7FFF != 0x7C00) }
            else { #expect(hv[i] == Float(f) && hv[i].sign == f.sign) }
        }
    }

    // Fixture: values.safetensors from make_values().
    @Test func zeroSizeAndScalar() throws {
        let file = try SafeTensorsFile(path: safeTensorsFixture("values.safetensors"))
        let empty = try file.tensor("empty")
        #expect(empty.shape == [0, 3])
        #expect(empty.count == 0)
        #expect(try file.info("empty").byteCount == 0)
        let scalar = try file.tensor("scalar")
        #expect(scalar.shape == [])
        #expect(scalar.scalars == [3.5])
    }

    // Fixture: values.safetensors from make_values(). Raw bytes stay available unconverted.
    @Test func rawBytesAreUnconverted() throws {
        let file = try SafeTensorsFile(path: safeTensorsFixture("values.safetensors"))
        let info = try file.info("f16.matrix")
        let raw = try file.rawBytes("f16.matrix")
        #expect(raw.count == 24)
        let viaPointer = try file.withRawBytes("f16.matrix") { Array($0) }
        #expect(viaPointer == raw)
        // The same bytes, converted by hand.
        var manual: [Float] = []
        for i in 0..<info.count {
            manual.append(Float(Float16(bitPattern: UInt16(raw[2 * i]) | UInt16(raw[2 * i + 1]) << 8)))
        }
        #expect(bits(manual) == bits(try file.tensor("f16.matrix").scalars))
    }

    // Fixture: values.safetensors from make_values(): path, in-memory and load() agree.
    @Test func loadAndInMemoryAgree() throws {
        let path = safeTensorsFixture("values.safetensors")
        let loaded = try SafeTensors.load(path)
        let memory = try SafeTensorsFile(bytes: safeTensorsFixtureBytes("values.safetensors"), name: "x").tensors()
        #expect(loaded.count == 30)
        #expect(Set(loaded.keys) == Set(memory.keys))
        for (k, v) in loaded {
            #expect(v.shape == memory[k]!.shape)
            #expect(bits(v.scalars) == bits(memory[k]!.scalars))
        }
    }

    // Fixture: values.safetensors from make_values().
    @Test func missingTensorAndUnsupportedConversion() throws {
        let file = try SafeTensorsFile(path: safeTensorsFixture("values.safetensors"))
        #expect(!file.contains("nope"))
        #expect(throws: SafeTensorsError(.tensorNotFound, file: "values.safetensors", tensor: "nope",
                                         "no such tensor in the file")) {
            try file.tensor("nope")
        }
        // F4 has no Float conversion; accepted/f4_even.safetensors from make_malformed_and_accepted().
        let f4 = try SafeTensorsFile(path: safeTensorsFixture("accepted/f4_even.safetensors"))
        do {
            _ = try f4.tensor("w")
            Issue.record("F4 conversion should fail")
        } catch {
            #expect(error.kind == .unsupportedConversion)
            #expect(error.tensor == "w")
        }
        #expect(try f4.rawBytes("w") == [0x12, 0x34])
    }

    @Test func missingFileIsAnIOError() {
        do {
            _ = try SafeTensorsFile(path: "/nonexistent/dir/model.safetensors")
            Issue.record("expected an error")
        } catch {
            #expect(error.kind == .io)
            #expect(error.description.hasPrefix("model.safetensors: "))
        }
    }

    // Fixtures: accepted/*.safetensors and accepted.json from make_malformed_and_accepted().
    // Unusual but valid files: Swift reads the same names, dtypes and shapes as the reference.
    @Test func acceptedFilesMatchReference() throws {
        let manifest = try JSONSerialization.jsonObject(
            with: Data(safeTensorsFixtureBytes("accepted.json"))) as! [String: [String: [Any]]]
        #expect(manifest.count == 13)
        for (name, tensors) in manifest {
            let file = try SafeTensorsFile(path: safeTensorsFixture("accepted/\(name).safetensors"))
            var got: [String: String] = [:]
            for e in file.entries { got[e.name] = "\(e.dtype.rawValue) \(e.shape)" }
            var want: [String: String] = [:]
            for (t, v) in tensors { want[t] = "\(v[0] as! String) \((v[1] as! [Int]))" }
            #expect(got == want, "\(name)")
            for e in file.entries where e.dtype.convertsToFloat { _ = try file.tensor(e.name) }
        }
    }

    // Fixtures: accepted/*.safetensors from make_malformed_and_accepted(); specific values.
    @Test func acceptedFileValues() throws {
        let a = try SafeTensorsFile(path: safeTensorsFixture("accepted/array_form_entry.safetensors"))
        #expect(try a.tensor("w").scalars == [1, -2])
        let u = try SafeTensorsFile(path: safeTensorsFixture("accepted/unaligned_data.safetensors"))
        #expect(try u.tensor("w").scalars == [1, 2, 3])
        let s = try SafeTensorsFile(path: safeTensorsFixture("accepted/unsorted_offsets.safetensors"))
        #expect(s.names == ["first", "second"])
        #expect(try s.tensor("first").scalars == [1, 2])
        #expect(try s.tensor("second").scalars == [-1, 127])
        let d = try SafeTensorsFile(path: safeTensorsFixture("accepted/duplicate_name_last_wins.safetensors"))
        #expect(try d.info("w").shape == [2])
        let m = try SafeTensorsFile(path: safeTensorsFixture("accepted/metadata_last.safetensors"))
        #expect(m.metadata == ["k": "v", "uni\u{e9}\u{1F600}": "x\ny"])
        let n = try SafeTensorsFile(path: safeTensorsFixture("accepted/metadata_null.safetensors"))
        #expect(n.metadata == nil)
        let e = try SafeTensorsFile(path: safeTensorsFixture("accepted/escaped_name.safetensors"))
        #expect(e.names == ["a\"b\\cA\n"])
        #expect(try e.tensor("a\"b\\cA\n").scalars == [1])
        let z = try SafeTensorsFile(path: safeTensorsFixture("accepted/empty_file_header.safetensors"))
        #expect(z.names.isEmpty && z.metadata == nil)
        #expect(try z.tensors().isEmpty)
    }

    // No fixture: a FIFO cannot be mapped, so this exercises the read() fallback.
    @Test func readsThroughFallbackWhenMappingIsImpossible() throws {
        let dir = safeTensorsTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/pipe.safetensors"
        #expect(mkfifo(fifo, 0o600) == 0)
        let bytes = try SafeTensors.serialize([("x", Tensor(shape: [70000], scalars: (0..<70000).map(Float.init)))])
        let writer = Thread {
            let fd = open(fifo, O_WRONLY)
            bytes.withUnsafeBytes { p in
                var off = 0
                while off < p.count { let n = write(fd, p.baseAddress! + off, p.count - off); if n <= 0 { break }; off += n }
            }
            close(fd)
        }
        writer.start()
        let file = try SafeTensorsFile(path: fifo)
        let x = try file.tensor("x")
        #expect(x.shape == [70000])
        #expect(x.scalars == (0..<70000).map(Float.init))
    }
}
