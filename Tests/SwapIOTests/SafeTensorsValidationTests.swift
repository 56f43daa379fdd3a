import Foundation
import SwapTensor
import Testing
@testable import SwapIO

/// The reference implementation's error category for one of our error kinds (its single
/// "invalid JSON" variant covers four of ours).
func referenceCategory(_ kind: SafeTensorsError.Kind) -> String {
    switch kind {
    case .invalidMetadata, .invalidEntry, .unknownDtype: return "invalidJSON"
    default: return kind.rawValue
    }
}

/// SplitMix64: a small seeded generator so the fuzz loop is reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct SafeTensorsValidationTests {
    static let unet = "unet.conv_in.weight"

    /// (fixture, expected kind, tensor named in the error)
    static let malformedCases: [(String, SafeTensorsError.Kind, String?)] = [
        ("header_too_small", .headerTooSmall, nil),
        ("header_too_large", .headerTooLarge, nil),
        ("header_length_past_end", .invalidHeaderLength, nil),
        ("invalid_utf8", .invalidUTF8, nil),
        ("invalid_json", .invalidJSON, nil),
        ("not_an_object", .invalidJSON, nil),
        ("metadata_not_strings", .invalidMetadata, nil),
        ("missing_dtype", .invalidEntry, unet),
        ("missing_shape", .invalidEntry, unet),
        ("missing_data_offsets", .invalidEntry, unet),
        ("unknown_dtype", .unknownDtype, unet),
        ("negative_extent", .invalidEntry, unet),
        ("three_offsets", .invalidEntry, unet),
        ("duplicate_field", .invalidEntry, unet),
        ("offsets_reversed", .invalidOffset, unet),
        ("offsets_not_from_zero", .invalidOffset, unet),
        ("offsets_gap", .invalidOffset, unet),
        ("offsets_overlap", .invalidOffset, unet),
        ("size_mismatch", .sizeMismatch, unet),
        ("shape_overflow", .validationOverflow, unet),
        ("dtype_bits_overflow", .validationOverflow, unet),
        ("misaligned_subbyte", .misalignedSlice, unet),
        ("data_longer_than_tensors", .incompleteBuffer, unet),
        ("data_shorter_than_tensors", .incompleteBuffer, unet),
        ("empty_header_with_data", .incompleteBuffer, nil),
    ]

    // Fixtures: malformed/*.safetensors and malformed.json from make_malformed_and_accepted().
    // Each file breaks one rule; we must report that rule, name the file and the tensor, and
    // agree with the error category the reference implementation reported for it.
    @Test(arguments: malformedCases.map(\.0))
    func malformedFileGivesTheRightError(name: String) throws {
        let (_, kind, tensor) = Self.malformedCases.first { $0.0 == name }!
        let manifest = try JSONSerialization.jsonObject(
            with: Data(safeTensorsFixtureBytes("malformed.json"))) as! [String: [String: String]]
        let referenceCategory = manifest[name]!["category"]!
        do {
            _ = try SafeTensorsFile(path: safeTensorsFixture("malformed/\(name).safetensors"))
            Issue.record("\(name) was accepted")
        } catch {
            #expect(error.kind == kind, "\(name): \(error)")
            #expect(error.tensor == tensor, "\(name): \(error)")
            #expect(error.file == "\(name).safetensors")
            #expect(error.description.hasPrefix("\(name).safetensors: "))
            if let tensor { #expect(error.description.contains("tensor '\(tensor)'")) }
            #expect(SwapIOTests.referenceCategory(error.kind) == referenceCategory, "\(name): \(error)")
        }
    }

    @Test func everyMalformedFixtureIsCovered() throws {
        let manifest = try JSONSerialization.jsonObject(
            with: Data(safeTensorsFixtureBytes("malformed.json"))) as! [String: Any]
        #expect(Set(manifest.keys) == Set(Self.malformedCases.map(\.0)))
    }

    // Fixture: malformed/size_mismatch.safetensors from make_malformed_and_accepted().
    @Test func sizeMismatchMessage() {
        do {
            _ = try SafeTensorsFile(bytes: safeTensorsFixtureBytes("malformed/size_mismatch.safetensors"),
                                    name: "model.safetensors")
            Issue.record("accepted")
        } catch {
            #expect(error.description == "model.safetensors: tensor 'unet.conv_in.weight': data_offsets [0, 100] give 100 bytes, but shape [4, 4] of F32 needs 64")
        }
    }

    // Fixtures: fuzz_corpus.bin / fuzz_corpus.json from make_fuzz_corpus(): 420 mutated files and
    // what the reference implementation made of each. We must accept exactly the same files,
    // read the same tensors from them, and reject the others with the same error category.
    @Test func agreesWithReferenceOnFuzzCorpus() throws {
        let blob = safeTensorsFixtureBytes("fuzz_corpus.bin")
        let verdicts = try JSONSerialization.jsonObject(
            with: Data(safeTensorsFixtureBytes("fuzz_corpus.json"))) as! [[String: Any]]
        var offset = 0
        var index = 0
        var disagreements: [String] = []
        var accepted = 0
        while offset < blob.count {
            let length = Int(blob[offset]) | Int(blob[offset + 1]) << 8 | Int(blob[offset + 2]) << 16 | Int(blob[offset + 3]) << 24
            let bytes = Array(blob[(offset + 4)..<(offset + 4 + length)])
            offset += 4 + length
            let verdict = verdicts[index]
            defer { index += 1 }
            let ours: String
            do {
                let file = try SafeTensorsFile(bytes: bytes, name: "case\(index)")
                ours = "ok " + file.entries.map { "\($0.name):\($0.dtype.rawValue)\($0.shape)" }.sorted().joined(separator: ",")
                accepted += 1
            } catch {
                ours = "error " + referenceCategory(error.kind)
            }
            let theirs: String
            if let ok = verdict["ok"] as? [String: [Any]] {
                theirs = "ok " + ok.map { "\($0.key):\($0.value[0] as! String)\($0.value[1] as! [Int])" }.sorted().joined(separator: ",")
            } else {
                theirs = "error " + (verdict["error"] as! String)
            }
            if ours != theirs { disagreements.append("case \(index): ours \(ours), reference \(theirs)") }
        }
        #expect(index == 420)
        #expect(accepted > 10)
        #expect(disagreements.isEmpty, "\(disagreements.prefix(10))")
    }

    // Bases: values.safetensors, python_written_*.safetensors (make_values, make_python_written)
    // and accepted/*.safetensors (make_malformed_and_accepted). Thousands of seeded mutations:
    // byte flips, truncations, appended bytes, declared-length changes, header text edits, random
    // files. No input may crash; accepted files must satisfy the format's invariants and convert.
    @Test func fuzzNeverCrashes() throws {
        var rng = SplitMix64(state: 0x5AFE_7E25)
        let baseNames = ["python_written_f32.safetensors", "python_written_f16.safetensors",
                         "python_written_bf16.safetensors", "accepted/zero_size_shared_offsets.safetensors",
                         "accepted/unsorted_offsets.safetensors", "accepted/metadata_last.safetensors",
                         "accepted/unaligned_data.safetensors", "accepted/array_form_entry.safetensors",
                         "values.safetensors"]
        let bases = baseNames.map(safeTensorsFixtureBytes)
        let tokens = [",", "\"", "{", "}", "[", "]", ":", " ", "-", "0", "7", "1e3", "0.5", "null", "true",
                      "\\u0000", "\\ud800", "\\", "\u{e9}", "F16", "BF16", "F4", "C64", "18446744073709551615",
                      "\"dtype\":\"F32\",", "\"shape\":[0],", "\"data_offsets\":[0,0],", "\"__metadata__\":{},"]
        var accepted = 0, rejected = 0
        var kinds = Set<SafeTensorsError.Kind>()
        let dir = safeTensorsTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for iteration in 0..<4000 {
            var base = bases[Int.random(in: 0..<(iteration % 10 == 0 ? bases.count : bases.count - 1), using: &rng)]
            var bytes: [UInt8]
            let n = base.count >= 8 ? Int(base[0]) | Int(base[1]) << 8 | Int(base[2]) << 16 : 0
            switch Int.random(in: 0..<12, using: &rng) {
            case 0:
                bytes = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 1:
                bytes = Array(base.prefix(Int.random(in: 0..<base.count, using: &rng)))
            case 2:
                bytes = base
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
            case 3:
                bytes = base + (0..<Int.random(in: 1...9, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            case 4:
                bytes = base
                let delta = Int.random(in: -9...9, using: &rng)
                let newN = UInt64(max(0, n + delta))
                for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: newN >> (8 * UInt64(k))) }
            case 5:
                bytes = base
                let v = UInt64.random(in: 0...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng)
                for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            default:
                // Header text edits with a consistent length prefix.
                var header = Array(base[8..<(8 + n)])
                var data = Array(base[(8 + n)...])
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let pos = Int.random(in: 0...header.count, using: &rng)
                    switch Int.random(in: 0..<5, using: &rng) {
                    case 0:
                        let digits = header.indices.filter { header[$0] >= 48 && header[$0] <= 57 }
                        if let d = digits.randomElement(using: &rng) { header[d] = UInt8.random(in: 48...57, using: &rng) }
                    case 1:
                        header.removeSubrange(pos..<min(header.count, pos + Int.random(in: 1...4, using: &rng)))
                    case 2:
                        header.insert(contentsOf: Array(tokens.randomElement(using: &rng)!.utf8), at: pos)
                    case 3:
                        if !data.isEmpty { data.removeLast(Int.random(in: 1...min(4, data.count), using: &rng)) }
                    default:
                        data.append(contentsOf: [UInt8](repeating: 0, count: Int.random(in: 1...4, using: &rng)))
                    }
                }
                let newN = UInt64(header.count)
                bytes = (0..<8).map { UInt8(truncatingIfNeeded: newN >> (8 * UInt64($0))) } + header + data
            }
            base = []
            do {
                let file: SafeTensorsFile
                if iteration % 40 == 0 {
                    let path = dir + "/case.safetensors"
                    #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
                    file = try SafeTensorsFile(path: path)
                } else {
                    file = try SafeTensorsFile(bytes: bytes, name: "fuzz.safetensors")
                }
                accepted += 1
                // Invariants of an accepted file.
                var end = 0
                for e in file.entries {
                    #expect(e.dataOffsets.lowerBound == end)
                    #expect(e.byteCount * 8 == e.count * e.dtype.bitSize)
                    end = e.dataOffsets.upperBound
                    if e.dtype.convertsToFloat {
                        let t = try file.tensor(e.name)
                        #expect(t.shape == e.shape)
                    } else {
                        #expect(try file.rawBytes(e.name).count == e.byteCount)
                    }
                }
                #expect(Set(file.names).count == file.entries.count)
            } catch {
                rejected += 1
                kinds.insert(error.kind)
                #expect(error.description.contains("safetensors: "))
            }
        }
        #expect(accepted + rejected == 4000)
        #expect(accepted > 50, "accepted \(accepted)")  // 95 with this seed
        // The mutations reach most validation rules.
        #expect(kinds.isSuperset(of: [.headerTooSmall, .headerTooLarge, .invalidHeaderLength, .invalidUTF8,
                                      .invalidJSON, .invalidEntry, .invalidOffset, .sizeMismatch,
                                      .incompleteBuffer]), "\(kinds)")
    }

    static let deep: String = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
    static let jsonCases: [(String, SafeTensorsError.Kind)] = [
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}", SafeTensorsError.Kind.invalidEntry),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1e0],\"data_offsets\":[0,4]}}", .invalidEntry),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,-0]}}", .invalidEntry),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}", .invalidJSON),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551616]}}", .invalidEntry),
        ("{\"w\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", .invalidJSON),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\u{0}", .invalidJSON),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}\u{0B}", .invalidJSON),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"__metadata__\":[]}", .invalidMetadata),
        ("{\"__metadata__\":{},\"__metadata__\":{},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", .invalidMetadata),
        ("{\"w\":[\"F32\",[1]]}", .invalidEntry),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"x\":3}", .invalidEntry),
        ("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", .unknownDtype),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", .invalidJSON),
        (deep, .invalidJSON),
        ("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":" + deep + "}}", .invalidJSON),
    ]

    // No fixture: JSON details that must match serde_json (each checked against the reference
    // by hand with safetensors.deserialize while writing this test).
    @Test(arguments: jsonCases)
    func jsonEdgeCases(header: String, kind: SafeTensorsError.Kind) {
        let h = Array(header.utf8)
        let n = UInt64(h.count)
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + h + [0, 0, 0, 0]
        do {
            _ = try SafeTensorsFile(bytes: bytes)
            Issue.record("accepted \(header)")
        } catch {
            #expect(error.kind == kind, "\(error)")
        }
    }

    // No fixture: our one intentional deviation: an extent beyond Int.max cannot be a Tensor shape.
    @Test func extentBeyondIntMaxIsRejected() {
        let h = Array("{\"w\":{\"dtype\":\"F32\",\"shape\":[0,18446744073709551615],\"data_offsets\":[0,0]}}".utf8)
        let n = UInt64(h.count)
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) } + h
        #expect(throws: SafeTensorsError.self) { try SafeTensorsFile(bytes: bytes) }
    }
}
