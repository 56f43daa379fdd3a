import Foundation
import SwapIO
import SwapLang
import SwapTensor
import Testing
@testable import SwapRuntime

// Session: running files, diagnostics, exit classes, the example script, determinism.

/// The example script shipped in examples/.
let exampleScript = repositoryRoot.appendingPathComponent("examples/first_steps.swapscript").path

/// Runs the example in a fresh session and returns the harness.
func runExample(threads: Int? = nil) -> Harness {
    let h = Harness(threads: threads)
    _ = h.session.run(file: exampleScript)
    return h
}

/// Name → bytes of every file under `folder` (recursively).
func filesUnder(_ folder: String) -> [String: Data] {
    var out: [String: Data] = [:]
    for case let name as String in FileManager.default.enumerator(atPath: folder) ?? FileManager.default.enumerator(atPath: "/nonexistent")! {
        if let d = FileManager.default.contents(atPath: folder + "/" + name), !name.hasSuffix("/") {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder + "/" + name, isDirectory: &isDir), !isDir.boolValue { out[name] = d }
        }
    }
    return out
}

@Test func exampleRunsAndWritesItsFiles() throws {
    let h = runExample()
    #expect(h.session.lastResult?.status == .ok, "\(h.errors)")
    let out = h.folder + "/out"
    let written = h.session.writtenFiles
    #expect(written.contains(out + "/first_steps_grid.png"))
    #expect(written.contains(out + "/first_steps.safetensors"))
    #expect(written.filter { $0.hasSuffix(".png") }.count >= 6)
    for path in written { #expect(h.lines.contains("wrote \(path)")) }
    // The noise it saved is torch's seed-42 draw, and the probabilities rows sum to 1.
    let tensors = try SafeTensors.load(out + "/first_steps.safetensors")
    #expect(tensors["noise"]?.scalars == TorchGenerator(seed: 42).randn([1, 4, 8, 8]).scalars)
    let p = try #require(tensors["probabilities"])
    #expect(p.shape == [64, 2])
    #expect(try maxDifference(p.sum(axes: [1]), Tensor(shape: [64], repeating: 1)) < 1e-5)
    let grid = try Image.load(out + "/first_steps_grid.png")
    #expect(grid.parameters?.contains("Builtin: grid") == true)
    #expect(grid.parameters?.contains("Seed: 0") == true)
}

@Test func sameScriptTwiceGivesByteIdenticalFiles() {
    let a = runExample(), b = runExample()
    let fa = filesUnder(a.folder + "/out"), fb = filesUnder(b.folder + "/out")
    #expect(!fa.isEmpty)
    #expect(fa.keys.sorted() == fb.keys.sorted())
    for (name, data) in fa { #expect(fb[name] == data, "\(name) differs between runs") }
}

@Test func oneAndTwoThreadsGiveByteIdenticalFiles() {
    let before = Parallel.threadCount
    defer { Parallel.threadCount = before }
    let one = runExample(threads: 1)
    let two = runExample(threads: 2)
    let f1 = filesUnder(one.folder + "/out"), f2 = filesUnder(two.folder + "/out")
    #expect(!f1.isEmpty && f1.keys.sorted() == f2.keys.sorted())
    for (name, data) in f1 { #expect(f2[name] == data, "\(name) differs between 1 and 2 threads") }
}

@Test func differentSeedChangesSessionNoise() {
    let a = Harness(seed: 1), b = Harness(seed: 2)
    a.run("x = randn([4])")
    b.run("x = randn([4])")
    #expect(a.tensor("x")?.scalars == TorchGenerator(seed: 1).randn([4]).scalars)
    #expect(a.tensor("x")?.scalars != b.tensor("x")?.scalars)
}

@Test func diagnosticsUseFileLineColumnForm() {
    let h = Harness().run("x = 1\ny = matmul(ones([2, 3]), ones([4, 5]))\nz = 2", file: "demo.swapscript")
    #expect(h.status == .runtimeFailure)
    let block = h.errors.first ?? ""
    #expect(block.hasPrefix("demo.swapscript:2:"))
    #expect(block.contains(": error: matmul: inner dimensions differ: [2,3] × [4,5]"))
    #expect(block.contains("\ny = matmul(ones([2, 3]), ones([4, 5]))\n"))
    #expect(h.number("x") == 1)
    #expect(h.session.bindings["z"] == nil)
}

@Test func exitClasses() throws {
    #expect(Harness().run("x = 1").status == .ok)
    #expect(Harness().run("x = (").status == .scriptError)
    #expect(Harness().run("x = undefined_name + 1").status == .scriptError)
    #expect(Harness().run("x = zeros(-1)").status == .runtimeFailure)
    let h = Harness()
    h.session.interpreter.shouldCancel = { true }
    #expect(h.run("x = 1").status == .interrupted)
    let missing = Harness()
    #expect(missing.session.run(file: "/nonexistent/none.swapscript") == .scriptError)
    #expect(missing.errors.first == "/nonexistent/none.swapscript: error: no such file")
}

@Test func untilCellStopsAfterThatCell() {
    let h = Harness()
    let status = h.session.run(source: "## one\na = 1\n## two\nb = 2\n## three\nc = 3\n", file: "cells.swapscript", untilCell: 2)
    #expect(status == .ok)
    #expect(h.number("a") == 1 && h.number("b") == 2)
    #expect(h.session.bindings["c"] == nil)
}

@Test func checkDoesNotRun() {
    let h = Harness()
    #expect(h.session.check(source: "save_tensors({a: ones(1)}, \"x.safetensors\")") == .ok)
    #expect(h.session.writtenFiles.isEmpty)
    #expect(!FileManager.default.fileExists(atPath: h.folder + "/out"))
    #expect(h.session.check(source: "y = nosuch(1)") == .scriptError)
    #expect(h.session.check(file: exampleScript) == .ok)
}

@Test func everyRuntimeBuiltinHasDocAndOneExample() {
    let registry = Session.documentationRegistry()
    // Every family the runtime adds (the language's own "core" and "math" are tested in SwapLang).
    let runtime = registry.all.filter { !["core", "math"].contains($0.family) }
    let names = Set(runtime.map(\.name))
    for name in ["tensor", "zeros", "ones", "randn", "rand", "arange", "matmul", "softmax", "concat", "resize",
                 "upsample", "attention", "conv2d", "group_norm", "layer_norm", "silu", "gelu", "load_image",
                 "save_image", "load_tensors", "save_tensors", "to_image", "heatmap", "overlay", "grid",
                 "step", "run", "back", "sample", "sdedit", "attention_grid", "tokens",
                 "p2p", "p2p_controller", "attach", "invert", "null_text_invert",
                 "world_scene", "world_batch", "recognize", "recognize_all", "draw_box"] {
        #expect(names.contains(name), "\(name) is not registered")
    }
    for b in runtime {
        #expect(!b.doc.isEmpty && !b.example.isEmpty, "\(b.name)")
        #expect(!b.example.contains("\n"), "\(b.name) has more than one example line")
        // The example must at least parse and resolve against the registry (free names aside).
        #expect(Interpreter.parse(source: b.example).diagnostics.isEmpty, "\(b.name) example does not parse")
    }
}

@Test func builtinsReferenceIsUpToDate() throws {
    let path = repositoryRoot.appendingPathComponent("docs/builtins.md").path
    let committed = try String(contentsOfFile: path, encoding: .utf8)
    #expect(committed == Session.documentationRegistry().markdownReference(),
            "regenerate with: swapscript help --markdown > docs/builtins.md")
}
