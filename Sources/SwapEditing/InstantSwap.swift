import SwapModels
import SwapTensor

// InstantSwap (Zhu et al., ICLR 2025; code chenyangzhu1/InstantSwap InstantSwap.py; spec §4.5):
// DDS on the target latent with Background Gradient Masking (g zeroed outside the box's latent
// mask), Semantic-Enhanced Concept Representation (box queries of every cross-attention layer
// attend to the concept prompts) and Step-Skipping Gradient Updating (k = 5), over 550 sorted
// timesteps in 100..<900 with seed 42. Concept removal: target prompt and concept "" (§4.6);
// several concepts: one swap after another, each starting from the previous result.

/// Which of InstantSwap's parts are on (all by default; the paper's ablations switch them).
public struct InstantSwapParts: Sendable, Equatable {
    /// Background Gradient Masking.
    public var bgm = true
    /// SECR on the source branch (the "remover" concept) and on the target branch (the "adder").
    public var secrSource = true, secrTarget = true
    /// What SECR puts outside the box (the official passthrough by default).
    public var secrOutside: SECROutside = .passthrough

    public init() {}
}

/// The embeddings of one swap, each [1, 77, D].
public struct InstantSwapPrompts {
    public var null: Tensor
    public var sourcePrompt: Tensor, targetPrompt: Tensor
    public var sourceConcept: Tensor, targetConcept: Tensor

    public init(null: Tensor, sourcePrompt: Tensor, targetPrompt: Tensor, sourceConcept: Tensor, targetConcept: Tensor) {
        self.null = null
        self.sourcePrompt = sourcePrompt
        self.targetPrompt = targetPrompt
        self.sourceConcept = sourceConcept
        self.targetConcept = targetConcept
    }
}

public enum InstantSwap {
    /// The swap as a score-distillation process: SECR goes into `predictor`'s hooks (branch 0 =
    /// source, 1 = target) and BGM into the process's mask.
    ///
    /// - Parameters:
    ///   - source: z_src [1, C, h, w] of an image of `imageHeight`×`imageWidth` pixels.
    ///   - box: the concept's box in image pixels (auto_bbox or given).
    ///   - settings: `DistillationSettings(method: .instantswap)` with any changes.
    public static func makeProcess(predictor: NoisePredictor, source: Tensor, imageHeight: Int, imageWidth: Int,
                                   prompts: InstantSwapPrompts, box: PixelBox, parts: InstantSwapParts = InstantSwapParts(),
                                   settings: DistillationSettings = DistillationSettings(method: .instantswap),
                                   start: Tensor? = nil) throws -> ScoreDistillation {
        try box.check(imageHeight: imageHeight, width: imageWidth, "instantswap")
        guard source.rank == 4 else {
            throw EditingError("instantswap: source latent has shape \(formatShape(source.shape)), expected [1, C, h, w]")
        }
        let (h, w) = (source.shape[2], source.shape[3])
        guard imageHeight % h == 0, imageWidth % w == 0, imageHeight / h == imageWidth / w else {
            throw EditingError("instantswap: a \(imageWidth)x\(imageHeight) image does not match a \(w)x\(h) latent")
        }
        var concepts: [Int: Tensor] = [:]
        if parts.secrSource { concepts[0] = try Tensor.concat([prompts.null, prompts.sourceConcept], axis: 0) }
        if parts.secrTarget { concepts[1] = try Tensor.concat([prompts.null, prompts.targetConcept], axis: 0) }
        if !concepts.isEmpty {
            predictor.hooks.append(try SECRHook(box: box, imageHeight: imageHeight, imageWidth: imageWidth,
                                                concepts: concepts, outside: parts.secrOutside))
        }
        let mask = parts.bgm ? box.latentMask(latentHeight: h, latentWidth: w, scale: imageHeight / h) : nil
        var s = settings
        s.method = .instantswap
        return try ScoreDistillation(predictor: predictor, source: source,
                                     prompts: DistillationPrompts(null: prompts.null, source: prompts.sourcePrompt, target: prompts.targetPrompt),
                                     settings: s, mask: mask, start: start)
    }
}
