import SwapModels
import SwapTensor

// Matches TencentARC/MasaCtrl masactrl/masactrl.py (MutualSelfAttentionControl.forward,
// Cao et al. 2023 §3.2): in gated self-attention calls every query row of a CFG half attends
// to the keys and values of that half's source row, softmax(Q_tgt·K_srcᵀ/√d)·V_src; the source
// row attends to itself unchanged. The layer index is the call counter // 2
// (``AttentionLayerInfo/order`` / 2), the step index the denoising step.

/// Which classifier-free-guidance halves an attention edit touches.
public enum GuidanceHalves: String, Sendable, CaseIterable {
    /// Both halves (MasaCtrl's choice).
    case both
    /// The conditional half only (Prompt-to-Prompt's choice).
    case conditional

    func includes(_ role: GuidanceRole) -> Bool { self == .both || role == .conditional }
}

/// The gating of mutual self-attention control (official defaults: step ≥ 4, layer ≥ 10).
public struct MasaCtrlSettings: Sendable, Equatable {
    /// First controlled denoising step (MasaCtrl `start_step`, 4).
    public var startStep: Int = 4
    /// First controlled layer, as ``AttentionLayerInfo/order`` / 2 (MasaCtrl `start_layer`, 10:
    /// SD 1.x's decoder blocks at 32×32 and 64×64).
    public var startLayer: Int = 10
    /// Explicit steps / layers (MasaCtrl `step_idx` / `layer_idx`); when set they replace the
    /// ranges from ``startStep`` / ``startLayer``.
    public var stepIndices: [Int]? = nil
    public var layerIndices: [Int]? = nil
    /// The halves edited (both, as the official code).
    public var halves: GuidanceHalves = .both
    /// The branch whose keys and values the others read.
    public var sourceBranch: Int = 0

    public init(startStep: Int = 4, startLayer: Int = 10) {
        self.startStep = startStep
        self.startLayer = startLayer
    }

    /// Whether the self-attention of `layer` is controlled at `step`.
    public func controls(step: Int, layer: AttentionLayerInfo) -> Bool {
        guard layer.kind == .selfAttention else { return false }
        let index = layer.order / 2
        let stepOn = stepIndices.map { $0.contains(step) } ?? (step >= startStep)
        let layerOn = layerIndices.map { $0.contains(index) } ?? (index >= startLayer)
        return stepOn && layerOn
    }
}

extension AttentionCall {
    /// Keys and values where, in each half that `halves` includes, every row of another branch
    /// takes the `from` branch's row of the same half. Nil when no row changes.
    func copyingKeysAndValues(key: Tensor, value: Tensor, from source: Int, to targets: Set<Int>?,
                              halves: GuidanceHalves) throws -> (key: Tensor, value: Tensor)? {
        var destinations: [Int] = [], sources: [Int] = []
        for role in [GuidanceRole.unconditional, .conditional] where halves.includes(role) {
            guard let s = rows.firstIndex(of: RowRole(role, branch: source)) else { continue }
            for (i, r) in rows.enumerated() where r.guidance == role && r.branch != source && (targets?.contains(r.branch) ?? true) {
                destinations.append(i)
                sources.append(s)
            }
        }
        guard !destinations.isEmpty else { return nil }
        return (try key.replacing(axis: 0, at: destinations, with: key.indexSelect(axis: 0, sources)),
                try value.replacing(axis: 0, at: destinations, with: value.indexSelect(axis: 0, sources)))
    }
}

/// Mutual self-attention control as an attention hook: inside the gate, the target rows'
/// self-attention keys and values are the source row's (per CFG half).
public final class MutualSelfAttentionControl: StepAwareHook {
    public let settings: MasaCtrlSettings
    /// The step the next calls belong to.
    public private(set) var step = 0
    /// Controlled (step, layer path) calls so far, for inspection.
    public private(set) var controlledCalls = 0

    public init(settings: MasaCtrlSettings = MasaCtrlSettings()) { self.settings = settings }

    public func beginStep(_ index: Int) { step = index }

    public func keysAndValues(_ call: AttentionCall, query: Tensor, key: Tensor, value: Tensor) throws -> (key: Tensor, value: Tensor)? {
        guard settings.controls(step: step, layer: call.layer) else { return nil }
        let edited = try call.copyingKeysAndValues(key: key, value: value, from: settings.sourceBranch, to: nil, halves: settings.halves)
        if edited != nil { controlledCalls += 1 }
        return edited
    }

    /// The gate table: for each step, the MasaCtrl layer indices controlled (of `layers`).
    public func gateTable(steps: Int, layers: [AttentionLayerInfo]) -> [[Int]] {
        (0..<steps).map { s in layers.filter { settings.controls(step: s, layer: $0) }.map { $0.order / 2 } }
    }
}
