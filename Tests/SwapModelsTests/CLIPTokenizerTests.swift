import Foundation
import Testing
@testable import SwapModels

// Reference ids: Fixtures/clip/tokenizer_cases.json, made by tools/reference/make_clip_fixtures.py
// with Hugging Face's CLIPTokenizer (transformers 5.23.0) built from the same BPE file.

@Suite struct CLIPTokenizerTests {
    /// The toy vocabulary of transformers' tests/models/clip/test_tokenization_clip.py (spec §5.5).
    @Test func toyVocabularyMergesByRank() throws {
        let tokens = ["l", "o", "w", "e", "r", "s", "t", "i", "d", "n", "lo", "l</w>", "w</w>", "r</w>", "t</w>",
                      "low</w>", "er</w>", "lowest</w>", "newer</w>", "wider", "<unk>", "<|startoftext|>", "<|endoftext|>"]
        let vocabulary = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
        var special = CLIPSpecialTokens.sd1
        special.unk = "<unk>"
        let tokenizer = try CLIPTokenizer(vocabulary: vocabulary, merges: [("l", "o"), ("lo", "w</w>"), ("e", "r</w>")],
                                          specialTokens: special)
        let content = tokenizer.contentTokens("lower newer")
        #expect(content.map(\.token) == ["lo", "w", "er</w>", "n", "e", "w", "er</w>"])
        #expect(content.map(\.id) == [10, 2, 16, 9, 3, 2, 16])
        // "x" is not in the vocabulary: the unknown id.
        #expect(tokenizer.contentTokens("x").map(\.id) == [20])
    }

    @Test func bundledVocabularyHasCLIPLayout() throws {
        let t = try CLIPFixtures.sd1Tokenizer.get()
        #expect(t.vocabulary.count == 49408)
        #expect(t.vocabulary["!"] == 0 && t.vocabulary["!</w>"] == 256)
        #expect(t.bosID == 49406 && t.eosID == 49407 && t.padID == 49407)
        #expect(try CLIPFixtures.sd2Tokenizer.get().padID == 0)
    }

    @Test(arguments: ["sd1", "sd2"]) func idsMatchHuggingFaceOnEveryCase(flavor: String) throws {
        let tokenizer = try (flavor == "sd1" ? CLIPFixtures.sd1Tokenizer : CLIPFixtures.sd2Tokenizer).get()
        let cases = try CLIPFixtures.tokenizerCases()
        #expect(cases.count >= 200)
        var failures: [String] = []
        for c in cases {
            let expected = flavor == "sd1" ? c.sd1 : c.sd2
            let got = tokenizer.encode(c.text)
            if got != expected { failures.append("\(c.text.debugDescription): got \(got.prefix(20)), HF \(expected.prefix(20))") }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(cases.count) differ:\n\(failures.prefix(8).joined(separator: "\n"))")
    }

    /// Loading a diffusers tokenizer/ folder: vocab.json + merges.txt + special_tokens_map.json
    /// (the SD1/SD2 maps are fixtures; vocab and merges are written from the bundled file).
    @Test(arguments: ["sd1", "sd2"]) func directoryLoadingMatchesHuggingFace(flavor: String) throws {
        let bundled = try CLIPFixtures.sd1Tokenizer.get()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-tok-\(flavor)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let vocab = try JSONSerialization.data(withJSONObject: bundled.vocabulary)
        try vocab.write(to: dir.appendingPathComponent("vocab.json"))
        let url = try #require(CLIPTokenizer.bundledBPEURL)
        let text = String(decoding: try Gzip.decompress([UInt8](try Data(contentsOf: url))), as: UTF8.self)
        let merges = try CLIPTokenizer.parseMerges(text, fileName: "bpe", limit: CLIPTokenizer.mergeCount, skipFirstLine: true)
        try ("#version: 0.2\n" + merges.map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\n")
            .write(to: dir.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(atPath: try CLIPFixtures.path("tokenizer_\(flavor)/special_tokens_map.json"),
                                         toPath: dir.appendingPathComponent("special_tokens_map.json").path)
        let tokenizer = try CLIPTokenizer(directory: dir.path)
        #expect(tokenizer.specialTokens == (flavor == "sd1" ? .sd1 : .sd2))
        for c in try CLIPFixtures.tokenizerCases() {
            #expect(tokenizer.encode(c.text) == (flavor == "sd1" ? c.sd1 : c.sd2), "\(c.text.debugDescription)")
        }
    }

    @Test func sd2PadsWithExclamationAndSplitsLiteralExclamations() throws {
        let sd1 = try CLIPFixtures.sd1Tokenizer.get(), sd2 = try CLIPFixtures.sd2Tokenizer.get()
        #expect(sd1.encode("") == [49406, 49407] + [Int](repeating: 49407, count: 75))
        #expect(sd2.encode("") == [49406, 49407] + [Int](repeating: 0, count: 75))
        #expect(Array(sd1.encode("! !! !!!").prefix(5)) == [49406, 256, 748, 995, 49407])
        #expect(Array(sd2.encode("! !! !!!").prefix(8)) == [49406, 0, 0, 0, 0, 0, 0, 49407])
    }

    @Test func truncationKeepsEndOfText() throws {
        let t = try CLIPFixtures.sd1Tokenizer.get()
        let ids = t.encode(String(repeating: "cat ", count: 100))
        #expect(ids.count == 77 && ids.first == 49406 && ids.last == 49407)
        #expect(Set(ids[1..<76]) == [t.vocabulary["cat</w>"]!])
    }

    /// Readable pieces equal HF's decode of each single token (first 60 fixture cases).
    @Test func piecesMatchHuggingFaceDecode() throws {
        let t = try CLIPFixtures.sd1Tokenizer.get()
        var checked = 0
        for c in try CLIPFixtures.tokenizerCases() {
            guard let decoded = c.sd1Decoded else { continue }
            let (ids, pieces) = t.tokenize(c.text)
            #expect(ids == c.sd1)
            #expect(pieces.count == 77)
            for (i, piece) in pieces.enumerated() {
                // HF strips surrounding whitespace (Python isspace, which includes U+001C–U+001F).
                let hf = decoded[i]
                let trimmed = String(String.UnicodeScalarView(piece.unicodeScalars.drop(while: { $0.properties.isWhitespace || (0x1c...0x1f).contains($0.value) })))
                if hf.isEmpty && trimmed.allSatisfy({ $0.unicodeScalars.allSatisfy { (0x1c...0x1f).contains($0.value) } }) { continue }
                #expect(piece == hf, "\(c.text.debugDescription) token \(i)")
                checked += 1
            }
        }
        #expect(checked > 500)
    }

    @Test func wordLookupFindsTokenIndices() throws {
        let t = try CLIPFixtures.sd1Tokenizer.get()
        #expect(t.tokenIndices(of: "cat", in: "a cat sitting on a chair") == [2])
        #expect(t.tokenIndices(of: "car", in: "a red car next to a blue car") == [3, 8])
        #expect(t.tokenIndices(of: "Car", in: "A red CAR.") == [3])
        #expect(t.tokenIndices(of: "red car", in: "a red car") == [2, 3])
        #expect(t.tokenIndices(of: "cat", in: "a category of cats") == [])
        #expect(t.tokenIndices(of: "", in: "a cat") == [])
        // A word split into several tokens: all of them, and their pieces spell it.
        let prompt = "A painting of a squirrel eating a burger"
        let indices = t.tokenIndices(of: "squirrel", in: prompt)
        let (_, pieces) = t.tokenize(prompt)
        #expect(!indices.isEmpty)
        #expect(indices.map { pieces[$0] }.joined() == "squirrel")
        // Words past the 75-token limit are cut off.
        let long = String(repeating: "dog ", count: 80) + "cat"
        #expect(t.tokenIndices(of: "cat", in: long) == [])
        #expect(t.tokenIndices(of: "dog", in: long) == Array(1...75))
    }

    @Test func gzipDecodesAndRejectsCorruption() throws {
        // gzip.compress(b"hello hello hello hello\n", mtime=0) from Python.
        let sample: [UInt8] = [31, 139, 8, 0, 0, 0, 0, 0, 2, 3, 203, 72, 205, 201, 201, 87, 200, 64, 39, 185, 0, 0,
                               136, 89, 11, 24, 0, 0, 0]
        #expect(String(decoding: try Gzip.decompress(sample), as: UTF8.self) == "hello hello hello hello\n")
        var corrupt = sample
        corrupt[22] ^= 1  // CRC byte
        #expect(throws: GzipError.self) { try Gzip.decompress(corrupt) }
        #expect(throws: GzipError.self) { try Gzip.decompress(Array(sample.prefix(20))) }
        #expect(throws: GzipError.self) { try Gzip.decompress([1, 2, 3]) }
    }

    @Test func badTokenizerFilesGiveClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("clip-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try CLIPTokenizer(directory: dir.path)
            Issue.record("expected an error")
        } catch let e as CLIPTokenizerError {
            #expect(e.message.contains("vocab.json"))
        }
        try #"{"a": 0, "<|startoftext|>": 1, "<|endoftext|>": 2}"#.write(to: dir.appendingPathComponent("vocab.json"), atomically: true, encoding: .utf8)
        try "#version: 0.2\na b c\n".write(to: dir.appendingPathComponent("merges.txt"), atomically: true, encoding: .utf8)
        do {
            _ = try CLIPTokenizer(directory: dir.path)
            Issue.record("expected an error")
        } catch let e as CLIPTokenizerError {
            #expect(e.message.contains("merges.txt") && e.message.contains("line 2"))
        }
        let truncated = dir.appendingPathComponent("bpe.txt.gz")
        let url = try #require(CLIPTokenizer.bundledBPEURL)
        try Data(try Data(contentsOf: url).prefix(1000)).write(to: truncated)
        #expect(throws: CLIPTokenizerError.self) { try CLIPTokenizer(bpeGzipPath: truncated.path) }
    }
}
