import SwapEditing
import SwapIO
import SwapLang
import SwapModels
import SwapTensor

// The "attention" family: maps aggregated on request from a process's attention store
// (Prompt-to-Prompt's aggregate_attention), their pictures, P2P's per-token display
// (show_cross_attention: each token's map divided by its max, enlarged, captioned), and tokens.

/// An aggregated attention map as the language sees it: tensor-like ([res, res] values; it
/// can be indexed, used in arithmetic and passed wherever a tensor goes) with a summary saying
/// how it was made.
///
/// - Display: `attention cross 16x16  tokens [2]  steps 0-49  5 layers x 8 heads  min … max …`.
/// - Fields: `values` (the tensor), `shape`, `kind`, `tokens`, `steps`, `res`, `layers`, `heads`.
public final class AttentionMapValue: HostValue {
    public let map: AttentionMap
    /// The word it was asked for, if any.
    public let word: String?
    /// The `parameters` pairs of the process it came from (model, prompt, seed, ...).
    let source: [(String, String)]

    init(_ map: AttentionMap, word: String?, source: [(String, String)]) {
        self.map = map
        self.word = word
        self.source = source
    }

    public var kindName: String { "attention" }
    public var summary: String { map.summary + (word.map { "  word \"\($0)\"" } ?? "") }
    public var fieldNames: [String] { ["values", "shape", "kind", "tokens", "steps", "res", "layers", "heads"] }
    public var length: Int? { map.values.shape[0] }

    public func field(_ name: String) throws -> Value? {
        switch name {
        case "values": return .tensor(map.values)
        case "shape": return .list(map.values.shape.map { .number(Double($0)) })
        case "kind": return .string(map.kind.rawValue)
        case "tokens": return .list(map.tokens.map { .number(Double($0)) })
        case "steps": return .list(map.steps.map { .number(Double($0)) })
        case "res": return .number(Double(map.resolution))
        case "layers": return .list(map.layers.map { .string($0) })
        case "heads": return .number(Double(map.heads))
        default: return nil
        }
    }

    public func index(_ items: [IndexItem]) throws -> Value { try TensorValue(map.values).index(items) }

    public func binary(_ op: BinaryOperator, _ other: Value, selfOnLeft: Bool) throws -> Value? {
        try TensorValue(map.values).binary(op, other, selfOnLeft: selfOnLeft)
    }

    public func unary(_ op: UnaryOperator) throws -> Value? { try TensorValue(map.values).unary(op) }

    /// `Key: value` pairs for the `parameters` of a picture of this map.
    var parameters: [(String, String)] {
        var pairs = source + [("Attention", "\(map.kind.rawValue) \(map.resolution)x\(map.resolution)"),
                     ("Attention steps", describeSteps(map.steps)),
                     ("Attention layers", "\(map.layers.count)")]
        if map.kind == .crossAttention { pairs.append(("Attention tokens", map.tokens.map(String.init).joined(separator: " "))) }
        if let word { pairs.append(("Attention word", word)) }
        return pairs
    }
}

enum AttentionBuiltins {
    /// The attention-capturing process inside a value.
    static func capturing(_ v: Value, _ op: String) throws -> (ProcessValue, any AttentionCapturing) {
        guard case .host(let h as ProcessValue) = v else {
            throw HostError("\(op): expects a process that captures attention (from sample, sdedit, p2p, ...), got \(v.typeName)")
        }
        guard let p = h.process as? any AttentionCapturing else {
            throw HostError("\(op): a \(h.kindName) does not capture attention")
        }
        return (h, p)
    }

    /// `steps: 3`, `steps: 0..10` (inclusive), `0..<10`, `[lo, hi]`; nil when not given.
    static func steps(_ v: Value, _ op: String) throws -> ClosedRange<Int>? {
        switch v {
        case .nil: return nil
        case .number:
            guard let n = Convert.int(v), n >= 0 else { throw HostError("\(op): steps must be a step index ≥ 0 or a range, got \(v.summary)") }
            return n...n
        case .range(let r):
            let end = r.inclusive ? r.end : r.end - 1
            guard r.step == 1, r.start >= 0, end >= r.start else {
                throw HostError("\(op): steps must be a non-empty increasing range of step indices, got \(r)")
            }
            return r.start...end
        case .list(let box):
            guard box.items.count == 2, let lo = Convert.int(box.items[0]), let hi = Convert.int(box.items[1]), lo >= 0, hi >= lo else {
                throw HostError("\(op): steps must be a range a..b or [a, b] with 0 ≤ a ≤ b, got \(v.summary)")
            }
            return lo...hi
        default:
            throw HostError("\(op): steps must be a step index or a range, got \(v.typeName)")
        }
    }

    static func places(_ v: Value, _ op: String) throws -> Set<AttentionPlace> {
        let names: [Value]
        if case .list(let box) = v { names = box.items } else { names = [v] }
        var out = Set<AttentionPlace>()
        for n in names {
            guard case .string(let s) = n, s == "all" || AttentionPlace(rawValue: s) != nil else {
                throw HostError("\(op): place must be \"up\", \"down\", \"mid\" or \"all\" (or a list of them), got \(n.summary)")
            }
            if s == "all" { out.formUnion(AttentionPlace.allCases) } else if let p = AttentionPlace(rawValue: s) { out.insert(p) }
        }
        guard !out.isEmpty else { throw HostError("\(op): place must not be empty") }
        return out
    }

    static func kind(_ v: Value, _ op: String) throws -> AttentionKind {
        guard case .string(let s) = v, let k = AttentionKind(rawValue: s) else {
            throw HostError("\(op): kind must be \"cross\" or \"self\", got \(v.summary)")
        }
        return k
    }

    /// An integer or a list of integers; nil when not given.
    static func indices(_ v: Value, _ op: String, _ name: String) throws -> [Int]? {
        if case .nil = v { return nil }
        if let n = Convert.int(v) { return [n] }
        guard case .list = v else { throw HostError("\(op): \(name) must be an integer or a list of integers, got \(v.typeName)") }
        let list = try Convert.ints(v, op, name)
        guard !list.isEmpty else { throw HostError("\(op): \(name) must not be empty") }
        return list
    }

    static func resolution(_ v: Value, _ op: String) throws -> Int? {
        if case .nil = v { return nil }
        guard let r = Convert.int(v) else { throw HostError("\(op): res must be 8, 16, 32 or 64, got \(v.summary)") }
        guard AttentionQuery.resolutions.contains(r) else { throw HostError("\(op): res must be 8, 16, 32 or 64, got \(r)") }
        return r
    }

    /// The branch's prompt, or an error naming the branches.
    static func prompt(_ p: any AttentionCapturing, branch: Int, _ op: String) throws -> String {
        guard let text = p.prompt(branch: branch) else { throw HostError("\(op): the \(p.kindName) has no branch \(branch)") }
        return text
    }

    /// (index, piece) of the prompt's tokens, BOS through EOS.
    static func tokens(_ p: any AttentionCapturing, branch: Int, _ op: String) throws -> [(Int, String)] {
        let text = try prompt(p, branch: branch, op)
        let (ids, pieces) = p.tokenizer.tokenize(text)
        let count = (ids.firstIndex(of: p.tokenizer.eosID) ?? (ids.count - 1)) + 1
        return (0..<count).map { ($0, pieces[$0]) }
    }

    /// A P2P-style tile: the map divided by its max, gray, enlarged bilinearly to `size`.
    static func tile(_ values: Tensor, size: Int) throws -> Image {
        let peak = values.scalars.filter(\.isFinite).max() ?? 0
        let scaled = peak > 0 ? values * (1 / peak) : values * 0
        let map = try Heatmap(tensor: scaled).resized(width: size, height: size)
        let gray = map.values.map { $0.isNaN ? 0 : Swift.min(Swift.max($0, 0), 1) }
        return try Image(width: size, height: size, channels: 1, pixels: gray).rgb
    }
}

extension BuiltinRegistry {
    /// Registers `attention` (process form; tensor arguments go to the tensor builtin),
    /// `attention_grid` and `tokens`.
    func registerAttentionBuiltins(_ ws: Workspace) {
        let tensorAttention = lookup("attention")
        register("attention", family: "attention",
                 params: [BuiltinParam("source", doc: "a process that captured attention (or queries q [B, Lq, D] for plain tensor attention)"),
                          BuiltinParam("k", default: .nil, doc: "tensor form only: keys [B, Lk, D]"),
                          BuiltinParam("v", default: .nil, doc: "tensor form only: values [B, Lk, Dv]"),
                          BuiltinParam("scale", default: .nil, doc: "tensor form only: default 1/√D"),
                          BuiltinParam("word", .string, default: .nil, doc: "a word of the prompt; its sub-tokens are averaged"),
                          BuiltinParam("token", default: .nil, doc: "token index (or list); for kind \"self\": query pixel y·res + x (default: all queries)"),
                          BuiltinParam("steps", default: .nil, doc: "a step index or range a..b (default: every captured step)"),
                          BuiltinParam("res", default: .nil, doc: "8, 16, 32 or 64 (default: 16 when captured, else the nearest captured)"),
                          BuiltinParam("place", default: .string("all"), doc: "\"up\", \"down\", \"mid\", \"all\" or a list"),
                          BuiltinParam("kind", .string, default: .string("cross"), doc: "\"cross\" or \"self\""),
                          BuiltinParam("heads", default: .nil, doc: "head index or list (default: all)"),
                          BuiltinParam("branch", .integer, default: .number(0), doc: "edit branch (0: the prompt, or P2P's source)")],
                 doc: "The captured attention of a process averaged over steps, layers at res×res, heads and the word's tokens (Prompt-to-Prompt's aggregate_attention), as a [res, res] map. With tensors, attention(q, k, v, scale:) is scaled dot-product attention returning {output, probabilities}.",
                 example: "a = attention(s, word: \"circle\", res: 16, steps: 0..20); heatmap(a)") { args, ctx in
            if case .host(let h) = args["source"], h is TensorValue {
                guard let tensorAttention else { throw HostError("attention: tensor attention is not available") }
                for name in ["word", "token", "steps", "res", "heads"] where !args.isNil(name) {
                    throw HostError("attention: '\(name)' applies to a process, not to tensors q, k, v")
                }
                var named: [(name: String, value: Value)] = []
                if !args.isNil("scale") { named.append(("scale", args["scale"])) }
                return try ctx.call(.builtin(tensorAttention), Arguments(positional: [args["source"], args["k"], args["v"]], named: named))
            }
            let op = "attention"
            for name in ["k", "v", "scale"] where !args.isNil(name) {
                throw HostError("attention: '\(name)' applies to tensor attention, not to a process")
            }
            let (pv, p) = try AttentionBuiltins.capturing(args["source"], op)
            guard let store = p.attention else { throw HostError("attention: the \(p.kindName) was made with capture: false") }
            let branch = try args.int("branch")
            let kind = try AttentionBuiltins.kind(args["kind"], op)
            var tokens = try AttentionBuiltins.indices(args["token"], op, "token") ?? []
            var word: String? = nil
            if !args.isNil("word") {
                guard kind == .crossAttention else { throw HostError("attention: word applies to cross-attention") }
                guard args.isNil("token") else { throw HostError("attention: give word or token, not both") }
                let w = try args.string("word")
                let text = try AttentionBuiltins.prompt(p, branch: branch, op)
                tokens = p.tokenizer.tokenIndices(of: w, in: text)
                guard !tokens.isEmpty else { throw HostError("attention: \"\(w)\" is not a word of the prompt \"\(text)\"") }
                word = w
            }
            if kind == .crossAttention && tokens.isEmpty { throw HostError("attention: give a word or a token index for cross-attention") }
            let query = AttentionQuery(kind: kind, tokens: tokens, steps: try AttentionBuiltins.steps(args["steps"], op),
                                       resolution: try AttentionBuiltins.resolution(args["res"], op),
                                       places: try AttentionBuiltins.places(args["place"], op),
                                       heads: try AttentionBuiltins.indices(args["heads"], op, "heads"), branch: branch)
            let map = try ProcessBuiltins.drive(op) { try store.map(query) }
            return .host(AttentionMapValue(map, word: word, source: pv.parametersSource()))
        }
        register("attention_grid", family: "attention",
                 params: [BuiltinParam("p", doc: "a process that captured attention"),
                          BuiltinParam("res", default: .nil, doc: "8, 16, 32 or 64 (default: 16 when captured)"),
                          BuiltinParam("steps", default: .nil, doc: "a step index or range (default: every captured step)"),
                          BuiltinParam("place", default: .string("all"), doc: "\"up\", \"down\", \"mid\", \"all\" or a list"),
                          BuiltinParam("size", .integer, default: .number(256), doc: "tile side in pixels"),
                          BuiltinParam("branch", .integer, default: .number(0))],
                 doc: "Prompt-to-Prompt's cross-attention display: one tile per prompt token (BOS through EOS), each map divided by its max and enlarged, captioned with the token; written as a PNG.",
                 example: "attention_grid(s, res: 16)") { args, ctx in
            let op = "attention_grid"
            let (pv, p) = try AttentionBuiltins.capturing(args["p"], op)
            guard let store = p.attention else { throw HostError("attention_grid: the \(p.kindName) was made with capture: false") }
            let size = try args.int("size")
            guard (8...1024).contains(size) else { throw HostError("attention_grid: size must be between 8 and 1024, got \(size)") }
            let branch = try args.int("branch")
            let tokens = try AttentionBuiltins.tokens(p, branch: branch, op)
            let steps = try AttentionBuiltins.steps(args["steps"], op)
            let res = try AttentionBuiltins.resolution(args["res"], op)
            let places = try AttentionBuiltins.places(args["place"], op)
            var tiles: [Image] = []
            var last: AttentionMap? = nil
            for (index, _) in tokens {
                let map = try ProcessBuiltins.drive(op) {
                    try store.map(AttentionQuery(tokens: [index], steps: steps, resolution: res, places: places, branch: branch))
                }
                tiles.append(try Convert.engine(op) { try AttentionBuiltins.tile(map.values, size: size) })
                last = map
            }
            let captions = tokens.map { $0.1 }
            let picture = try Convert.engine(op) { try grid(tiles, columns: tiles.count, captions: captions, padding: 4) }
            var extra = [("Attention", "cross \(last?.resolution ?? 0)x\(last?.resolution ?? 0)"),
                         ("Attention steps", describeSteps(last?.steps ?? []))]
            extra = pv.parametersSource() + extra
            return try ws.publish(picture, builtin: op, context: ctx, extra: extra)
        }
        register("tokens", family: "attention",
                 params: [BuiltinParam("p", doc: "a process that captured attention"), BuiltinParam("branch", .integer, default: .number(0))],
                 doc: "The prompt's tokens as the attention store indexes them: a list of {index, piece} from BOS (0) through EOS.",
                 example: "for tk in tokens(s) { print(tk.index, tk.piece) }") { args, _ in
            let (_, p) = try AttentionBuiltins.capturing(args["p"], "tokens")
            let list = try AttentionBuiltins.tokens(p, branch: try args.int("branch"), "tokens")
            return .list(list.map { .record([("index", .number(Double($0.0))), ("piece", .string($0.1))]) })
        }
    }
}
