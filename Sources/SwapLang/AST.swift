/// Binary operators that values (and host values, through `HostValue.binary`) implement.
public enum BinaryOperator: String, Sendable {
    case add = "+", subtract = "-", multiply = "*", divide = "/", modulo = "%", power = "**"
    case equal = "==", notEqual = "!=", less = "<", lessEqual = "<=", greater = ">", greaterEqual = ">="
}

/// Unary operators; `not` works on booleans only, `-` may be hooked by host values.
public enum UnaryOperator: String, Sendable {
    case negate = "-", not = "not"
}

/// An expression node with its source location.
public struct Expr: Sendable {
    public var kind: ExprKind
    public var location: SourceLocation

    public init(_ kind: ExprKind, _ location: SourceLocation) {
        self.kind = kind
        self.location = location
    }
}

/// One argument in a call: positional when `name` is nil.
public struct ArgumentExpr: Sendable {
    public var name: String?
    public var value: Expr
    public var location: SourceLocation
}

/// One subscript in `x[...]`.
public enum IndexExpr: Sendable {
    case single(Expr)
    case slice(start: Expr?, stop: Expr?, step: Expr?)
    case ellipsis
}

/// A parameter of a user function: `b: 2` has a default.
public struct ParameterDecl: Sendable {
    public var name: String
    public var defaultValue: Expr?
    public var location: SourceLocation
}

/// A user function (named `fn f() {}` or anonymous `fn(x) {}`).
public final class FunctionDecl: Sendable {
    public let name: String?
    public let parameters: [ParameterDecl]
    public let body: [Stmt]
    public let location: SourceLocation

    init(name: String?, parameters: [ParameterDecl], body: [Stmt], location: SourceLocation) {
        self.name = name
        self.parameters = parameters
        self.body = body
        self.location = location
    }
}

public indirect enum ExprKind: Sendable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case nilLiteral
    case variable(String)
    case list([Expr])
    case record([(key: String, value: Expr)])
    case unary(UnaryOperator, Expr)
    case binary(BinaryOperator, Expr, Expr)
    case and(Expr, Expr)
    case or(Expr, Expr)
    case range(Expr, Expr, inclusive: Bool)
    case call(Expr, [ArgumentExpr])
    case field(Expr, String)
    case index(Expr, [IndexExpr])
    case function(FunctionDecl)
}

/// A statement node. `cell` is the notebook cell it belongs to, `quiet` is set by a trailing
/// `;`, and `startOffset`/`endOffset` delimit its text in the source (for `:record`).
public struct Stmt: Sendable {
    public var kind: StmtKind
    public var location: SourceLocation
    public var cell: Int
    public var quiet: Bool = false
    public var startOffset: Int
    public var endOffset: Int
}

extension Stmt {
    /// Compound statements end with `}` and need no separator before the next statement.
    var endsWithBlock: Bool {
        switch kind {
        case .function, .ifElse, .whileLoop, .forLoop: return true
        default: return false
        }
    }
}

public indirect enum StmtKind: Sendable {
    case expression(Expr)
    /// `target = value`; the target is a variable, field or index expression.
    case assign(target: Expr, value: Expr)
    case function(FunctionDecl)
    case ifElse(branches: [(condition: Expr, body: [Stmt])], elseBody: [Stmt]?)
    case whileLoop(condition: Expr, body: [Stmt])
    case forLoop(variable: String, iterable: Expr, body: [Stmt])
    case returnValue(Expr?)
    case breakLoop
    case continueLoop
    /// `help`, `help name` and `?name`.
    case help(String?)
}

/// A parsed file or REPL line.
public struct Program: Sendable {
    public var statements: [Stmt]
    public var cells: [Cell]
    public var file: String
}
