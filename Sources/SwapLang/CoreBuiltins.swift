import Foundation

// The "core" and "math" builtin families every interpreter has.
extension BuiltinRegistry {
    /// Registers `print`, `len`, `range`, `type`, `str`, `append`, `keys`, `assert`, `help`
    /// and the math functions.
    public func registerCoreBuiltins() {
        register("print", family: "core",
                 params: [BuiltinParam("values", variadic: true), BuiltinParam("sep", .string, default: .string(" "))],
                 doc: "Prints the values on one line, separated by `sep` (strings without quotes).",
                 example: "print(\"step\", 3, sep: \": \")") { args, ctx in
            ctx.output(args.rest("values").map(\.text).joined(separator: try args.string("sep")))
            return .nil
        }
        register("len", family: "core", params: [BuiltinParam("x", doc: "list, string, record, range or host value")],
                 doc: "Number of items in a list, characters in a string, fields in a record or elements in a range.",
                 example: "len([1, 2, 3])   # 3") { args, _ in
            let x = args["x"]
            switch x {
            case .list(let box): return .number(Double(box.items.count))
            case .string(let s): return .number(Double(s.count))
            case .record(let box): return .number(Double(box.keys.count))
            case .range(let r): return .number(Double(r.count))
            case .host(let h):
                if let n = h.length { return .number(Double(n)) }
            default: break
            }
            throw HostError("len: a \(x.typeName) has no length")
        }
        register("range", family: "core",
                 params: [BuiltinParam("start", .integer), BuiltinParam("stop", .integer, default: .nil),
                          BuiltinParam("step", .integer, default: .number(1))],
                 doc: "Half-open integer range: `range(5)` is 0..<5, `range(2, 8, 2)` is 2, 4, 6. Ranges are lazy.",
                 example: "for i in range(0, 10, 2) { print(i) }") { args, _ in
            let step = try args.int("step")
            if step == 0 { throw HostError("range: step cannot be zero") }
            if args.isNil("stop") { return .range(RangeValue(start: 0, end: try args.int("start"), inclusive: false)) }
            return .range(RangeValue(start: try args.int("start"), end: try args.int("stop"), step: step, inclusive: false))
        }
        register("type", family: "core", params: [BuiltinParam("x")],
                 doc: "The type name of a value: number, string, bool, nil, list, record, function, builtin, range, or a host kind such as tensor.",
                 example: "type(3)   # \"number\"") { args, _ in .string(args["x"].typeName) }
        register("str", family: "core", params: [BuiltinParam("x")],
                 doc: "Converts a value to its text (strings unchanged).",
                 example: "\"step \" + str(5)") { args, _ in .string(args["x"].text) }
        register("append", family: "core", params: [BuiltinParam("list", .list), BuiltinParam("value")],
                 doc: "Appends a value to a list in place.",
                 example: "xs = [1]; append(xs, 2)") { args, _ in
            guard case .list(let box) = args["list"] else { return .nil }
            if box.items.count >= Interpreter.maxCollectionSize { throw HostError("append: list too long") }
            box.items.append(args["value"])
            return .nil
        }
        register("keys", family: "core", params: [BuiltinParam("record", .record)],
                 doc: "The field names of a record, in order.",
                 example: "keys({a: 1, b: 2})   # [\"a\", \"b\"]") { args, _ in
            guard case .record(let box) = args["record"] else { return .nil }
            return .list(box.keys.map { .string($0) })
        }
        register("assert", family: "core",
                 params: [BuiltinParam("condition", .bool), BuiltinParam("message", .string, default: .string("assertion failed"))],
                 doc: "Fails with `message` unless the condition is true.",
                 example: "assert(len(xs) == 3, \"expected three items\")") { args, _ in
            guard case .bool(true) = args["condition"] else { throw HostError("assert: \(try args.string("message"))") }
            return .nil
        }
        register("help", family: "core", params: [BuiltinParam("name", default: .nil)],
                 doc: "Shows the signature, doc and example of a builtin; without a name lists builtins by family. Also `help name` and `?name`.",
                 example: "help(\"len\")") { args, ctx in
            let name: String?
            switch args["name"] {
            case .string(let s): name = s
            case .builtin(let b): name = b.name
            case .nil: name = nil
            default: name = args["name"].text
            }
            for line in ctx.registry.helpText(for: name).split(separator: "\n", omittingEmptySubsequences: false) {
                ctx.output(String(line))
            }
            return .nil
        }
        registerMathBuiltins()
    }

    private func registerMathBuiltins() {
        func unaryMath(_ name: String, _ doc: String, _ example: String,
                       _ f: @escaping (Double) throws -> Double) {
            register(name, family: "math", params: [BuiltinParam("x", .number)], doc: doc, example: example) { args, _ in
                .number(try f(try args.number("x")))
            }
        }
        unaryMath("abs", "Absolute value.", "abs(-3)   # 3") { Swift.abs($0) }
        unaryMath("floor", "Largest integer not above x.", "floor(2.7)   # 2") { $0.rounded(.down) }
        unaryMath("ceil", "Smallest integer not below x.", "ceil(2.1)   # 3") { $0.rounded(.up) }
        unaryMath("sqrt", "Square root.", "sqrt(16)   # 4") { x in
            if x < 0 { throw HostError("sqrt: negative argument \(formatNumber(x))") }
            return x.squareRoot()
        }
        unaryMath("exp", "e raised to x.", "exp(0)   # 1") { Foundation.exp($0) }
        unaryMath("log", "Natural logarithm.", "log(exp(2))   # 2") { x in
            if x <= 0 { throw HostError("log: argument must be positive, got \(formatNumber(x))") }
            return Foundation.log(x)
        }
        register("round", family: "math",
                 params: [BuiltinParam("x", .number), BuiltinParam("digits", .integer, default: .number(0))],
                 doc: "Rounds to `digits` decimal places (halves away from zero).",
                 example: "round(3.14159, digits: 2)   # 3.14") { args, _ in
            let digits = try args.int("digits")
            guard (-15...15).contains(digits) else { throw HostError("round: digits must be between -15 and 15") }
            let scale = pow(10.0, Double(digits))
            return .number((try args.number("x") * scale).rounded() / scale)
        }
        for (name, pickFirst) in [("min", true), ("max", false)] {
            register(name, family: "math", params: [BuiltinParam("values", variadic: true)],
                     doc: "The \(pickFirst ? "smallest" : "largest") of the arguments, or of one list argument.",
                     example: "\(name)(3, 1, 2)   # \(pickFirst ? 1 : 3)") { args, _ in
                var values = args.rest("values")
                if values.count == 1, case .list(let box) = values[0] { values = box.items }
                guard var best = values.first else { throw HostError("\(name): needs at least one value") }
                for v in values.dropFirst() {
                    switch (v, best) {
                    case (.number(let x), .number(let y)):
                        if pickFirst ? x < y : x > y { best = v }
                    case (.string(let x), .string(let y)):
                        if pickFirst ? x < y : x > y { best = v }
                    default:
                        throw HostError("\(name): cannot compare \(v.typeName) and \(best.typeName)")
                    }
                }
                if case .number = best {} else if case .string = best {} else {
                    throw HostError("\(name): expected numbers or strings, got \(best.typeName)")
                }
                return best
            }
        }
    }
}
