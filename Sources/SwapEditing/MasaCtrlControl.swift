import SwapModels
import SwapTensor

// Matches TencentARC/MasaCtrl masactrl/masactrl.py (MutualSelfAttentionControl.forward,
// Cao et al. 2023 §3.2): in gated self-attention calls every query row of a CFG half attends
// to the keys and values of that half's source row, softmax(Q_tgt·K_srcᵀ/√d)·V_src; the source
// row attends to itself unchanged. The layer index is the call counter // 2
// (``AttentionLayerInfo/order`` / 2), the step index the denoising step. The union and mask
// variants are in MasaCtrlVariants.swift.

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
    /// The attention form inside the gate (``MasaCtrlVariant``; masks for `.mask` are given to
    /// the controller).
    public var variant: MasaCtrlVariant = .replace
    /// mask_auto: token indices whose cross-attention makes the source and the target masks
    /// (MaskAuto's ref_token_idx / cur_token_idx, [1]), the threshold after min-max
    /// normalisation (0.1), and the side of the cross-attention maps read (16).
    public var sourceTokens: [Int] = [1], targetTokens: [Int] = [1]
    public var autoMaskThreshold: Float = 0.1
    public var autoMaskResolution: Int = 16

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
/// self-attention reads the source row's keys and values (per CFG half), in the form
/// ``MasaCtrlSettings/variant`` names.
public final class MutualSelfAttentionControl: StepAwareHook {
    public let settings: MasaCtrlSettings
    /// The user masks of the `.mask` variant.
    public let masks: MasaCtrlMasks?
    /// The step the next calls belong to.
    public private(set) var step = 0
    /// Controlled (step, layer path) calls so far, for inspection.
    public private(set) var controlledCalls = 0
    /// mask_auto: the masks used by the last controlled call (source keys, target queries).
    public private(set) var lastAutoMasks: MasaCtrlMasks?
    private var crossMaps = CrossAttentionAggregate()

    public init(settings: MasaCtrlSettings = MasaCtrlSettings(), masks: MasaCtrlMasks? = nil) throws {
        guard (settings.variant == .mask) == (masks != nil) else {
            throw EditingError("masactrl: the mask variant needs source and target masks, and only it takes them")
        }
        guard settings.autoMaskThreshold.isFinite, settings.autoMaskResolution > 0 else {
            throw EditingError("masactrl: the mask threshold must be finite and the mask resolution positive")
        }
        self.settings = settings
        self.masks = masks
    }

    public func beginStep(_ index: Int) {
        step = index
        crossMaps.reset()
    }

    public func keysAndValues(_ call: AttentionCall, query: Tensor, key: Tensor, value: Tensor) throws -> (key: Tensor, value: Tensor)? {
        guard settings.variant == .replace, settings.controls(step: step, layer: call.layer) else { return nil }
        let edited = try call.copyingKeysAndValues(key: key, value: value, from: settings.sourceBranch, to: nil, halves: settings.halves)
        if edited != nil { controlledCalls += 1 }
        return edited
    }

    public func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess {
        settings.variant == .maskAuto && call.layer.kind == .crossAttention
            && call.height * call.width == settings.autoMaskResolution * settings.autoMaskResolution ? .observe : .none
    }

    public func probabilities(_ call: AttentionCall, _ probabilities: Tensor) throws -> Tensor? {
        try crossMaps.record(call, probabilities)
        return nil
    }

    public func output(_ call: AttentionCall, _ output: Tensor, query: Tensor, key: Tensor, value: Tensor) throws -> Tensor? {
        guard settings.variant != .replace, settings.controls(step: step, layer: call.layer) else { return nil }
        func row(_ t: Tensor, _ i: Int) throws -> Tensor { try t.sliced(axis: 0, start: i, end: i + 1) }
        var indices: [Int] = [], rows: [Tensor] = []
        for role in [GuidanceRole.unconditional, .conditional] where settings.halves.includes(role) {
            guard let s = call.rows.firstIndex(of: RowRole(role, branch: settings.sourceBranch)) else { continue }
            for (i, r) in call.rows.enumerated() where r.guidance == role && r.branch != settings.sourceBranch {
                let q = try row(query, i)
                let edited: Tensor
                switch settings.variant {
                case .union:
                    edited = try MasaCtrlAttention.union(query: q, sourceKey: row(key, s), sourceValue: row(value, s),
                                                         ownKey: row(key, i), ownValue: row(value, i), scale: call.scale)
                case .mask, .maskAuto:
                    if let m = try masks(call, targetBranch: r.branch) {
                        edited = try MasaCtrlAttention.masked(query: q, key: row(key, s), value: row(value, s),
                                                              keyMask: m.source.resized(height: call.height, width: call.width),
                                                              queryMask: m.target.resized(height: call.height, width: call.width),
                                                              scale: call.scale)
                    } else {
                        // mask_auto before any cross-attention of the step: plain mutual attention.
                        edited = try call.attend(query: q, key: row(key, s), value: row(value, s))
                    }
                case .replace:
                    continue
                }
                indices.append(i)
                rows.append(edited)
            }
        }
        guard !indices.isEmpty else { return nil }
        controlledCalls += 1
        return try output.replacing(axis: 0, at: indices, with: Tensor.concat(rows, axis: 0))
    }

    /// The masks for a target branch: the user's, or mask_auto's from this step's cross-attention
    /// of the conditional source and target rows (nil while none was recorded).
    private func masks(_ call: AttentionCall, targetBranch: Int) throws -> MasaCtrlMasks? {
        if let masks { return masks }
        guard !crossMaps.isEmpty,
              let s = call.rows.firstIndex(of: RowRole(.conditional, branch: settings.sourceBranch)),
              let t = call.rows.firstIndex(of: RowRole(.conditional, branch: targetBranch)) else { return nil }
        let m = MasaCtrlMasks(source: try crossMaps.mask(row: s, tokens: settings.sourceTokens, threshold: settings.autoMaskThreshold),
                              target: try crossMaps.mask(row: t, tokens: settings.targetTokens, threshold: settings.autoMaskThreshold))
        lastAutoMasks = m
        return m
    }

    /// The gate table: for each step, the MasaCtrl layer indices controlled (of `layers`).
    public func gateTable(steps: Int, layers: [AttentionLayerInfo]) -> [[Int]] {
        (0..<steps).map { s in layers.filter { settings.controls(step: s, layer: $0) }.map { $0.order / 2 } }
    }
}
