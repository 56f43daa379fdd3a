import Testing
@testable import SwapLang

private func kinds(_ text: String) -> [TokenKind] {
    Lexer.tokenize(SourceText(text, file: "t")).tokens.map(\.kind)
}

@Test func lexesOperatorsAndRanges() {
    #expect(kinds("0..10 0..<3 x[...] a ** b") == [
        .number(0), .rangeInclusive, .number(10), .number(0), .rangeExclusive, .number(3),
        .identifier("x"), .leftBracket, .ellipsis, .rightBracket, .identifier("a"), .starStar, .identifier("b"),
        .newline, .eof,
    ])
    #expect(kinds("a += 1 <= >= != ==") == [.identifier("a"), .plusEqual, .number(1), .lessEqual, .greaterEqual,
                                          .bangEqual, .equalEqual, .eof])
}

@Test func lexesNumbersWithoutEatingRangeDots() {
    #expect(kinds("1.5 2e3 1_000 3.") == [.number(1.5), .number(2000), .number(1000), .number(3), .dot, .eof])
}

@Test func newlinesInsideParensAndAfterOperatorsAreSkipped() {
    #expect(kinds("f(1,\n2)\nx = 1 +\n2") == [
        .identifier("f"), .leftParen, .number(1), .comma, .number(2), .rightParen, .newline,
        .identifier("x"), .equal, .number(1), .plus, .number(2), .newline, .eof,
    ])
    // Inside braces (blocks) newlines separate statements.
    #expect(kinds("{\na\nb\n}").filter { $0 == .newline }.count == 3)
}

@Test func keywordsCommentsAndStrings() {
    #expect(kinds("fn if else none nil # comment\n'it\\'s'") == [
        .fn, .if, .else, .nil, .nil, .newline, .string("it's"), .newline, .eof,
    ])
}

@Test func cellMarkersRecordIndexAndTitle() {
    let lexed = Lexer.tokenize(SourceText("a = 1\n## Load model\nb = 2\n  ## second  \nc", file: "t"))
    #expect(lexed.cells == [Cell(index: 1, title: "Load model", line: 2), Cell(index: 2, title: "second", line: 4)])
    let cellOf = lexed.tokens.filter { if case .identifier = $0.kind { return true }; return false }.map(\.cell)
    #expect(cellOf == [0, 1, 2])
}

@Test func tokensCarryLineAndColumn() {
    let tokens = Lexer.tokenize(SourceText("x = 1\n  yy", file: "t")).tokens
    let yy = tokens.first { $0.kind == .identifier("yy") }
    #expect(yy?.line == 2 && yy?.column == 3)
}

@Test func lexerErrors() {
    let lexed = Lexer.tokenize(SourceText("x = $\ns = \"open", file: "f.swapscript"))
    #expect(lexed.diagnostics.map(\.message) == ["unexpected character '$'", "unterminated string"])
    #expect(lexed.diagnostics.last?.atEndOfInput == true)
}
