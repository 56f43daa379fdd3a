/// The static check pass (`swapscript check`): undefined variables where statically knowable,
/// `return` outside a function, `break`/`continue` outside a loop, duplicate parameter names,
/// and arity errors for direct calls of registered builtins.
///
/// Scoping matches the interpreter: only functions open scopes. A name counts as defined if it
/// is a parameter or assigned anywhere in the enclosing function scopes, assigned anywhere at
/// the top level of the file, a known global of the session, or a builtin.
struct Resolver {
    let source: SourceText
    let registry: BuiltinRegistry
    let knownGlobals: Set<String>
    /// REPL mode: function bodies may use globals that later lines define.
    let laxFunctionGlobals: Bool

    private var diagnostics: [Diagnostic] = []
    private var scopes: [Set<String>] = []
    private var topLevel: Set<String> = []
    private var loopDepth = 0
    private var functionDepth = 0

    init(source: SourceText, registry: BuiltinRegistry, knownGlobals: Set<String>, laxFunctionGlobals: Bool) {
        self.source = source
        self.registry = registry
        self.knownGlobals = knownGlobals
        self.laxFunctionGlobals = laxFunctionGlobals
    }

    mutating func resolve(_ program: Program) -> [Diagnostic] {
        topLevel = Resolver.assignedNames(program.statements).union(knownGlobals).union(["_"])
        scopes = [topLevel]
        statements(program.statements)
        return diagnostics
    }

    /// Names bound by a statement list without entering nested functions.
    static func assignedNames(_ stmts: [Stmt]) -> Set<String> {
        var names: Set<String> = []
        func visit(_ body: [Stmt]) {
            for s in body {
                switch s.kind {
                case .assign(let target, _):
                    if case .variable(let n) = target.kind { names.insert(n) }
                case .function(let d): if let n = d.name { names.insert(n) }
                case .forLoop(let v, _, let b): names.insert(v); visit(b)
                case .whileLoop(_, let b): visit(b)
                case .ifElse(let branches, let e):
                    branches.forEach { visit($0.body) }
                    if let e { visit(e) }
                default: break
                }
            }
        }
        visit(stmts)
        return names
    }

    private mutating func error(_ message: String, _ loc: SourceLocation) {
        diagnostics.append(source.diagnostic(message, line: loc.line, column: loc.column))
    }

    private func isDefined(_ name: String) -> Bool {
        if registry.lookup(name) != nil { return true }
        if scopes.contains(where: { $0.contains(name) }) { return true }
        return functionDepth > 0 && laxFunctionGlobals
    }

    // MARK: - Statements

    private mutating func statements(_ body: [Stmt]) {
        for s in body { statement(s) }
    }

    private mutating func statement(_ s: Stmt) {
        switch s.kind {
        case .expression(let e): expr(e)
        case .assign(let target, let value):
            expr(value)
            switch target.kind {
            case .variable: break
            case .field(let o, _): expr(o)
            case .index(let o, let items): expr(o); indexItems(items)
            default: error("cannot assign to this expression", target.location)
            }
        case .function(let decl): function(decl)
        case .ifElse(let branches, let elseBody):
            for b in branches { expr(b.condition); statements(b.body) }
            if let e = elseBody { statements(e) }
        case .whileLoop(let c, let body):
            expr(c)
            loop(body)
        case .forLoop(_, let iterable, let body):
            expr(iterable)
            loop(body)
        case .returnValue(let e):
            if functionDepth == 0 { error("'return' outside a function", s.location) }
            if let e { expr(e) }
        case .breakLoop:
            if loopDepth == 0 { error("'break' outside a loop", s.location) }
        case .continueLoop:
            if loopDepth == 0 { error("'continue' outside a loop", s.location) }
        case .help: break
        }
    }

    private mutating func loop(_ body: [Stmt]) {
        loopDepth += 1
        statements(body)
        loopDepth -= 1
    }

    private mutating func function(_ decl: FunctionDecl) {
        var seen: Set<String> = []
        for p in decl.parameters {
            if !seen.insert(p.name).inserted {
                error("duplicate parameter '\(p.name)' in \(decl.name.map { "function '\($0)'" } ?? "function")", p.location)
            }
        }
        let savedLoop = loopDepth
        loopDepth = 0
        functionDepth += 1
        scopes.append(seen.union(Resolver.assignedNames(decl.body)))
        for p in decl.parameters { if let d = p.defaultValue { expr(d) } }
        statements(decl.body)
        scopes.removeLast()
        functionDepth -= 1
        loopDepth = savedLoop
    }

    // MARK: - Expressions

    private mutating func indexItems(_ items: [IndexExpr]) {
        for item in items {
            switch item {
            case .single(let e): expr(e)
            case .slice(let a, let b, let c):
                for x in [a, b, c] { if let x { expr(x) } }
            case .ellipsis: break
            }
        }
    }

    private mutating func expr(_ e: Expr) {
        switch e.kind {
        case .number, .string, .bool, .nilLiteral: break
        case .variable(let name):
            if !isDefined(name) { error("undefined variable '\(name)'", e.location) }
        case .list(let items): items.forEach { expr($0) }
        case .record(let entries): entries.forEach { expr($0.value) }
        case .unary(_, let x): expr(x)
        case .binary(_, let a, let b), .and(let a, let b), .or(let a, let b), .range(let a, let b, _):
            expr(a)
            expr(b)
        case .call(let callee, let args):
            expr(callee)
            args.forEach { expr($0.value) }
            checkArity(callee, args, at: e.location)
        case .field(let o, _): expr(o)
        case .index(let o, let items): expr(o); indexItems(items)
        case .function(let decl): function(decl)
        }
    }

    /// Direct calls of a builtin that no script binding shadows are checked against its signature.
    private mutating func checkArity(_ callee: Expr, _ args: [ArgumentExpr], at loc: SourceLocation) {
        guard case .variable(let name) = callee.kind, let builtin = registry.lookup(name),
              !scopes.contains(where: { $0.contains(name) }) else { return }
        var positional = 0
        var named: [String] = []
        for a in args {
            if let n = a.name {
                named.append(n)
            } else if !named.isEmpty {
                error("positional argument after named arguments", a.location)
                return
            } else {
                positional += 1
            }
        }
        if let message = builtin.signature.checkArity(positional: positional, named: named) {
            error(message, loc)
        }
    }
}
