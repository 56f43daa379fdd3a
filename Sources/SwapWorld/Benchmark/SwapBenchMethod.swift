import Foundation
import SwapEditing
import SwapModels
import SwapTensor

// The methods of `swapscript bench swap` and how each performs one swap with its official
// defaults (spec instantswap-sds-dds-cds.md; prompt-to-prompt / null-text notebooks).

/// A method (or ablation) of the benchmark, in the order of InstantSwap's Tables 1, 4 and 5.
public enum SwapBenchMethod: String, CaseIterable, Sendable {
    case sds, dds, cds
    /// Null-text inversion (50 DDIM steps, 10 inner iterations), then Prompt-to-Prompt
    /// (replace when the prompts have equal word counts, else refine; cross 0.8, self 0.4).
    case p2pNullText = "p2p_nti"
    /// InstantSwap with BGM, SECR and SSGU k = 5 (the full method; also the k = 5 row).
    case instantswap
    case instantswapNoBGM = "instantswap_no_bgm"
    case instantswapNoSECR = "instantswap_no_secr"
    case instantswapK1 = "instantswap_k1"
    case instantswapK2 = "instantswap_k2"
    case instantswapK10 = "instantswap_k10"

    /// The name the table prints.
    public var label: String {
        switch self {
        case .sds: return "SDS"
        case .dds: return "DDS"
        case .cds: return "CDS"
        case .p2pNullText: return "P2P + null-text"
        case .instantswap: return "InstantSwap (k=5)"
        case .instantswapNoBGM: return "InstantSwap w/o BGM"
        case .instantswapNoSECR: return "InstantSwap w/o SECR"
        case .instantswapK1: return "InstantSwap SSGU k=1"
        case .instantswapK2: return "InstantSwap SSGU k=2"
        case .instantswapK10: return "InstantSwap SSGU k=10"
        }
    }

    /// Parses a comma-separated list of method names ("all" for every method).
    public static func parseList(_ text: String) throws -> [SwapBenchMethod] {
        if text == "all" { return allCases }
        return try text.split(separator: ",").map { name in
            guard let m = SwapBenchMethod(rawValue: String(name).trimmingCharacters(in: .whitespaces)) else {
                throw WorldError("bench swap", "unknown method \"\(name)\"; methods: \(allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return m
        }
    }
}

/// The inputs of one swap.
public struct SwapBenchSwap {
    public var model: StableDiffusion
    /// The source image [1, 3, H, W] in [0, 1].
    public var source: Tensor
    public var sourcePrompt: String, targetPrompt: String
    /// SECR's concept prompts ("yellow dotted heart" → "yellow dotted <cross>").
    public var sourceConcept: String, targetConcept: String
    public var box: PixelBox
}

extension SwapBenchMethod {
    /// Runs the swap and returns the edited image [1, 3, H, W] in [0, 1] and the UNet calls made.
    public func run(_ swap: SwapBenchSwap, config: SwapBenchConfig) throws -> (image: Tensor, unetCalls: Int) {
        let m = swap.model
        let pixels = swap.source * 2 - 1
        let (height, width) = (swap.source.shape[2], swap.source.shape[3])
        func embed(_ text: String) throws -> Tensor { try m.textEncoder.promptEmbeddings([m.tokenizer.encode(text)]) }
        func decode(_ latent: Tensor) throws -> Tensor {
            try GradMode.withoutGradient { try (m.vae.decode(latent * (1 / m.vae.scalingFactor)) + 1) * 0.5 }
        }
        func settings(_ method: DistillationMethod, ssgu: Int? = nil) -> DistillationSettings {
            var s = DistillationSettings(method: method)
            if let iterations = config.iterations { s.iterations = iterations }
            if let ssgu { s.ssgu = ssgu }
            return s
        }

        if self == .p2pNullText {
            let steps = config.p2pSteps ?? 50
            let setup = try GradMode.withoutGradient {
                try InversionSetup(model: m, image: pixels, prompt: swap.sourcePrompt, steps: steps, op: "bench swap")
            }
            let ddim = try DDIMInversion(setup: setup)
            _ = try GradMode.withoutGradient { try ddim.run(.detached) }
            let nti = try NullTextInversion(setup: setup, pivot: ddim.result,
                                            settings: NullTextSettings(inner: config.ntiInner ?? 10))
            _ = try nti.run(.detached)
            let wordCount = { (s: String) in s.split(separator: " ").count }
            var p2p = PromptToPromptSettings(source: swap.sourcePrompt, target: swap.targetPrompt,
                                             mode: wordCount(swap.sourcePrompt) == wordCount(swap.targetPrompt) ? .replace : .refine)
            p2p.steps = steps
            let pair = try PromptToPromptPair(model: m, settings: p2p, inversion: nti.result)
            _ = try GradMode.withoutGradient { try pair.run(.detached) }
            let images = try pair.images().chunked(2, axis: 0)
            return ((images[1] + 1) * 0.5, nti.predictor.unetCalls + pair.predictor.unetCalls + ddim.predictor.unetCalls)
        }

        let latent = try GradMode.withoutGradient { try m.vae.encode(pixels).mean * m.vae.scalingFactor }
        let process: ScoreDistillation
        switch self {
        case .sds, .dds, .cds:
            let method: DistillationMethod = self == .sds ? .sds : self == .dds ? .dds : .cds
            let prompts = DistillationPrompts(null: try embed(""), source: method == .sds ? nil : try embed(swap.sourcePrompt),
                                              target: try embed(swap.targetPrompt))
            process = try ScoreDistillation(predictor: NoisePredictor(model: m), source: latent, prompts: prompts,
                                            settings: settings(method))
        default:
            var parts = InstantSwapParts()
            var k: Int? = nil
            switch self {
            case .instantswapNoBGM: parts.bgm = false
            case .instantswapNoSECR: parts.secrSource = false; parts.secrTarget = false
            case .instantswapK1: k = 1
            case .instantswapK2: k = 2
            case .instantswapK10: k = 10
            default: break
            }
            let prompts = InstantSwapPrompts(null: try embed(""), sourcePrompt: try embed(swap.sourcePrompt),
                                             targetPrompt: try embed(swap.targetPrompt),
                                             sourceConcept: try embed(swap.sourceConcept), targetConcept: try embed(swap.targetConcept))
            process = try InstantSwap.makeProcess(predictor: NoisePredictor(model: m), source: latent, imageHeight: height,
                                                  imageWidth: width, prompts: prompts, box: swap.box, parts: parts,
                                                  settings: settings(.instantswap, ssgu: k))
        }
        // CDS back-propagates through the UNet's features; the others need no gradient.
        if self == .cds {
            _ = try process.run(.detached)
        } else {
            _ = try GradMode.withoutGradient { try process.run(.detached) }
        }
        return (try decode(process.state.latent), process.predictor.unetCalls)
    }
}
