/// Turns source text into tokens. Line breaks become `.newline` tokens except inside
/// `(` / `[` and after a token that continues the line (a trailing binary operator, a comma,
/// an opening bracket). `#` starts a comment; a line starting with `##` starts a notebook cell.
struct Lexer {
    private let source: SourceText
    private var pos = 0
    private var line = 1
    private var lineStart = 0
    private var brackets: [Character] = []
    private(set) var tokens: [Token] = []
    private(set) var diagnostics: [Diagnostic] = []
    private(set) var cells: [Cell] = []

    init(_ source: SourceText) { self.source = source }

    /// Lexes the whole text; always ends with an `.eof` token.
    static func tokenize(_ source: SourceText) -> (tokens: [Token], cells: [Cell], diagnostics: [Diagnostic]) {
        var lexer = Lexer(source)
        lexer.run()
        return (lexer.tokens, lexer.cells, lexer.diagnostics)
    }

    private var chars: [Unicode.Scalar] { source.scalars }
    private func peek(_ ahead: Int = 0) -> Unicode.Scalar? {
        pos + ahead < chars.count ? chars[pos + ahead] : nil
    }

    private mutating func run() {
        while let c = peek() {
            let start = pos
            switch c {
            case " ", "\t", "\r":
                pos += 1
            case "\n":
                emitNewline(at: start)
                pos += 1
                line += 1
                lineStart = pos
            case "#":
                if peek(1) == "#" && chars[lineStart..<pos].allSatisfy({ $0 == " " || $0 == "\t" }) {
                    cellMarker()
                } else {
                    while let d = peek(), d != "\n" { pos += 1 }
                }
            case "\"", "'":
                string(quote: c)
            case "0"..."9":
                number()
            default:
                if isIdentStart(c) { identifier() } else { punctuation(c) }
            }
        }
        emitNewline(at: pos)
        add(.eof, from: pos, lexeme: "")
    }

    private mutating func cellMarker() {
        let start = pos
        while let d = peek(), d != "\n" { pos += 1 }
        let text = source.text(from: start + 2, to: pos).trimmingSpaces()
        emitNewline(at: start)
        cells.append(Cell(index: cells.count + 1, title: text, line: line))
    }

    private mutating func emitNewline(at offset: Int) {
        if let last = brackets.last, last != "{" { return }
        guard let prev = tokens.last else { return }
        if prev.kind == .newline || prev.kind == .semicolon || prev.kind.continuesLine { return }
        add(.newline, from: offset, lexeme: "\\n", end: offset)
    }

    private mutating func add(_ kind: TokenKind, from start: Int, lexeme: String? = nil, end: Int? = nil) {
        let text = lexeme ?? source.text(from: start, to: pos)
        tokens.append(Token(kind: kind, lexeme: text, line: line, column: start - lineStart + 1,
                            offset: start, endOffset: end ?? pos, cell: cells.count))
    }

    private mutating func error(_ message: String, at start: Int, atEnd: Bool = false) {
        diagnostics.append(source.diagnostic(message, line: line, column: start - lineStart + 1, atEnd: atEnd))
    }

    private func isIdentStart(_ c: Unicode.Scalar) -> Bool {
        c == "_" || c.properties.isAlphabetic
    }

    private mutating func identifier() {
        let start = pos
        while let c = peek(), isIdentStart(c) || ("0"..."9").contains(c) { pos += 1 }
        let text = source.text(from: start, to: pos)
        add(TokenKind.keywords[text] ?? .identifier(text), from: start, lexeme: text)
    }

    private mutating func number() {
        let start = pos
        var digits = ""
        func eatDigits() {
            while let c = peek(), ("0"..."9").contains(c) || c == "_" {
                if c != "_" { digits.unicodeScalars.append(c) }
                pos += 1
            }
        }
        eatDigits()
        if peek() == ".", let d = peek(1), ("0"..."9").contains(d) {
            digits += "."
            pos += 1
            eatDigits()
        }
        if let e = peek(), e == "e" || e == "E" {
            var ahead = 1
            if let s = peek(1), s == "+" || s == "-" { ahead = 2 }
            if let d = peek(ahead), ("0"..."9").contains(d) {
                digits += "e"
                if ahead == 2, let s = peek(1) { digits.unicodeScalars.append(s) }
                pos += ahead
                eatDigits()
            }
        }
        if let value = Double(digits) {
            add(.number(value), from: start)
        } else {
            error("malformed number '\(source.text(from: start, to: pos))'", at: start)
        }
    }

    private mutating func string(quote: Unicode.Scalar) {
        let start = pos
        pos += 1
        var value = String.UnicodeScalarView()
        while true {
            guard let c = peek(), c != "\n" else {
                error("unterminated string", at: start, atEnd: peek() == nil)
                return
            }
            pos += 1
            if c == quote { break }
            if c == "\\" {
                guard let e = peek() else { continue }
                pos += 1
                switch e {
                case "n": value.append("\n")
                case "t": value.append("\t")
                case "r": value.append("\r")
                case "0": value.append("\0")
                case "\\", "\"", "'": value.append(e)
                default: error("unknown escape '\\\(e)' in string", at: pos - 2)
                }
            } else {
                value.append(c)
            }
        }
        add(.string(String(value)), from: start)
    }

    private mutating func punctuation(_ c: Unicode.Scalar) {
        let start = pos
        pos += 1
        func match(_ next: Unicode.Scalar) -> Bool {
            if peek() == next { pos += 1; return true }
            return false
        }
        let kind: TokenKind
        switch c {
        case "(": kind = .leftParen; brackets.append("(")
        case "[": kind = .leftBracket; brackets.append("[")
        case "{": kind = .leftBrace; brackets.append("{")
        case ")", "]", "}":
            if !brackets.isEmpty { brackets.removeLast() }
            kind = c == ")" ? .rightParen : c == "]" ? .rightBracket : .rightBrace
        case ",": kind = .comma
        case ":": kind = .colon
        case ";": kind = .semicolon
        case "?": kind = .question
        case ".":
            if match(".") {
                kind = match(".") ? .ellipsis : match("<") ? .rangeExclusive : .rangeInclusive
            } else {
                kind = .dot
            }
        case "+": kind = match("=") ? .plusEqual : .plus
        case "-": kind = match("=") ? .minusEqual : .minus
        case "*": kind = match("*") ? .starStar : match("=") ? .starEqual : .star
        case "/": kind = match("=") ? .slashEqual : .slash
        case "%": kind = .percent
        case "=": kind = match("=") ? .equalEqual : .equal
        case "!":
            guard match("=") else {
                error("unexpected character '!' (use 'not' for negation)", at: start)
                return
            }
            kind = .bangEqual
        case "<": kind = match("=") ? .lessEqual : .less
        case ">": kind = match("=") ? .greaterEqual : .greater
        default:
            error("unexpected character '\(c)'", at: start)
            return
        }
        add(kind, from: start)
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s.removeLast() }
        return String(s)
    }
}
