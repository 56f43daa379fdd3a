/// A scope of variables. Only function calls create scopes; blocks (`if`, `for`, `while`)
/// use the enclosing one, as in Python. Assignment updates the nearest enclosing *function*
/// scope that already has the name (so closures can keep counters), otherwise defines it in
/// the current scope. Functions read globals but never rebind them (no accidental clobbering
/// of a global `t` by a helper's local `t`); lists, records and host values can still be mutated.
public final class Environment {
    private(set) var values: [String: Value] = [:]
    let parent: Environment?

    init(parent: Environment? = nil) { self.parent = parent }

    func lookup(_ name: String) -> Value? {
        var env: Environment? = self
        while let e = env {
            if let v = e.values[name] { return v }
            env = e.parent
        }
        return nil
    }

    func assign(_ name: String, _ value: Value) {
        var env: Environment? = self
        while let e = env, e.parent != nil {
            if e.values[name] != nil {
                e.values[name] = value
                return
            }
            env = e.parent
        }
        values[name] = value
    }

    func define(_ name: String, _ value: Value) { values[name] = value }

    func remove(_ name: String) { values[name] = nil }

    /// Replaces every binding at once (used to roll back a failed statement).
    func restore(_ snapshot: [String: Value]) { values = snapshot }
}
