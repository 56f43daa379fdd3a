import Testing
@testable import SwapLang

private func check(_ text: String, known: [String] = [], repl: Bool = false) -> [String] {
    let interp = Interpreter(registry: testRegistry())
    for k in known { interp.define(k, .number(1)) }
    interp.replMode = repl
    return interp.check(source: text, file: "c").map(\.message)
}

@Test func undefinedVariables() {
    #expect(check("print(x)") == ["undefined variable 'x'"])
    #expect(check("print(x)", known: ["x"]).isEmpty)
    #expect(check("fn f() { return later }\nlater = 1").isEmpty)
    #expect(check("for i in 0..3 { if i > 0 { print(prev) } prev = i }").isEmpty)
    #expect(check("fn f(a) { b = a\n return b + c }") == ["undefined variable 'c'"])
    #expect(check("fn f() { return g }", repl: true).isEmpty)
    #expect(check("fn outer() { n = 1\n return fn() { return n } }").isEmpty)
}

@Test func controlFlowOutsideItsConstruct() {
    #expect(check("return 1") == ["'return' outside a function"])
    #expect(check("continue") == ["'continue' outside a loop"])
    #expect(check("while true { fn g() { break } }") == ["'break' outside a loop"])
    #expect(check("fn f() { for x in [1] { if x == 1 { break } } return 2 }").isEmpty)
}

@Test func duplicateParameters() {
    #expect(check("g = fn(a, a) { return a }") == ["duplicate parameter 'a' in function"])
}

@Test func builtinArityChecks() {
    #expect(check("len()") == ["len: missing argument 'x'"])
    #expect(check("len(1, 2)") == ["len: expected at most 1 argument, got 2"])
    #expect(check("sample(\"m\", \"p\", stepz: 3)") == ["sample: unknown argument 'stepz' (valid names: model, prompt, steps, seed)"])
    #expect(check("print(1, 2, 3, sep: \",\")").isEmpty)
    // A script binding shadows the builtin, so no arity check applies.
    #expect(check("fn len(a, b) { return a }\nlen(1, 2)").isEmpty)
}

@Test func checkDoesNotRun() {
    let interp = Interpreter(registry: testRegistry())
    var printed: [String] = []
    interp.output = { printed.append($0) }
    #expect(interp.check(source: "print(1)\nx = 2").isEmpty)
    #expect(printed.isEmpty && interp.bindings["x"] == nil)
}
