import Testing
@testable import SwapLang

private func parse(_ text: String) -> (Program, [Diagnostic]) { Parser.parse(text, file: "p") }

private func exprOf(_ text: String) -> ExprKind? {
    let (program, diags) = parse(text)
    guard diags.isEmpty, case .expression(let e)? = program.statements.first?.kind else { return nil }
    return e.kind
}

@Test func precedenceOfPowerAndUnary() {
    // -2 ** 2 parses as -(2 ** 2)
    guard case .unary(.negate, let inner)? = exprOf("-x ** 2"), case .binary(.power, _, _) = inner.kind else {
        Issue.record("wrong tree")
        return
    }
    guard case .binary(.add, _, let right)? = exprOf("1 + 2 * 3"), case .binary(.multiply, _, _) = right.kind else {
        Issue.record("wrong tree for 1 + 2 * 3")
        return
    }
}

@Test func callsWithNamedArguments() {
    guard case .call(let callee, let args)? = exprOf("sample(m, \"a cat\", steps: 50, seed: 7)"),
          case .variable("sample") = callee.kind else {
        Issue.record("not a call")
        return
    }
    #expect(args.map(\.name) == [nil, nil, "steps", "seed"])
}

@Test func subscriptsAndSlices() {
    guard case .index(_, let items)? = exprOf("x[0, :, 8:24, ..., ::2]") else {
        Issue.record("not an index")
        return
    }
    #expect(items.count == 5)
    if case .slice(nil, nil, nil) = items[1] {} else { Issue.record("':' should be an open slice") }
    if case .slice(.some, .some, nil) = items[2] {} else { Issue.record("8:24") }
    if case .ellipsis = items[3] {} else { Issue.record("...") }
    if case .slice(nil, nil, .some) = items[4] {} else { Issue.record("::2") }
}

@Test func statementsRecordCellsQuietnessAndText() {
    let (program, diags) = parse("a = 1\n## two\nb = a + 1;\nfn f(x, y: 2) {\n  return x\n}")
    #expect(diags.isEmpty)
    #expect(program.statements.map(\.cell) == [0, 1, 1])
    #expect(program.statements.map(\.quiet) == [false, true, false])
    #expect(program.cells.map(\.title) == ["two"])
    let src = SourceText("a = 1\n## two\nb = a + 1;\nfn f(x, y: 2) {\n  return x\n}", file: "p")
    let last = program.statements[2]
    #expect(src.text(from: last.startOffset, to: last.endOffset) == "fn f(x, y: 2) {\n  return x\n}")
}

@Test func ifElseChainsAndLoops() {
    let (program, diags) = parse("if a { b = 1 } else if c { b = 2 } else { b = 3 }\nwhile x { break }\nfor i in 0..<3 { continue }")
    #expect(diags.isEmpty)
    guard case .ifElse(let branches, let elseBody) = program.statements[0].kind else {
        Issue.record("not an if")
        return
    }
    #expect(branches.count == 2 && elseBody?.count == 1)
}

@Test func recordLiteralNeedsParensInConditions() {
    #expect(parse("if x == ({a: 1}) { y = 1 }").1.isEmpty)
    #expect(parse("r = {a: 1, \"b c\": 2}").1.isEmpty)
}

@Test func recoversAtStatementBoundaries() {
    let (program, diags) = parse("x = = 1\ny = 2\nz = (3\n")
    #expect(diags.count == 2)
    #expect(diags.first?.location.line == 1)
    #expect(program.statements.count == 1) // only y = 2
}

@Test func helpStatements() {
    let (program, diags) = parse("help\nhelp len\n?print\nhelp(\"x\")")
    #expect(diags.isEmpty)
    let kinds = program.statements.map { s -> String in
        switch s.kind {
        case .help(let n): return "help:\(n ?? "-")"
        default: return "other"
        }
    }
    #expect(kinds == ["help:-", "help:len", "help:print", "other"])
}

@Test func nestingLimitGivesCleanError() {
    let deep = String(repeating: "(", count: 500) + "1" + String(repeating: ")", count: 500)
    let (_, diags) = parse(deep)
    #expect(diags.contains { $0.message.contains("nested too deeply") })
}

@Test func incompleteInputDetection() {
    for text in ["x = (1 +", "fn f() {", "if x {\n  y = 1", "x = 1 +", "s = \"abc", "xs = [1, 2,", "f(a,\n b", "if x"] {
        #expect(Interpreter.isIncomplete(text), "\(text) should be incomplete")
    }
    for text in ["x = 1", "fn f() { return 1 }", "x = )", "print(1))", "", "x = 1 @"] {
        #expect(!Interpreter.isIncomplete(text), "\(text) should be complete")
    }
}
