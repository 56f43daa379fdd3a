/// A position in a source text: file name, 1-based line and 1-based column.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// `FILE:LINE:COL`, the prefix of every diagnostic.
    public var description: String { "\(file):\(line):\(column)" }
}

/// The kinds of token the lexer produces.
public enum TokenKind: Hashable, Sendable {
    // Literals and names
    case number(Double)
    case string(String)
    case identifier(String)
    // Keywords
    case fn, `return`, `if`, `else`, `while`, `for`, `in`, `break`, `continue`
    case and, or, not, `true`, `false`, `nil`
    // Punctuation
    case leftParen, rightParen, leftBracket, rightBracket, leftBrace, rightBrace
    case comma, dot, colon, semicolon, question
    case ellipsis            // ...
    case rangeInclusive      // ..
    case rangeExclusive      // ..<
    // Operators
    case plus, minus, star, slash, percent, starStar
    case equal, equalEqual, bangEqual, less, lessEqual, greater, greaterEqual
    case plusEqual, minusEqual, starEqual, slashEqual
    // Layout
    case newline
    case eof

    /// Keyword table used by the lexer; `none` is an alias of `nil`.
    static let keywords: [String: TokenKind] = [
        "fn": .fn, "return": .return, "if": .if, "else": .else, "while": .while,
        "for": .for, "in": .in, "break": .break, "continue": .continue,
        "and": .and, "or": .or, "not": .not, "true": .true, "false": .false,
        "nil": .nil, "none": .nil,
    ]

    /// True for tokens after which a line break does not end the statement
    /// (binary operators, separators and opening brackets).
    var continuesLine: Bool {
        switch self {
        case .plus, .minus, .star, .slash, .percent, .starStar, .equal, .equalEqual, .bangEqual,
             .less, .lessEqual, .greater, .greaterEqual, .plusEqual, .minusEqual, .starEqual,
             .slashEqual, .and, .or, .not, .comma, .dot, .colon, .rangeInclusive, .rangeExclusive,
             .leftParen, .leftBracket, .leftBrace:
            return true
        default:
            return false
        }
    }
}

/// One token with its spelling and position. `offset`/`endOffset` index the
/// source's unicode scalars, so a statement's text can be cut back out.
public struct Token: Sendable {
    public var kind: TokenKind
    public var lexeme: String
    public var line: Int
    public var column: Int
    public var offset: Int
    public var endOffset: Int
    /// Index of the notebook cell (`## title`) the token belongs to; 0 before the first marker.
    public var cell: Int

    /// How the token is named in error messages: `'x'`, or `end of input`.
    var quoted: String {
        switch kind {
        case .eof: return "end of input"
        case .newline: return "end of line"
        default: return "'\(lexeme)'"
        }
    }
}

/// A notebook cell introduced by a `## title` line.
public struct Cell: Sendable, Equatable {
    /// 1-based index of the cell in its file.
    public var index: Int
    public var title: String
    public var line: Int
}
