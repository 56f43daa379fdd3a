import SwapModels
import SwapTensor

// Matches google/prompt-to-prompt prompt-to-prompt_stable.ipynb / null_text_w_ptp.ipynb
// (AttentionControlEdit.forward, AttentionReplace, AttentionRefine, AttentionReweight):
// Hertz et al. 2022, §3.2 "Edit(M_t, M*_t, t)".

/// How the edited prompt's cross-attention maps are built from the source's maps M and its
/// own maps M* (each [heads, query tokens, 77]).
public indirect enum CrossAttentionEdit {
    /// Word swap: M′ = M·W with the 77×77 matrix of ``PromptAlignment/replacementMatrix(source:target:)``.
    case replace(matrix: Tensor)
    /// Added words: M′[…, j] = α_j·M[…, mapper[j]] + (1 − α_j)·M*[…, j]
    /// (``PromptAlignment/refinement(source:target:)``).
    case refine(mapper: [Int], alphas: [Float])
    /// Attention reweighting: M′ = E(M, M*) ⊙ e over the token axis, where E is `base` (or M
    /// when nil); no renormalisation, as in the reference.
    case reweight(equalizer: [Float], base: CrossAttentionEdit?)

    /// The edited map from the source map `base` and the row's own map `own`, both [H, Lq, 77].
    public func apply(base: Tensor, own: Tensor) throws -> Tensor {
        let (h, lq, lk) = (base.shape[0], base.shape[1], base.shape[2])
        switch self {
        case .replace(let matrix):
            guard matrix.shape == [lk, lk] else {
                throw EditingError("p2p replace: the word-swap matrix is \(formatShape(matrix.shape)) for \(lk) key tokens")
            }
            return try base.reshaped([h * lq, lk]).matmul(matrix).reshaped([h, lq, lk])
        case .refine(let mapper, let alphas):
            guard mapper.count == lk, alphas.count == lk else {
                throw EditingError("p2p refine: the alignment has \(mapper.count) entries for \(lk) key tokens")
            }
            // −1 (a new token) reads the last token, as torch's negative index does; its α is 0.
            let gathered = try base.indexSelect(axis: 2, mapper.map { $0 < 0 ? lk + $0 : $0 })
            let a = Tensor(shape: [1, 1, lk], scalars: alphas)
            return try gathered * a + own * (1 - a)
        case .reweight(let equalizer, let inner):
            guard equalizer.count == lk else {
                throw EditingError("p2p reweight: the equalizer has \(equalizer.count) entries for \(lk) key tokens")
            }
            let source = try inner?.apply(base: base, own: own) ?? base
            return try source * Tensor(shape: [1, 1, lk], scalars: equalizer)
        }
    }
}

/// Prompt-to-Prompt as an attention hook: in the conditional half of a batch, the target
/// branch's attention is rebuilt from the source branch's (Hertz et al. 2022).
///
/// - Cross-attention, at every cross layer: M_new = α·Edit(M, M*) + (1 − α)·M*, with α the
///   per-token row of ``crossWindow`` for the current step (steps outside the window leave M*
///   untouched, so the hook stays out of the way there).
/// - Self-attention, for steps in ``selfWindow`` and only at layers with at most
///   ``selfMaxTokens`` query tokens: the target row takes the source row's map.
/// - Unconditional rows are never edited (the reference edits `attn[h // 2:]` only).
///
/// The step index comes from ``beginStep(_:)`` (the process calls it through its
/// ``NoisePredictor``). Maps of ``localBlend`` are accumulated after the edit, as the
/// reference's attention store (a view edited in place) holds post-edit maps.
public final class PromptToPromptController: StepAwareHook {
    public let edit: CrossAttentionEdit
    /// α[step][token]: N + 1 rows (the reference's `get_time_words_attention_alpha`).
    public let crossWindow: [[Float]]
    /// The steps whose self-attention is injected: [⌊N·lo⌋, ⌊N·hi⌋).
    public let selfWindow: Range<Int>
    /// The largest query-token count at which self-attention is injected: 16² = 256 in the
    /// Prompt-to-Prompt notebook (the default), 32² = 1024 in the null-text notebook.
    public let selfMaxTokens: Int
    /// The branch whose maps are injected (source) and the branch that receives them.
    public let sourceBranch: Int, targetBranch: Int
    /// Local blending, when configured; its accumulated maps are part of ``state``.
    public var localBlend: LocalBlend?
    /// The step the next UNet call belongs to.
    public private(set) var step = 0
    /// The settings this controller was made from (``make(_:tokenizer:steps:)``), for display.
    public internal(set) var settings: PromptToPromptSettings?

    public init(edit: CrossAttentionEdit, crossWindow: [[Float]], selfWindow: Range<Int>, selfMaxTokens: Int = 256,
                sourceBranch: Int = 0, targetBranch: Int = 1, localBlend: LocalBlend? = nil) {
        self.edit = edit
        self.crossWindow = crossWindow
        self.selfWindow = selfWindow
        self.selfMaxTokens = selfMaxTokens
        self.sourceBranch = sourceBranch
        self.targetBranch = targetBranch
        self.localBlend = localBlend
    }

    /// The controller's mutable state (the step and the local-blend sums), for snapshots.
    public var state: (step: Int, blend: LocalBlend.Maps?) {
        get { (step, localBlend?.maps) }
        set {
            step = newValue.step
            if let maps = newValue.blend { localBlend?.maps = maps }
        }
    }

    public func beginStep(_ index: Int) { step = index }

    /// The α row of the current step (the last row after the table ends).
    var crossAlpha: [Float] { crossWindow.isEmpty ? [] : crossWindow[min(max(step, 0), crossWindow.count - 1)] }

    func rows(_ call: AttentionCall) -> (source: Int, target: Int)? {
        guard let s = call.rows.firstIndex(of: RowRole(.conditional, branch: sourceBranch)),
              let t = call.rows.firstIndex(of: RowRole(.conditional, branch: targetBranch)) else { return nil }
        return (s, t)
    }

    func editsSelf(_ call: AttentionCall) -> Bool {
        call.layer.kind == .selfAttention && selfWindow.contains(step) && call.height * call.width <= selfMaxTokens
    }

    func editsCross(_ call: AttentionCall) -> Bool {
        call.layer.kind == .crossAttention && crossAlpha.contains { $0 != 0 }
    }

    public func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess {
        guard rows(call) != nil else { return .none }
        if editsSelf(call) || editsCross(call) { return .replace }
        if let blend = localBlend, blend.collects(call) { return .observe }
        return .none
    }

    public func probabilities(_ call: AttentionCall, _ p: Tensor) throws -> Tensor? {
        guard let r = rows(call) else { return nil }
        let (s, t) = r
        var result: Tensor? = nil
        if editsSelf(call) {
            result = try p.replacing(axis: 0, at: [t], with: p.sliced(axis: 0, start: s, end: s + 1))
        } else if editsCross(call) {
            let alpha = crossAlpha
            guard alpha.count == p.shape[3] else {
                throw EditingError("p2p: the cross window has \(alpha.count) tokens, the layer \(call.layer.path) has \(p.shape[3]) keys")
            }
            let base = try p.sliced(axis: 0, start: s, end: s + 1).reshaped(Array(p.shape.dropFirst()))
            let own = try p.sliced(axis: 0, start: t, end: t + 1).reshaped(Array(p.shape.dropFirst()))
            let a = Tensor(shape: [1, 1, alpha.count], scalars: alpha)
            let mixed = try edit.apply(base: base, own: own) * a + own * (1 - a)
            result = try p.replacing(axis: 0, at: [t], with: mixed.unsqueezed(0))
        }
        if let blend = localBlend, blend.collects(call) {
            try blend.collect(call, result ?? p, rows: [s, t])
        }
        return result
    }
}
