/// Recursive-descent parser, one method per precedence level:
/// `or` < `and` < `not` < comparison < range < `+ -` < `* / %` < unary `-` < `**` < postfix.
/// It recovers at statement boundaries, so one typo gives one error.
struct Parser {
    struct ParseError: Error {}

    let source: SourceText
    let tokens: [Token]
    var current = 0
    var depth = 0
    var allowRecord = true
    private(set) var diagnostics: [Diagnostic] = []

    /// Deepest nesting of expressions and blocks accepted before a clean error.
    static let maxDepth = 200

    init(source: SourceText, tokens: [Token]) {
        self.source = source
        self.tokens = tokens
    }

    /// Lexes and parses a whole text.
    static func parse(_ text: String, file: String) -> (Program, [Diagnostic]) {
        let source = SourceText(text, file: file)
        let lexed = Lexer.tokenize(source)
        var parser = Parser(source: source, tokens: lexed.tokens)
        let statements = parser.parseProgram()
        // A bad character or string already explains its line; drop parser follow-ups there.
        let lexLines = Set(lexed.diagnostics.map(\.location.line))
        let parseErrors = parser.diagnostics.filter { !lexLines.contains($0.location.line) }
        let all = (lexed.diagnostics + parseErrors).sorted {
            ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column)
        }
        return (Program(statements: statements, cells: lexed.cells, file: file), all)
    }

    // MARK: - Token helpers

    var peek: Token { tokens[min(current, tokens.count - 1)] }
    var previous: Token { tokens[max(0, min(current - 1, tokens.count - 1))] }
    var isAtEnd: Bool { peek.kind == .eof }

    func location(_ t: Token) -> SourceLocation {
        SourceLocation(file: source.file, line: t.line, column: t.column)
    }

    func check(_ kind: TokenKind) -> Bool { peek.kind == kind }

    @discardableResult
    mutating func advance() -> Token {
        let t = peek
        if !isAtEnd { current += 1 }
        return t
    }

    mutating func match(_ kinds: TokenKind...) -> Bool {
        for k in kinds where check(k) {
            advance()
            return true
        }
        return false
    }

    mutating func skipNewlines() {
        while check(.newline) || check(.semicolon) { advance() }
    }

    mutating func fail(_ message: String, at token: Token? = nil) -> ParseError {
        let t = token ?? peek
        var column = t.column
        var line = t.line
        if t.kind == .eof || t.kind == .newline {
            // Point just after the last real token, where the missing piece belongs.
            let before = tokens[..<min(current, tokens.count)].last { $0.kind != .newline && $0.kind != .eof }
            if let b = before, t.kind == .eof || b.line == t.line {
                line = b.line
                column = b.column + max(1, b.endOffset - b.offset)
            }
        }
        let next = tokens[min(current + 1, tokens.count - 1)]
        let atEnd = t.kind == .eof || (t.kind == .newline && next.kind == .eof)
        diagnostics.append(source.diagnostic(message, line: line, column: column, atEnd: atEnd))
        return ParseError()
    }

    mutating func consume(_ kind: TokenKind, _ what: String) throws -> Token {
        if check(kind) { return advance() }
        throw fail("expected \(what), found \(peek.quoted)")
    }

    mutating func identifier(_ what: String) throws -> (String, Token) {
        if case .identifier(let name) = peek.kind { return (name, advance()) }
        throw fail("expected \(what), found \(peek.quoted)")
    }

    mutating func nested<T>(_ body: (inout Parser) throws -> T) throws -> T {
        depth += 1
        defer { depth -= 1 }
        if depth > Parser.maxDepth { throw fail("expression or block nested too deeply") }
        return try body(&self)
    }

    // MARK: - Statements

    mutating func parseProgram() -> [Stmt] {
        var statements: [Stmt] = []
        skipNewlines()
        while !isAtEnd {
            if let s = statementWithRecovery(inBlock: false) { statements.append(s) }
            skipNewlines()
        }
        return statements
    }

    private mutating func statementWithRecovery(inBlock: Bool) -> Stmt? {
        do {
            var stmt = try statement()
            if match(.semicolon) {
                stmt.quiet = true
                stmt.endOffset = previous.endOffset
            } else if !(check(.newline) || isAtEnd || (inBlock && check(.rightBrace)) || stmt.endsWithBlock) {
                throw fail("expected end of statement, found \(peek.quoted)")
            }
            return stmt
        } catch {
            synchronize(inBlock: inBlock)
            return nil
        }
    }

    /// Skips to the next statement boundary (a line break or `;` outside brackets).
    private mutating func synchronize(inBlock: Bool) {
        var braces = 0
        while !isAtEnd {
            switch peek.kind {
            case .newline where braces == 0, .semicolon where braces == 0:
                advance()
                return
            case .leftBrace: braces += 1
            case .rightBrace:
                if braces == 0 {
                    if inBlock { return }
                } else {
                    braces -= 1
                }
            default: break
            }
            advance()
        }
    }

    private mutating func statement() throws -> Stmt {
        let start = peek
        let kind: StmtKind
        switch start.kind {
        case .fn:
            if case .identifier = tokens[min(current + 1, tokens.count - 1)].kind {
                advance()
                kind = .function(try functionRest(named: true, start: start))
            } else {
                kind = try assignmentOrExpression()
            }
        case .if: advance(); kind = try ifRest()
        case .while:
            advance()
            let cond = try condition()
            kind = .whileLoop(condition: cond, body: try block())
        case .for:
            advance()
            let (name, _) = try identifier("loop variable name after 'for'")
            _ = try consume(.in, "'in' after loop variable")
            let iterable = try condition()
            kind = .forLoop(variable: name, iterable: iterable, body: try block())
        case .return:
            advance()
            if check(.newline) || check(.semicolon) || check(.rightBrace) || isAtEnd {
                kind = .returnValue(nil)
            } else {
                kind = .returnValue(try expression())
            }
        case .break: advance(); kind = .breakLoop
        case .continue: advance(); kind = .continueLoop
        case .question:
            advance()
            kind = .help(try identifier("a name after '?'").0)
        case .identifier("help") where isHelpCommand():
            advance()
            if case .identifier(let name) = peek.kind {
                advance()
                kind = .help(name)
            } else {
                kind = .help(nil)
            }
        default:
            kind = try assignmentOrExpression()
        }
        return Stmt(kind: kind, location: location(start), cell: start.cell,
                    startOffset: start.offset, endOffset: previous.endOffset)
    }

    /// `help` at the start of a statement followed by a name or the end of the statement.
    private func isHelpCommand() -> Bool {
        let next = tokens[min(current + 1, tokens.count - 1)]
        switch next.kind {
        case .identifier, .newline, .semicolon, .eof: return true
        default: return false
        }
    }

    private mutating func assignmentOrExpression() throws -> StmtKind {
        let target = try expression()
        let compound: [TokenKind: BinaryOperator] = [
            .plusEqual: .add, .minusEqual: .subtract, .starEqual: .multiply, .slashEqual: .divide,
        ]
        let opToken = peek
        if match(.equal) || compound[opToken.kind] != nil {
            if compound[opToken.kind] != nil { advance() }
            switch target.kind {
            case .variable, .field, .index: break
            default: throw fail("cannot assign to this expression", at: opToken)
            }
            var value = try expression()
            if let op = compound[opToken.kind] {
                value = Expr(.binary(op, target, value), location(opToken))
            }
            return .assign(target: target, value: value)
        }
        return .expression(target)
    }

    private mutating func ifRest() throws -> StmtKind {
        var branches: [(condition: Expr, body: [Stmt])] = []
        branches.append((try condition(), try block()))
        var elseBody: [Stmt]?
        while true {
            let save = current
            while check(.newline) { advance() }
            guard match(.else) else { current = save; break }
            if match(.if) {
                branches.append((try condition(), try block()))
            } else {
                elseBody = try block()
                break
            }
        }
        return .ifElse(branches: branches, elseBody: elseBody)
    }

    /// An expression in a position followed by a block: record literals need parentheses there.
    private mutating func condition() throws -> Expr {
        let saved = allowRecord
        allowRecord = false
        defer { allowRecord = saved }
        return try expression()
    }

    private mutating func block() throws -> [Stmt] {
        while check(.newline) { advance() }
        _ = try consume(.leftBrace, "'{' to start a block")
        return try nested { p in
            var body: [Stmt] = []
            p.skipNewlines()
            while !p.check(.rightBrace) && !p.isAtEnd {
                if let s = p.statementWithRecovery(inBlock: true) { body.append(s) }
                p.skipNewlines()
            }
            _ = try p.consume(.rightBrace, "'}' to close the block")
            return body
        }
    }

    mutating func functionRest(named: Bool, start: Token) throws -> FunctionDecl {
        var name: String?
        if named { name = try identifier("function name").0 }
        _ = try consume(.leftParen, "'(' after function name")
        var params: [ParameterDecl] = []
        if !check(.rightParen) {
            repeat {
                if check(.rightParen) { break }
                let (pname, ptoken) = try identifier("parameter name")
                var def: Expr?
                if match(.colon) { def = try expression() }
                params.append(ParameterDecl(name: pname, defaultValue: def, location: location(ptoken)))
            } while match(.comma)
        }
        _ = try consume(.rightParen, "')' after parameters")
        let saved = allowRecord
        allowRecord = true
        defer { allowRecord = saved }
        return FunctionDecl(name: name, parameters: params, body: try block(), location: location(start))
    }
}
