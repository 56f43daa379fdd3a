import SwapModels
import SwapTensor

// Aggregation on request, as Prompt-to-Prompt's aggregate_attention (ptp_utils /
// null_text_w_ptp.ipynb): take the stored maps whose query grid is res×res in the chosen
// places, and average them over steps, layers, heads and the chosen tokens. The stored maps
// are raw, so any selection can be made after the run.

/// Which stored attention to aggregate into one map.
public struct AttentionQuery: Sendable {
    public var kind: AttentionKind = .crossAttention
    /// Cross: the token indices whose maps are averaged (a word's sub-tokens). Self: the query
    /// pixels (y·res + x) whose rows are averaged; empty averages every query.
    public var tokens: [Int] = []
    /// Steps to average (nil: every captured step).
    public var steps: ClosedRange<Int>? = nil
    /// Query grid side: 8, 16, 32 or 64 (nil: 16 when captured, else the captured side nearest 16).
    public var resolution: Int? = nil
    public var places: Set<AttentionPlace> = Set(AttentionPlace.allCases)
    /// Heads to average (nil: all).
    public var heads: [Int]? = nil
    /// The edit branch (0 for a plain sampler).
    public var branch: Int = 0

    public init(kind: AttentionKind = .crossAttention, tokens: [Int] = [], steps: ClosedRange<Int>? = nil,
                resolution: Int? = nil, places: Set<AttentionPlace> = Set(AttentionPlace.allCases), heads: [Int]? = nil,
                branch: Int = 0) {
        self.kind = kind
        self.tokens = tokens
        self.steps = steps
        self.resolution = resolution
        self.places = places
        self.heads = heads
        self.branch = branch
    }

    /// The resolutions a query may name.
    public static let resolutions = [8, 16, 32, 64]
}

/// An aggregated attention map: [height, width] values and how they were made.
public struct AttentionMap: Sendable {
    /// [height, width]; for cross-attention, the mean probability of the chosen tokens.
    public let values: Tensor
    public let kind: AttentionKind
    public let tokens: [Int]
    /// The steps averaged.
    public let steps: [Int]
    public let resolution: Int
    /// The layer paths averaged.
    public let layers: [String]
    public let heads: Int

    /// `attention cross 16x16  tokens [2]  steps 0-49  10 layers x 8 heads  min 0.01 max 0.2`.
    public var summary: String {
        let s = values.summary
        let stepText = describeSteps(steps)
        let tokenText = kind == .crossAttention ? "tokens \(tokens)" : (tokens.isEmpty ? "all queries" : "queries \(tokens)")
        return "attention \(kind.rawValue) \(resolution)x\(resolution)  \(tokenText)  steps \(stepText)  "
            + "\(layers.count) layer\(layers.count == 1 ? "" : "s") x \(heads) head\(heads == 1 ? "" : "s")  "
            + "min \(shortNumber(s.min)) max \(shortNumber(s.max))"
    }
}

func shortNumber(_ x: Float) -> String {
    let a = abs(x)
    return a != 0 && (a < 1e-3 || a >= 1e4) ? String(format: "%.3g", x) : String(format: "%.4f", x)
}

extension AttentionStore {
    /// The query grid sides captured for `kind` and `branch`.
    public func capturedResolutions(_ kind: AttentionKind, branch: Int = 0) -> [Int] {
        var sides = Set<Int>()
        if kind == .crossAttention {
            for maps in cross.values { for (key, m) in maps where key.branch == branch { sides.insert(max(m.height, m.width)) } }
        } else {
            for (key, s) in selfSums where key.branch == branch { sides.insert(max(s.height, s.width)) }
        }
        return sides.sorted()
    }

    /// Aggregates stored maps into one [res, res] map; errors name what is available.
    public func map(_ query: AttentionQuery) throws -> AttentionMap {
        let kindName = query.kind.rawValue
        if let r = query.resolution, !AttentionQuery.resolutions.contains(r) {
            throw EditingError("attention: res must be 8, 16, 32 or 64, got \(r)")
        }
        let available = capturedResolutions(query.kind, branch: query.branch)
        guard !available.isEmpty else {
            throw EditingError("attention: no \(kindName)-attention was captured" + (query.branch == 0 ? "" : " for branch \(query.branch)")
                               + " (run some steps first, or check the capture settings)")
        }
        let res = query.resolution ?? (available.contains(16) ? 16 : available.min { abs($0 - 16) < abs($1 - 16) }!)
        guard available.contains(res) else {
            throw EditingError("attention: no \(kindName)-attention at \(res)x\(res) was captured; captured: "
                               + available.map { "\($0)" }.joined(separator: ", "))
        }
        return query.kind == .crossAttention ? try crossMap(query, res: res) : try selfMap(query, res: res)
    }

    private func crossMap(_ query: AttentionQuery, res: Int) throws -> AttentionMap {
        let captured = crossSteps.filter { step in cross[step]?.keys.contains { $0.branch == query.branch } ?? false }
        let steps = try selectSteps(captured, query.steps)
        guard !query.tokens.isEmpty else { throw EditingError("attention: cross-attention needs a token or a word") }
        var total: Tensor? = nil
        var layers: [String] = [], count = 0, headCount = 0, size = (0, 0)
        for step in steps {
            for m in crossMaps(step: step, branch: query.branch)
            where max(m.height, m.width) == res && query.places.contains(m.layer.place) {
                let heads = m.probabilities.shape[0], t = m.probabilities.shape[2]
                let chosenHeads = try checkHeads(query.heads, heads)
                for k in query.tokens where k < 0 || k >= t {
                    throw EditingError("attention: token \(k) is outside the \(t) captured tokens (0..<\(t): BOS, the prompt, EOS)")
                }
                let picked = try m.probabilities.indexSelect(axis: 0, chosenHeads).indexSelect(axis: 2, query.tokens)
                let summed = try picked.sum(axes: [0, 2])                   // [Lq]
                total = try total.map { try $0 + summed } ?? summed
                count += chosenHeads.count * query.tokens.count
                headCount = chosenHeads.count
                size = (m.height, m.width)
                if !layers.contains(m.layer.path) { layers.append(m.layer.path) }
            }
        }
        guard let total, count > 0 else {
            throw EditingError("attention: no cross-attention layer at \(res)x\(res) in "
                               + query.places.map(\.rawValue).sorted().joined(separator: "/"))
        }
        let values = try (total * (1 / Float(count))).reshaped([size.0, size.1])
        return AttentionMap(values: values, kind: .crossAttention, tokens: query.tokens, steps: steps, resolution: res,
                            layers: layers, heads: headCount)
    }

    private func selfMap(_ query: AttentionQuery, res: Int) throws -> AttentionMap {
        if query.heads != nil {
            throw EditingError("attention: self-attention is stored summed over heads; leave heads out")
        }
        let covered = selfSteps.sorted()
        if let range = query.steps, Set(range) != selfSteps {
            throw EditingError("attention: self-attention is stored summed over the steps it covers (\(describeSteps(covered))); "
                               + "ask without steps, or for exactly those steps")
        }
        var total: Tensor? = nil
        var layers: [String] = [], count = 0, size = (0, 0)
        for s in selfAttentionSums(branch: query.branch) where max(s.height, s.width) == res && query.places.contains(s.layer.place) {
            let lq = s.sum.shape[0]
            for q in query.tokens where q < 0 || q >= lq {
                throw EditingError("attention: query pixel \(q) is outside 0..<\(lq) (\(s.height)x\(s.width))")
            }
            let rows = query.tokens.isEmpty ? s.sum : try s.sum.indexSelect(axis: 0, query.tokens)
            let summed = try rows.sum(axes: [0])                                // [Lk]
            total = try total.map { try $0 + summed } ?? summed
            count += s.count * (query.tokens.isEmpty ? lq : query.tokens.count)
            size = (s.height, s.width)
            layers.append(s.layer.path)
        }
        guard let total, count > 0 else {
            throw EditingError("attention: no self-attention layer at \(res)x\(res) in "
                               + query.places.map(\.rawValue).sorted().joined(separator: "/"))
        }
        let values = try (total * (1 / Float(count))).reshaped([size.0, size.1])
        return AttentionMap(values: values, kind: .selfAttention, tokens: query.tokens, steps: covered, resolution: res,
                            layers: layers, heads: 0)
    }

    private func selectSteps(_ captured: [Int], _ range: ClosedRange<Int>?) throws -> [Int] {
        guard let range else { return captured }
        let chosen = captured.filter { range.contains($0) }
        guard !chosen.isEmpty else {
            throw EditingError("attention: steps \(range.lowerBound)...\(range.upperBound) were not captured; captured: \(describeSteps(captured))")
        }
        return chosen
    }

    private func checkHeads(_ heads: [Int]?, _ count: Int) throws -> [Int] {
        guard let heads else { return Array(0..<count) }
        guard !heads.isEmpty else { throw EditingError("attention: heads must not be empty") }
        for h in heads where h < 0 || h >= count {
            throw EditingError("attention: head \(h) is outside 0..<\(count)")
        }
        return heads
    }
}

/// `0-49`, `3, 7`, `none`.
public func describeSteps(_ steps: [Int]) -> String {
    guard let first = steps.first, let last = steps.last else { return "none" }
    if steps.count == last - first + 1 { return first == last ? "\(first)" : "\(first)-\(last)" }
    return steps.map(String.init).joined(separator: ", ")
}
