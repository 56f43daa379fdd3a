import SwapModels
import SwapTensor

// Attention capture as an observing hook, after Prompt-to-Prompt's AttentionStore
// (prompt-to-prompt ptp_utils / null_text notebook: only conditional rows are stored, maps with
// more than 32² queries are skipped), but kept raw per layer and per step, so that any
// aggregation (steps, resolution, place, heads, tokens) is computed on request
// (``AttentionStore/map(_:)``).

/// What the attention store keeps.
public struct AttentionCaptureSettings: Sendable, Equatable {
    /// Cross-attention maps are kept for layers whose query grid side (max of height, width)
    /// is at most this (0: none). 32 keeps SD 1.5's 32, 16 and 8 layers and skips the 64×64
    /// ones, as P2P's store does.
    public var crossMaxResolution: Int = 32
    /// Self-attention is kept for layers up to this side (0: none), summed over heads and over
    /// the captured steps (one [Lq, Lq] sum per layer and branch: bounded whatever the step count).
    public var selfMaxResolution: Int = 32
    /// Only these layer paths (nil: every layer within the resolutions above).
    public var layers: Set<String>? = nil
    /// Only these steps (nil: every step).
    public var steps: ClosedRange<Int>? = nil

    public init(crossMaxResolution: Int = 32, selfMaxResolution: Int = 32, layers: Set<String>? = nil,
                steps: ClosedRange<Int>? = nil) {
        self.crossMaxResolution = crossMaxResolution
        self.selfMaxResolution = selfMaxResolution
        self.layers = layers
        self.steps = steps
    }

    /// Captures nothing (the fused attention kernel runs).
    public static let off = AttentionCaptureSettings(crossMaxResolution: 0, selfMaxResolution: 0)

    /// Whether a layer of `kind` with a `height`×`width` query grid is kept.
    public func keeps(_ layer: AttentionLayerInfo, height: Int, width: Int) -> Bool {
        let side = max(height, width)
        if let layers, !layers.contains(layer.path) { return false }
        return layer.kind == .crossAttention ? side <= crossMaxResolution : side <= selfMaxResolution
    }

    /// Bytes stored per step for cross-attention and the fixed bytes of the self-attention
    /// sums, for one branch, given layers as (kind, query side, heads, path) and the number of
    /// prompt tokens kept per cross map. Float32 storage.
    public func storageBytes(layers: [(info: AttentionLayerInfo, side: Int)], tokens: Int) -> (crossPerStep: Int, selfTotal: Int) {
        var cross = 0, selfBytes = 0
        for (info, side) in layers where keeps(info, height: side, width: side) {
            let queries = side * side
            if info.kind == .crossAttention { cross += info.heads * queries * tokens * 4 } else { selfBytes += queries * queries * 4 }
        }
        return (cross, selfBytes)
    }
}

/// Observes the probabilities of every kept attention layer and stores, for conditional rows:
/// - cross-attention: per step, per layer and per branch, the probabilities [heads, Lq, T] over
///   the first T tokens of that branch's prompt (BOS through EOS; ``tokenCounts``);
/// - self-attention: per layer and branch, the running sum over heads and steps [Lq, Lq].
public final class AttentionStore: StepAwareHook {
    /// One stored cross-attention map.
    public struct CrossMap {
        public let layer: AttentionLayerInfo
        public let height: Int, width: Int
        /// [heads, height·width, T].
        public let probabilities: Tensor
    }

    /// A self-attention sum.
    public struct SelfSum {
        public let layer: AttentionLayerInfo
        public let height: Int, width: Int
        /// Σ over heads and steps of P, [Lq, Lq].
        public var sum: Tensor
        /// Number of (step, head) maps in the sum.
        public var count: Int
    }

    struct Key: Hashable { let layer: Int; let branch: Int }

    public var settings: AttentionCaptureSettings
    /// Tokens kept per branch (BOS through EOS of its prompt); 77 when not set.
    public var tokenCounts: [Int: Int] = [:]
    /// The step the next calls belong to.
    public private(set) var currentStep = 0
    /// Cross maps by step, then by (layer order, branch).
    private(set) var cross: [Int: [Key: CrossMap]] = [:]
    /// Self sums by (layer order, branch), and the steps they include.
    private(set) var selfSums: [Key: SelfSum] = [:]
    /// The steps the self-attention sums include.
    public private(set) var selfSteps: Set<Int> = []

    public init(settings: AttentionCaptureSettings = AttentionCaptureSettings()) {
        self.settings = settings
    }

    public func beginStep(_ index: Int) { currentStep = index }

    /// Whether this step is captured at all.
    var capturing: Bool { settings.steps?.contains(currentStep) ?? true }

    public func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess {
        capturing && settings.keeps(call.layer, height: call.height, width: call.width)
            && call.rows.contains { $0.guidance == .conditional } ? .observe : .none
    }

    public func probabilities(_ call: AttentionCall, _ probabilities: Tensor) throws -> Tensor? {
        let p = probabilities.detached()
        let heads = p.shape[1], lq = p.shape[2], lk = p.shape[3]
        var rowsByBranch: [Int: [Int]] = [:]
        for (i, role) in call.rows.enumerated() where role.guidance == .conditional { rowsByBranch[role.branch, default: []].append(i) }
        for (branch, rows) in rowsByBranch {
            let key = Key(layer: call.layer.order, branch: branch)
            var picked = try p.indexSelect(axis: 0, rows)                       // [r, H, Lq, Lk]
            if rows.count > 1 { picked = try picked.sum(axes: [0], keepDims: true) }
            if call.layer.kind == .crossAttention {
                let t = min(tokenCounts[branch] ?? lk, lk)
                let kept = try picked.sliced(axis: 3, start: 0, end: t).reshaped([heads, lq, t])
                cross[currentStep, default: [:]][key] = CrossMap(layer: call.layer, height: call.height, width: call.width,
                                                                 probabilities: kept)
            } else {
                let summed = try picked.sum(axes: [0, 1])                          // [Lq, Lk]
                if var s = selfSums[key] {
                    s.sum = try s.sum + summed
                    s.count += heads * rows.count
                    selfSums[key] = s
                } else {
                    selfSums[key] = SelfSum(layer: call.layer, height: call.height, width: call.width, sum: summed,
                                            count: heads * rows.count)
                }
                selfSteps.insert(currentStep)
            }
        }
        return nil
    }

    /// Forgets what steps ≥ `index` stored (after rewinding). Self-attention sums cannot be
    /// split by step, so they are cleared when they include such a step.
    public func truncate(toStepsBefore index: Int) {
        cross = cross.filter { $0.key < index }
        if selfSteps.contains(where: { $0 >= index }) {
            selfSums = [:]
            selfSteps = []
        }
    }

    /// Forgets everything.
    public func removeAll() {
        cross = [:]
        selfSums = [:]
        selfSteps = []
    }

    /// The steps with stored cross-attention, ascending.
    public var crossSteps: [Int] { cross.keys.sorted() }

    /// Bytes held now (tensor payloads).
    public var storedBytes: Int {
        cross.values.reduce(0) { $0 + $1.values.reduce(0) { $0 + $1.probabilities.count * 4 } }
            + selfSums.values.reduce(0) { $0 + $1.sum.count * 4 }
    }

    /// Bytes of the cross maps of one step.
    public func storedBytes(step: Int) -> Int {
        cross[step]?.values.reduce(0) { $0 + $1.probabilities.count * 4 } ?? 0
    }

    /// The stored cross maps of `step` and `branch` (for tests and custom aggregation), by layer order.
    public func crossMaps(step: Int, branch: Int = 0) -> [CrossMap] {
        (cross[step] ?? [:]).filter { $0.key.branch == branch }.sorted { $0.key.layer < $1.key.layer }.map(\.value)
    }

    /// The self-attention sums of `branch`, by layer order.
    public func selfAttentionSums(branch: Int = 0) -> [SelfSum] {
        selfSums.filter { $0.key.branch == branch }.sorted { $0.key.layer < $1.key.layer }.map(\.value)
    }
}

extension AttentionCaptureSettings {
    /// The attention layers of a UNet configuration with their query grid side for a square
    /// latent of side `latentSide`, in forward order, without loading weights (names and order
    /// as ``UNet2DConditionModel/attentionLayers``): down block i runs at side >> i, the mid
    /// block at side >> (n−1), up block i at side >> (n−1−i).
    public static func unetLayers(config c: UNetConfig, latentSide: Int) -> [(info: AttentionLayerInfo, side: Int)] {
        let n = c.blockOutChannels.count
        var out: [(info: AttentionLayerInfo, side: Int)] = []
        func add(_ place: AttentionPlace, block: Int, attentions: Int, level: Int, side: Int) {
            let depth = c.transformerLayersPerBlock[level], heads = c.attentionHeads[level]
            let channels = c.blockOutChannels[level]
            for j in 0..<attentions {
                for k in 0..<depth {
                    let base = (place == .mid ? "mid" : "\(place.rawValue).\(block)") + ".attn.\(j)" + (depth > 1 ? ".t\(k)" : "")
                    for kind in [AttentionKind.selfAttention, .crossAttention] {
                        out.append((AttentionLayerInfo(path: base + "." + kind.rawValue, place: place, kind: kind, block: block,
                                                       attention: j, transformerBlock: k, heads: heads, headDim: channels / heads,
                                                       order: out.count), side))
                    }
                }
            }
        }
        for i in 0..<n where c.downBlockTypes[i].hasPrefix("CrossAttn") {
            add(.down, block: i, attentions: c.layersPerBlock[i], level: i, side: latentSide >> i)
        }
        if c.midBlockType.contains("CrossAttn") { add(.mid, block: 0, attentions: 1, level: n - 1, side: latentSide >> (n - 1)) }
        for i in 0..<n where c.upBlockTypes[i].hasPrefix("CrossAttn") {
            add(.up, block: i, attentions: c.layersPerBlock[n - 1 - i] + 1, level: n - 1 - i, side: latentSide >> (n - 1 - i))
        }
        return out
    }
}

/// A process that captures attention: `attention(p, ...)`, `attention_grid(p)` and
/// `tokens(p)` work on any process conforming to it (sampler, P2P pair, ...).
public protocol AttentionCapturing: Process {
    /// The store (nil when capture is off).
    var attention: AttentionStore? { get }
    /// The tokenizer of the prompts (for words and token pieces).
    var tokenizer: CLIPTokenizer { get }
    /// The prompt of an edit branch (0: the sampler's prompt, or P2P's source), nil when the
    /// process has no such branch.
    func prompt(branch: Int) -> String?
}
