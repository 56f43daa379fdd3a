import Foundation
import SwapTensor
import Testing
@testable import SwapIO

@Suite struct SafeTensorsWriterTests {
    // Fixtures: python_written_{f32,f16,bf16}.safetensors and python_written_f32_nometa from
    // make_python_written(). Writing the F32 file's tensors (with the same metadata) must give
    // exactly the bytes Python's safetensors.torch.save_file wrote, for F32 and after torch's
    // .half() / .bfloat16() rounding.
    @Test(arguments: [("python_written_f32.safetensors", SafeTensorsDtype.f32, true),
                      ("python_written_f16.safetensors", .f16, true),
                      ("python_written_bf16.safetensors", .bf16, true),
                      ("python_written_f32_nometa.safetensors", .f32, false)])
    func bytesMatchPythonWriter(fixture: String, dtype: SafeTensorsDtype, withMetadata: Bool) throws {
        let inputs = try SafeTensors.load(safeTensorsFixture("python_written_f32.safetensors"))
        #expect(inputs.count == 5)
        let expected = safeTensorsFixtureBytes(fixture)
        let bytes = try SafeTensors.serialize(inputs, metadata: withMetadata ? ["format": "pt"] : nil, dtype: dtype)
        #expect(bytes.count == expected.count)
        if bytes != expected {
            let first = zip(bytes, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
            Issue.record("\(fixture): first differing byte at \(first.map(String.init) ?? "end")")
        }
        // The atomic file writer produces the same bytes.
        let dir = safeTensorsTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/out.safetensors"
        try SafeTensors.write(inputs, metadata: withMetadata ? ["format": "pt"] : nil, to: path, dtype: dtype)
        let written = [UInt8](FileManager.default.contents(atPath: path)!)
        #expect(written == bytes, "the file differs from serialize()'s bytes")
    }

    // No fixture (Swift-only round trip).
    @Test(arguments: [SafeTensorsDtype.f32, .f16, .bf16])
    func roundTrip(dtype: SafeTensorsDtype) throws {
        var rng = SplitMix64(state: 7)
        let big = (0..<3000).map { _ in Float.random(in: -1000...1000, using: &rng) }
        let tensors: [(String, Tensor)] = [
            ("model.diffusion.weight", Tensor(shape: [30, 100], scalars: big)),
            ("scalar", Tensor(shape: [], scalars: [-0.25])),
            ("empty", Tensor(uninitializedShape: [4, 0])),
            ("ünïcode \"name\"\n", Tensor(shape: [2], scalars: [1, 2])),
        ]
        let dir = safeTensorsTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/round.safetensors"
        let metadata = ["b": "2", "a": "1", "ctrl\u{1}\t": "quote\"back\\slash"]
        try SafeTensors.write(tensors, metadata: metadata, to: path, dtype: dtype)
        let file = try SafeTensorsFile(path: path)
        #expect(file.metadata == metadata)
        #expect(Set(file.names) == Set(tensors.map(\.0)))
        for (name, t) in tensors {
            let info = try file.info(name)
            #expect(info.dtype == dtype)
            #expect(info.shape == t.shape)
            let back = try file.tensor(name)
            let expected: [Float]
            switch dtype {
            case .f16: expected = t.scalars.map { Float(Float16($0)) }
            case .bf16: expected = t.scalars.map { Float(bitPattern: UInt32(SafeTensorsConversion.bfloat16Bits($0)) << 16) }
            default: expected = t.scalars
            }
            #expect(bits(back.scalars) == bits(expected))
            if dtype != .f32 && t.count > 100 { #expect(bits(back.scalars) != bits(t.scalars)) }
        }
    }

    // No fixture: output is deterministic and independent of input order; metadata keys sorted.
    @Test func deterministicOrdering() throws {
        let a = Tensor(shape: [2], scalars: [1, 2]), b = Tensor(shape: [1], scalars: [3])
        let one = try SafeTensors.serialize([("b", b), ("a", a), ("B", a)], metadata: ["z": "1", "y": "2", "x": "3"])
        let two = try SafeTensors.serialize([("B", a), ("a", a), ("b", b)], metadata: ["x": "3", "z": "1", "y": "2"])
        #expect(one == two)
        let n = Int(one[0]) | Int(one[1]) << 8
        #expect(n % 8 == 0)
        let header = String(decoding: one[8..<(8 + n)], as: UTF8.self)
        #expect(header == #"{"__metadata__":{"x":"3","y":"2","z":"1"},"B":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]}}"# + "    ")
        #expect(one.count == 8 + n + 20)
        // Empty metadata is written as an empty object, nil metadata not at all (as the reference).
        let empty = try SafeTensors.serialize([("a", a)], metadata: [:])
        #expect(String(decoding: empty[8..<16], as: UTF8.self) == #"{"__meta"#)
        let none = try SafeTensors.serialize([("a", a)], metadata: nil)
        #expect(String(decoding: none[8..<13], as: UTF8.self) == #"{"a":"#)
    }

    // No fixture: argument errors are reported before anything touches the disk.
    @Test func invalidArguments() throws {
        let dir = safeTensorsTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/bad.safetensors"
        let t = Tensor(shape: [1], scalars: [1])
        #expect(throws: SafeTensorsError(.invalidArgument, file: "bad.safetensors", tensor: "x",
                                         "duplicate tensor name")) {
            try SafeTensors.write([("x", t), ("x", t)], to: path)
        }
        #expect(throws: SafeTensorsError.self) { try SafeTensors.write([("__metadata__", t)], to: path) }
        #expect(throws: SafeTensorsError.self) { try SafeTensors.write([("x", t)], to: path, dtype: .f64) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
    }

    // No fixture: atomic replacement.
    @Test func atomicWrite() throws {
        let dir = safeTensorsTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/model.safetensors"
        try SafeTensors.write(["w": Tensor(shape: [3], scalars: [1, 2, 3])], to: path)

        // A reader holding the old file keeps seeing the old contents after a replacement.
        let old = try SafeTensorsFile(path: path)
        try SafeTensors.write(["w": Tensor(shape: [2], scalars: [9, 8]), "v": Tensor(shape: [], scalars: [5])], to: path)
        #expect(try old.tensor("w").scalars == [1, 2, 3])
        let new = try SafeTensorsFile(path: path)
        #expect(try new.tensor("w").scalars == [9, 8])
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["model.safetensors"])

        // A failure at the final rename (the destination is a non-empty directory) leaves no
        // temporary file behind and does not disturb the directory.
        let blocked = dir + "/blocked.safetensors"
        try FileManager.default.createDirectory(atPath: blocked, withIntermediateDirectories: false)
        #expect(FileManager.default.createFile(atPath: blocked + "/keep", contents: Data([1])))
        do {
            try SafeTensors.write(["w": Tensor(shape: [1000], scalars: [Float](repeating: 1, count: 1000))], to: blocked)
            Issue.record("write over a directory succeeded")
        } catch {
            #expect(error.kind == .io)
            #expect(error.description.contains("rename"))
        }
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: dir)) == ["model.safetensors", "blocked.safetensors"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: blocked) == ["keep"])

        // A missing directory: nothing is created.
        #expect(throws: SafeTensorsError.self) {
            try SafeTensors.write(["w": Tensor(shape: [], scalars: [1])], to: dir + "/missing/x.safetensors")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/missing"))
        // The replaced file is intact.
        #expect(try SafeTensors.load(path)["v"]!.scalars == [5])
    }

    // No fixture: half output of a tensor larger than the writer's scratch buffer.
    @Test func chunkedHalfWriteOfLargeTensor() throws {
        // More elements than the writer's 1 Mi-element scratch chunk, to cover the chunk loop.
        let count = (1 << 20) + 12345
        var t = Tensor(uninitializedShape: [count])
        t.withUnsafeMutableBufferPointer { p in for i in 0..<count { p[i] = Float(i % 4096) - 2048 } }
        let bytes = try SafeTensors.serialize([("big", t)], dtype: .f16)
        let file = try SafeTensorsFile(bytes: bytes)
        let back = try file.tensor("big")
        #expect(back.count == count)
        #expect(bits(back.scalars) == bits(t.scalars))  // all values exact in F16
    }
}
