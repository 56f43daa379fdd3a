// Expression grammar of the parser, lowest precedence first.
extension Parser {
    mutating func expression() throws -> Expr {
        try nested { p in try p.orExpr() }
    }

    private mutating func orExpr() throws -> Expr {
        var left = try andExpr()
        while check(.or) {
            let op = advance()
            left = Expr(.or(left, try andExpr()), location(op))
        }
        return left
    }

    private mutating func andExpr() throws -> Expr {
        var left = try notExpr()
        while check(.and) {
            let op = advance()
            left = Expr(.and(left, try notExpr()), location(op))
        }
        return left
    }

    private mutating func notExpr() throws -> Expr {
        if check(.not) {
            let op = advance()
            return Expr(.unary(.not, try nested { p in try p.notExpr() }), location(op))
        }
        return try comparison()
    }

    private mutating func comparison() throws -> Expr {
        let table: [TokenKind: BinaryOperator] = [
            .equalEqual: .equal, .bangEqual: .notEqual, .less: .less, .lessEqual: .lessEqual,
            .greater: .greater, .greaterEqual: .greaterEqual,
        ]
        var left = try rangeExpr()
        while let op = table[peek.kind] {
            let t = advance()
            left = Expr(.binary(op, left, try rangeExpr()), location(t))
        }
        return left
    }

    private mutating func rangeExpr() throws -> Expr {
        let left = try additive()
        if check(.rangeInclusive) || check(.rangeExclusive) {
            let t = advance()
            return Expr(.range(left, try additive(), inclusive: t.kind == .rangeInclusive), location(t))
        }
        return left
    }

    private mutating func additive() throws -> Expr {
        var left = try multiplicative()
        while check(.plus) || check(.minus) {
            let t = advance()
            left = Expr(.binary(t.kind == .plus ? .add : .subtract, left, try multiplicative()), location(t))
        }
        return left
    }

    private mutating func multiplicative() throws -> Expr {
        var left = try unary()
        while check(.star) || check(.slash) || check(.percent) {
            let t = advance()
            let op: BinaryOperator = t.kind == .star ? .multiply : t.kind == .slash ? .divide : .modulo
            left = Expr(.binary(op, left, try unary()), location(t))
        }
        return left
    }

    private mutating func unary() throws -> Expr {
        if check(.minus) {
            let t = advance()
            let operand = try nested { p in try p.unary() }
            if case .number(let n) = operand.kind { return Expr(.number(-n), location(t)) }
            return Expr(.unary(.negate, operand), location(t))
        }
        return try power()
    }

    /// `**` is right-associative and binds tighter than unary minus on its left: `-2**2 == -4`.
    private mutating func power() throws -> Expr {
        let base = try postfix()
        if check(.starStar) {
            let t = advance()
            let exponent = try nested { p in try p.unary() }
            return Expr(.binary(.power, base, exponent), location(t))
        }
        return base
    }

    private mutating func postfix() throws -> Expr {
        var expr = try primary()
        while true {
            if check(.leftParen) {
                let t = advance()
                expr = Expr(.call(expr, try arguments()), location(t))
            } else if check(.dot) {
                advance()
                let (name, nameToken) = try identifier("field name after '.'")
                expr = Expr(.field(expr, name), location(nameToken))
            } else if check(.leftBracket) {
                let t = advance()
                expr = Expr(.index(expr, try subscripts()), location(t))
            } else {
                return expr
            }
        }
    }

    private mutating func inBrackets<T>(_ body: (inout Parser) throws -> T) throws -> T {
        let saved = allowRecord
        allowRecord = true
        defer { allowRecord = saved }
        return try nested(body)
    }

    private mutating func arguments() throws -> [ArgumentExpr] {
        try inBrackets { p in
            var args: [ArgumentExpr] = []
            while !p.check(.rightParen) {
                let start = p.peek
                var name: String?
                if case .identifier(let n) = start.kind,
                   p.tokens[min(p.current + 1, p.tokens.count - 1)].kind == .colon {
                    name = n
                    p.advance()
                    p.advance()
                }
                args.append(ArgumentExpr(name: name, value: try p.expression(), location: p.location(start)))
                if !p.match(.comma) { break }
            }
            _ = try p.consume(.rightParen, "')' after arguments")
            return args
        }
    }

    private mutating func subscripts() throws -> [IndexExpr] {
        try inBrackets { p in
            var items: [IndexExpr] = []
            repeat {
                if p.check(.rightBracket) { break }
                items.append(try p.subscriptItem())
            } while p.match(.comma)
            _ = try p.consume(.rightBracket, "']' after index")
            if items.isEmpty { throw p.fail("expected an index inside '[]'") }
            return items
        }
    }

    private mutating func subscriptItem() throws -> IndexExpr {
        if match(.ellipsis) { return .ellipsis }
        func boundary(_ p: Parser) -> Bool {
            p.check(.colon) || p.check(.comma) || p.check(.rightBracket)
        }
        let start: Expr? = boundary(self) ? nil : try expression()
        guard match(.colon) else {
            guard let single = start else { throw fail("expected an index, found \(peek.quoted)") }
            return .single(single)
        }
        let stop: Expr? = boundary(self) ? nil : try expression()
        var step: Expr?
        if match(.colon) { step = boundary(self) ? nil : try expression() }
        return .slice(start: start, stop: stop, step: step)
    }

    private mutating func primary() throws -> Expr {
        let t = peek
        let loc = location(t)
        switch t.kind {
        case .number(let n): advance(); return Expr(.number(n), loc)
        case .string(let s): advance(); return Expr(.string(s), loc)
        case .true: advance(); return Expr(.bool(true), loc)
        case .false: advance(); return Expr(.bool(false), loc)
        case .nil: advance(); return Expr(.nilLiteral, loc)
        case .identifier(let name): advance(); return Expr(.variable(name), loc)
        case .fn:
            advance()
            return Expr(.function(try functionRest(named: false, start: t)), loc)
        case .leftParen:
            advance()
            let inner = try inBrackets { p in try p.expression() }
            _ = try consume(.rightParen, "')' after expression")
            return inner
        case .leftBracket:
            advance()
            return try inBrackets { p in
                var items: [Expr] = []
                while !p.check(.rightBracket) {
                    items.append(try p.expression())
                    if !p.match(.comma) { break }
                }
                _ = try p.consume(.rightBracket, "']' after list items")
                return Expr(.list(items), loc)
            }
        case .leftBrace where allowRecord:
            advance()
            return try inBrackets { p in try p.recordRest(loc) }
        default:
            throw fail("expected expression, found \(t.quoted)")
        }
    }

    private mutating func recordRest(_ loc: SourceLocation) throws -> Expr {
        var entries: [(key: String, value: Expr)] = []
        skipNewlines()
        while !check(.rightBrace) {
            let key: String
            switch peek.kind {
            case .identifier(let name): key = name
            case .string(let s): key = s
            default: throw fail("expected field name in record, found \(peek.quoted)")
            }
            advance()
            _ = try consume(.colon, "':' after field name")
            entries.append((key, try expression()))
            skipNewlines()
            if !match(.comma) { break }
            skipNewlines()
        }
        _ = try consume(.rightBrace, "'}' after record fields")
        return Expr(.record(entries), loc)
    }
}
