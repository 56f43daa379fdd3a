import Foundation
import Testing
@testable import SwapModels
import SwapIO
import SwapTensor

/// The restricted torch-pickle reader on files written by torch.save
/// (tools/reference/make_concept_fixtures.py, torch 2.13.0): tensors are read exactly (the
/// expected values are the same tensors saved as float32 safetensors, compared bit for bit).
struct TorchFileTests {
    static func path(_ name: String) throws -> String {
        let base = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        return base.appendingPathComponent("torch").appendingPathComponent(name).path
    }

    static func expected(_ name: String) throws -> Tensor {
        try #require(try SafeTensors.load(path("torch_expected.safetensors"))[name])
    }

    @Test func a1111EmbeddingWithParameter() throws {
        let root = try TorchFile.load(Self.path("a1111.pt"))
        let entries = try #require(root.stringKeyed)
        guard case .string("two")? = entries["name"], case .int(3000)? = entries["step"], case .none? = entries["sd_checkpoint"] else {
            Issue.record("unexpected A1111 fields: \(root)"); return
        }
        let embedding = try TextualInversionEmbedding(contentsOf: Self.path("a1111.pt"))
        #expect(embedding.token == "two")
        #expect(embedding.vectors.shape == [2, 16])
        #expect(embedding.vectors.scalars == (try Self.expected("a1111")).scalars)
        #expect(try TextualInversionEmbedding(contentsOf: Self.path("a1111.pt"), token: "<mine>").token == "<mine>")
    }

    @Test func diffusersLearnedEmbeds() throws {
        let embedding = try TextualInversionEmbedding(contentsOf: Self.path("learned_embeds.bin"))
        #expect(embedding.token == "<tiny-cup>")
        #expect(embedding.vectors.shape == [1, 16])
        #expect(embedding.vectors.scalars == (try Self.expected("learned_embeds")).scalars)
    }

    /// A float16 strided view (every other row of a [6, 16] storage) in an OrderedDict.
    @Test func halfPrecisionStridedView() throws {
        let embedding = try TextualInversionEmbedding(contentsOf: Self.path("half_view.bin"))
        #expect(embedding.token == "<half>")
        #expect(embedding.vectors.shape == [3, 16])
        #expect(embedding.vectors.scalars == (try Self.expected("half_view")).scalars)
    }

    /// A pickle reducing os.system is refused, naming the global; nothing runs.
    @Test func refusesCode() throws {
        do {
            _ = try TorchFile.load(Self.path("evil.pt"))
            Issue.record("evil.pt loaded")
        } catch {
            #expect("\(error)".contains("global 'posix.system' is not allowed") || "\(error)".contains("global 'os.system' is not allowed"), "\(error)")
        }
    }

    /// Malformed input: errors, never crashes.
    @Test func malformedInput() throws {
        #expect(throws: TorchFileError.self) { try TorchFile.load(bytes: Array("not a zip".utf8)) }
        var bytes = [UInt8](try #require(FileManager.default.contents(atPath: Self.path("learned_embeds.bin"))))
        for cut in [10, 200, bytes.count - 30] {
            #expect(throws: (any Error).self) { try TorchFile.load(bytes: Array(bytes.prefix(cut))) }
        }
        // Every single-byte corruption of the pickle either loads or throws.
        let zip = try ZipArchive(bytes: bytes)
        let pkl = try #require(zip.names.first { $0.hasSuffix("data.pkl") })
        let entry = try #require(zip.entries[pkl])
        let start = entry.headerOffset
        let dataStart = start + 30 + Int(bytes[start + 26]) + Int(bytes[start + 28]) + Int(bytes[start + 29]) << 8
        for offset in 0..<min(120, entry.size) {
            let saved = bytes[dataStart + offset]
            bytes[dataStart + offset] = saved ^ 0x5a
            _ = try? TorchFile.load(bytes: bytes)
            bytes[dataStart + offset] = saved
        }
        #expect(throws: (any Error).self) { try TextualInversionEmbedding(contentsOf: Self.path("missing.pt")) }
    }

    /// Deflate-compressed entries (as Python's zipfile writes them) are inflated.
    @Test func deflatedEntries() throws {
        let embedding = try TextualInversionEmbedding(contentsOf: Self.path("learned_embeds_deflated.bin"))
        #expect(embedding.vectors.scalars == (try Self.expected("learned_embeds")).scalars)
    }
}
