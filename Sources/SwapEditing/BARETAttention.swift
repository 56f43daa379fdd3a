import SwapModels
import SwapTensor

// BARET's Balanced Attention Module (Qiao et al. 2024, §BAM, equations 4–5 as reconstructed in
// shared/spec/baret-p2p-nulltext-masactrl.md §8.3): inside the injection windows the editing
// branch's self-attention uses the reconstruction branch's keys and values,
// softmax(Q_edit·K_recᵀ/√d)·V_rec (MasaCtrl-style), and its cross-attention uses the transition
// branch's attention map with its own values, softmax(Q_trans·K_transᵀ/√d)·V_edit (P2P-style).
// Windows cover the first τ fraction of the steps. Layer sets, CFG halves and the self-attention
// mode are choices the paper leaves open [I]; each is a setting.

/// The branches of a BARET run, as ``RowRole/branch`` numbers.
public enum BaretBranch: Int, CaseIterable, Sendable {
    case reconstruction = 0, transition = 1, editing = 2

    public var name: String { ["reconstruction", "transition", "editing"][rawValue] }
}

/// Which self-attention layers the module injects at [I].
public enum BaretLayerPreset: String, Sendable, CaseIterable {
    /// Every self-attention layer (the default [I]).
    case all
    /// MasaCtrl's set: layer index (order / 2) ≥ 10 (SD 1.x's 32×32 and 64×64 decoder blocks).
    case masactrl
    /// Prompt-to-Prompt's: layers with at most 16² queries.
    case p2p16
    /// The null-text notebook's: at most 32² queries.
    case p2p32

    func includes(_ layer: AttentionLayerInfo, queries: Int) -> Bool {
        switch self {
        case .all: return true
        case .masactrl: return layer.order / 2 >= 10
        case .p2p16: return queries <= 256
        case .p2p32: return queries <= 1024
        }
    }
}

/// How the reconstruction's self-attention reaches the editing branch [I].
public enum BaretSelfAttentionMode: String, Sendable, CaseIterable {
    /// K and V are the reconstruction's (equation 4 as reconstructed; MasaCtrl-style).
    case keysValues = "kv"
    /// The attention map is the reconstruction's, the values the editing branch's own (P2P-style).
    case map
}

/// Which text the editing process runs under [I]. The paper's sentence "we define DDIM process under
/// C_t as the reconstruction process, DDIM under ê_t as the transition process, and DDIM under ·
/// as the editing process" lost its symbols in extraction; the spec (§8.3) reads e_tgt.
public enum BaretEditCondition: String, Sendable, CaseIterable {
    /// The editing branch is conditioned on e_tgt (the spec's default).
    case target
    /// The editing branch is conditioned on ê_i, and e_tgt reaches it only through equation 5's
    /// V_edit = W_V·e_tgt inside the cross-attention window: outside the window its cross-attention
    /// keys and values are the transition branch's. With λ ≡ 1 and no injection the editing branch
    /// is then the reconstruction, bit for bit.
    case transition
}

/// The settings of the Balanced Attention Module (defaults: τ_SA 0.3, τ_CA 0.6, every layer,
/// K/V self-attention in both halves, cross maps in the conditional half).
public struct BalancedAttentionSettings: Sendable, Equatable {
    /// Fraction of the first steps with self-attention injection (τ_SA).
    public var selfInject: Double = 0.3
    /// Fraction of the first steps with cross-attention map injection (τ_CA).
    public var crossInject: Double = 0.6
    public var selfLayers: BaretLayerPreset = .all
    public var selfMode: BaretSelfAttentionMode = .keysValues
    public var selfHalves: GuidanceHalves = .both
    public var crossHalves: GuidanceHalves = .conditional
    public var editCondition: BaretEditCondition = .target

    public init(selfInject: Double = 0.3, crossInject: Double = 0.6) {
        self.selfInject = selfInject
        self.crossInject = crossInject
    }

    /// The steps with self / cross injection: [0, ⌊τ·N⌋).
    public func selfWindow(steps: Int) -> Range<Int> { 0..<Int(Double(steps) * selfInject) }
    public func crossWindow(steps: Int) -> Range<Int> { 0..<Int(Double(steps) * crossInject) }

    func validate() throws {
        for (name, f) in [("self_inject", selfInject), ("cross_inject", crossInject)] where !(f.isFinite && f >= 0 && f <= 1) {
            throw EditingError("baret: \(name) must be a fraction in [0, 1], got \(f)")
        }
    }
}

/// The Balanced Attention Module as an attention hook over the batch
/// [u_rec, u_trans, u_edit, c_rec, c_trans, c_edit].
public final class BalancedAttentionController: StepAwareHook {
    public let settings: BalancedAttentionSettings
    public let steps: Int
    public private(set) var step = 0

    public init(settings: BalancedAttentionSettings, steps: Int) {
        self.settings = settings
        self.steps = steps
    }

    public func beginStep(_ index: Int) { step = index }

    func injectsSelf(_ call: AttentionCall) -> Bool {
        call.layer.kind == .selfAttention && settings.selfWindow(steps: steps).contains(step)
            && settings.selfLayers.includes(call.layer, queries: call.height * call.width)
    }

    func injectsCross(_ call: AttentionCall) -> Bool {
        call.layer.kind == .crossAttention && settings.crossWindow(steps: steps).contains(step)
    }

    /// Which sites are active at the current step: (self layer paths, cross layer paths).
    public func gates(layers: [AttentionLayerInfo], side: (AttentionLayerInfo) -> Int) -> (selfLayers: [String], crossLayers: [String]) {
        let s = settings.selfWindow(steps: steps).contains(step)
            ? layers.filter { $0.kind == .selfAttention && settings.selfLayers.includes($0, queries: side($0) * side($0)) }.map(\.path) : []
        let c = settings.crossWindow(steps: steps).contains(step) ? layers.filter { $0.kind == .crossAttention }.map(\.path) : []
        return (s, c)
    }

    public func keysAndValues(_ call: AttentionCall, query: Tensor, key: Tensor, value: Tensor) throws -> (key: Tensor, value: Tensor)? {
        if call.layer.kind == .crossAttention {
            // The "transition" reading: outside the cross window the editing branch reads ê_i.
            guard settings.editCondition == .transition, !injectsCross(call) else { return nil }
            return try call.copyingKeysAndValues(key: key, value: value, from: BaretBranch.transition.rawValue,
                                                 to: [BaretBranch.editing.rawValue], halves: .conditional)
        }
        guard settings.selfMode == .keysValues, injectsSelf(call) else { return nil }
        return try call.copyingKeysAndValues(key: key, value: value, from: BaretBranch.reconstruction.rawValue,
                                             to: [BaretBranch.editing.rawValue], halves: settings.selfHalves)
    }

    public func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess {
        injectsCross(call) || (settings.selfMode == .map && injectsSelf(call)) ? .replace : .none
    }

    public func probabilities(_ call: AttentionCall, _ probabilities: Tensor) throws -> Tensor? {
        let (from, halves): (BaretBranch, GuidanceHalves)
        if injectsCross(call) {
            (from, halves) = (.transition, settings.crossHalves)
        } else if settings.selfMode == .map, injectsSelf(call) {
            (from, halves) = (.reconstruction, settings.selfHalves)
        } else {
            return nil
        }
        var destinations: [Int] = [], sources: [Int] = []
        for role in [GuidanceRole.unconditional, .conditional] where halves.includes(role) {
            guard let s = call.rows.firstIndex(of: RowRole(role, branch: from.rawValue)),
                  let d = call.rows.firstIndex(of: RowRole(role, branch: BaretBranch.editing.rawValue)) else { continue }
            destinations.append(d)
            sources.append(s)
        }
        guard !destinations.isEmpty else { return nil }
        return try probabilities.replacing(axis: 0, at: destinations, with: probabilities.indexSelect(axis: 0, sources))
    }
}
