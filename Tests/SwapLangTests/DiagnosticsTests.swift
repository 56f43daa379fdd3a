import Testing
@testable import SwapLang

@Test func formatsHeaderSourceLineAndCaret() {
    let r = run("x = 1\ny = x +* 2", file: "demo.swapscript")
    #expect(r.errors == """
    demo.swapscript:2:8: error: expected expression, found '*'
    y = x +* 2
           ^
    """)
    #expect(r.result.status == .scriptError)
}

@Test func runtimeErrorPointsAtTheCall() {
    let r = run("v = vec(1, 2, 3)\nout = unet(v)")
    #expect(r.errors == """
    <repl>:2:11: error: unet: latent has shape [3], expected 4 channels
    out = unet(v)
              ^
    """)
    #expect(r.result.status == .runtimeFailure)
}

@Test func caretKeepsTabs() {
    let d = Diagnostic(message: "m", location: SourceLocation(file: "f", line: 1, column: 3), sourceLine: "\tab")
    #expect(d.formatted == "f:1:3: error: m\n\tab\n\t ^")
}

@Test func errorAtEndOfInputPointsAfterLastToken() {
    let r = run("f(1, 2", file: "e")
    #expect(r.errors == "e:1:7: error: expected ')' after arguments, found end of input\nf(1, 2\n      ^")
    #expect(r.result.diagnostics.first?.atEndOfInput == true)
}

@Test func oneTypoGivesOneErrorButIndependentErrorsAreAllReported() {
    #expect(run("x = (1 2 3 4)\n").result.diagnostics.count == 1)
    #expect(run("a = ]\nb = 1\nc = )\nd = 2 2").result.diagnostics.count == 3)
}

@Test func exitClasses() {
    #expect(run("x = 1").result.status == .ok)
    #expect(run("x = ").result.status == .scriptError)
    #expect(run("print(nope)").result.status == .scriptError)
    #expect(run("x = 1 / 0").result.status == .runtimeFailure)
    #expect(ExitClass.scriptError.rawValue == 65 && ExitClass.runtimeFailure.rawValue == 70)
}
