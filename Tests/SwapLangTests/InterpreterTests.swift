import Foundation
import Testing
@testable import SwapLang

@Test func sessionKeepsGlobalsBetweenRuns() {
    let interp = Interpreter(registry: testRegistry())
    run("x = 40\nfn add(a) { return a + x }", in: interp)
    let r = run("add(2)", in: interp)
    #expect(r.output == ["42"])
    #expect(interp.bindings["_"]?.equals(.number(42)) == true)
    #expect(Set(interp.bindings.keys) == ["x", "add", "_"])
}

@Test func hostCanDefineAndRemoveGlobals() {
    let interp = Interpreter(registry: testRegistry())
    interp.define("latent", .host(Vec([1, 2])))
    #expect(run("latent * 3", in: interp).output == ["vec[3, 6]"])
    interp.remove("latent")
    #expect(run("latent", in: interp).result.status == .scriptError)
    #expect(interp.completions(prefix: "le") == ["len"])
    #expect(interp.fieldNames(of: .host(Vec([1]))) == ["size", "first", "name", "sum", "scale"])
}

@Test func failedStatementLeavesPreviousBindingsIntact() {
    let interp = Interpreter(registry: testRegistry())
    run("x = 1\ny = [1]", in: interp)
    let r = run("x = 2\nfor i in 0..5 { x = x + 10; if i == 3 { z = 1 / 0 } }", in: interp)
    #expect(r.result.status == .runtimeFailure)
    // The first statement succeeded; the failing loop's assignments are rolled back.
    #expect(interp.bindings["x"]?.equals(.number(2)) == true)
    #expect(interp.bindings["i"] == nil && interp.bindings["z"] == nil)
    #expect(r.result.executed.map(\.text) == ["x = 2"])
}

@Test func executedStatementsAreRecordedWithCells() {
    let r = run("a = 1\n## next\nb = a + 1;\nprint(b)")
    #expect(r.result.executed == [
        ExecutedStatement(text: "a = 1", line: 1, cell: 0),
        ExecutedStatement(text: "b = a + 1;", line: 3, cell: 1),
        ExecutedStatement(text: "print(b)", line: 4, cell: 1),
    ])
}

@Test func runUntilCell() {
    let source = "## one\nprint(1)\n## two\nprint(2)\n## three\nprint(3)"
    #expect(run(source, untilCell: 2).output == ["1", "2"])
    #expect(run(source, untilCell: 0).output == [])
    #expect(run(source).result.cells.map(\.title) == ["one", "two", "three"])
}

@Test func cancellationFlagInterruptsLoopsAndKeepsBindings() {
    let interp = Interpreter(registry: testRegistry())
    run("keep = 7", in: interp)
    var polls = 0
    interp.shouldCancel = {
        polls += 1
        return polls > 50
    }
    let r = run("n = 0\nwhile true { n += 1 }", in: interp)
    #expect(r.result.status == .interrupted)
    #expect(r.result.diagnostics.first?.message == "interrupted")
    #expect(interp.bindings["keep"]?.equals(.number(7)) == true)
    #expect(interp.bindings["n"]?.equals(.number(0)) == true)
}

@Test func cancellationFromAnotherThread() {
    let interp = Interpreter(registry: testRegistry())
    let flag = interp.cancellation
    DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { flag.cancel() }
    let r = run("i = 0\nwhile true { i += 1 }", in: interp)
    #expect(r.result.status == .interrupted)
    // The flag is cleared by the next run.
    #expect(run("print(1)", in: interp).output == ["1"])
}

@Test func hostBuiltinsCanCallBackAndPollCancellation() {
    let registry = testRegistry()
    registry.register("loop_forever", family: "test", doc: "Polls cancellation.", example: "loop_forever()") { _, ctx in
        while true { try ctx.checkCancelled() }
    }
    let interp = Interpreter(registry: registry)
    var polls = 0
    interp.shouldCancel = { polls += 1; return polls > 1000 }
    #expect(run("loop_forever()", in: interp).result.status == .interrupted)
}

@Test func stepLimitStopsRunawayScripts() {
    let interp = Interpreter(registry: testRegistry())
    interp.stepLimit = 1000
    let r = run("while true { }", in: interp)
    #expect(r.result.diagnostics.first?.message == "step limit of 1000 exceeded")
}

@Test func deepButBoundedRecursionWorks() {
    #expect(out("fn depth(n) { if n == 0 { return 0 } return 1 + depth(n - 1) }\nprint(depth(900))") == ["900"])
    let r = run("fn f(n) { return f(n+1) }\nf(0)")
    #expect(r.result.status == .runtimeFailure)
    #expect(r.result.diagnostics.first?.message.contains("recursion too deep") == true)
}

@Test func displayHookAndQuietStatements() {
    let interp = Interpreter(registry: testRegistry())
    var shown: [String] = []
    interp.display = { shown.append("<\($0.typeName)>") }
    run("vec(1)\nvec(2);\n3", in: interp)
    #expect(shown == ["<vec>", "<number>"])
}

@Test func replLineNumbersContinue() {
    let interp = Interpreter(registry: testRegistry())
    interp.output = { _ in }
    _ = interp.run(source: "fn f() { return 1 / 0 }", file: "<repl>", firstLine: 1)
    let r = interp.run(source: "f()", file: "<repl>", firstLine: 2)
    #expect(formatDiagnostics(r.diagnostics) == "<repl>:1:19: error: /: division by zero\nfn f() { return 1 / 0 }\n                  ^")
}

@Test func numbersPrintWithoutTrailingZero() {
    #expect(formatNumber(3) == "3")
    #expect(formatNumber(-2.5) == "-2.5")
    #expect(formatNumber(1e20) == "1e+20")
    #expect(formatNumber(.nan) == "nan")
}

@Test func helpListsFamiliesAndMarkdownCoversEveryBuiltin() {
    let registry = testRegistry()
    let index = registry.helpText(for: nil)
    #expect(index.contains("  core: print, len, range, type, str, append, keys, assert, help"))
    #expect(index.contains("  test: vec, unet, sample, each"))
    let md = registry.markdownReference()
    for b in registry.all { #expect(md.contains("### `\(b.signatureText)`")) }
    #expect(md.contains("| `steps` | int | `50` |  |"))
    #expect(out("help") == index.split(separator: "\n").map(String.init))
}

@Test func signatureBindingIsGeneric() throws {
    let sig = Signature(name: "f", params: [BuiltinParam("a"), BuiltinParam("b", default: .number(2))])
    let bound = try sig.bind(Arguments(positional: [.number(1)], named: [("b", .number(5))]))
    #expect(bound["a"].equals(.number(1)) && bound["b"].equals(.number(5)))
    #expect(throws: HostError.self) { try sig.bind(Arguments(positional: [], named: [])) }
    #expect(sig.text == "f(a, b: 2)")
}
