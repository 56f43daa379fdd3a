import Foundation
import SwapLang
import SwapRuntime
import Testing
@testable import SwapREPL

@Suite struct CompletionTests {
    func engine(_ setup: String = "") -> CompletionEngine {
        let session = Session(outputFolder: NSTemporaryDirectory() + "swaprepl-completion")
        session.errorOutput = { _ in }
        session.output = { _ in }
        if !setup.isEmpty { #expect(session.run(source: setup) == .ok) }
        return CompletionEngine(session: session)
    }

    @Test func variablesBuiltinsAndKeywords() {
        let e = engine("latents = 1\nlateness = 2")
        let r = e.complete("lat")
        #expect(r.kind == .identifier)
        #expect(r.wordStart == 0)
        #expect(r.candidates == ["lateness", "latents"])
        #expect(e.complete("prin").candidates == ["print"])
        #expect(e.complete("x = 1 + whi").candidates == ["while"])
        #expect(e.complete("x = 1 + whi").wordStart == 8)
        #expect(e.isCallable("print"))
        #expect(!e.isCallable("latents"))
        #expect(e.complete("3.1").candidates.isEmpty)
    }

    @Test func fieldsOfTheValueBeforeTheDot() {
        let e = engine("t = zeros([2, 3])\nr = {alpha: 1, beta: {gamma: 2}}")
        let tensor = e.complete("t.sh")
        #expect(tensor.kind == .member)
        #expect(tensor.candidates == ["shape"])
        #expect(tensor.wordStart == 2)
        #expect(e.complete("t.").candidates.contains("reshape"))
        #expect(e.complete("print(r.al").candidates == ["alpha"])
        #expect(e.complete("r.beta.g").candidates == ["gamma"])
        #expect(e.complete("nosuch.x").candidates.isEmpty)
    }

    @Test func metaCommandsAndTheirArguments() throws {
        let e = engine()
        #expect(e.complete(":").candidates == MetaCommand.names.map { ":" + $0 })
        #expect(e.complete(":re").candidates == [":record", ":reset"])
        let help = e.complete(":help ran")
        #expect(help.candidates.contains("randn"))
        #expect(help.wordStart == 6)
        let folder = try temporaryFolder(files: ["scene.swapscript", "notes.txt"], folders: ["sub"])
        e.currentDirectory = folder
        #expect(e.complete(":load sc").candidates == ["scene.swapscript"])
        #expect(e.complete(":save s").candidates == ["scene.swapscript", "sub/"])
        #expect(e.complete(":vars x").candidates.isEmpty)
    }

    @Test func pathsInsideStringLiterals() throws {
        let folder = try temporaryFolder(files: ["cat.png", "car.png", ".hidden.png", "sub/dog.png"], folders: ["sub"])
        let e = engine()
        e.currentDirectory = folder
        let r = e.complete("img = load_image(\"ca")
        #expect(r.kind == .path)
        #expect(r.openQuote == "\"")
        #expect(r.candidates == ["car.png", "cat.png"])
        #expect(r.wordStart == 18)
        #expect(e.complete("load_image('sub/d").candidates == ["sub/dog.png"])
        #expect(e.complete("load_image(\"").candidates == ["car.png", "cat.png", "sub/"])
        #expect(e.complete("load_image(\".h").candidates == [".hidden.png"])
        // A closed string is not completed as a path.
        #expect(e.complete("x = \"ca\" + ca").kind == .identifier)
        #expect(e.complete("# \"ca").kind != .path)
    }

    @Test func readlineSpansAreAdapted() {
        // Readline breaks at '/', so it replaces only "d"; the engine completes "sub/d".
        let line = Array("load_image(\"sub/d".utf8)
        let result = CompletionEngine.Result(wordStart: 12, candidates: ["sub/dog.png", "sub/door/"], kind: .path, openQuote: "\"")
        let m = ReadlineMatches.adapt(result, lineBytes: line, readlineStart: 16, cursor: line.count, isCallable: { _ in false })
        #expect(m.candidates == ["dog.png", "door/"])
        #expect(m.appendCharacter == nil)
        let one = CompletionEngine.Result(wordStart: 12, candidates: ["sub/dog.png"], kind: .path, openQuote: "\"")
        #expect(ReadlineMatches.adapt(one, lineBytes: line, readlineStart: 16, cursor: line.count,
                                      isCallable: { _ in false }).appendCharacter == UInt8(ascii: "\""))
        let call = CompletionEngine.Result(wordStart: 0, candidates: ["print"], kind: .identifier, openQuote: nil)
        let p = ReadlineMatches.adapt(call, lineBytes: Array("prin".utf8), readlineStart: 0, cursor: 4, isCallable: { $0 == "print" })
        #expect(p == ReadlineMatches(candidates: ["print"], appendCharacter: UInt8(ascii: "(")))
        #expect(ReadlineMatches.commonPrefix(["latents", "lateness", "later"]) == "late")
        #expect(ReadlineMatches.commonPrefix(["é1", "ê2"]) == "")
    }

    @Test func readlineArrayLayout() throws {
        let array = try #require(ReadlineMatches.cArray(["alpha", "alps"]))
        #expect(String(cString: try #require(array[0])) == "alp")
        #expect(String(cString: try #require(array[1])) == "alpha")
        #expect(String(cString: try #require(array[2])) == "alps")
        #expect(array[3] == nil)
        for i in 0..<3 { free(array[i]) }
        free(array)
        #expect(ReadlineMatches.cArray([]) == nil)
    }
}

/// A fresh folder holding empty `files` (paths may include subfolders listed in `folders`).
func temporaryFolder(files: [String], folders: [String] = []) throws -> String {
    let root = NSTemporaryDirectory() + "swaprepl-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    for folder in folders {
        try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
    }
    for file in files { FileManager.default.createFile(atPath: root + "/" + file, contents: Data()) }
    return root
}
