import SwapIO
import SwapModels
import SwapPipeline
import SwapSchedulers
import SwapTensor

// The attention half of InstantSwap's automatic bounding box (get_bbox.py + utils/auto_bbox.py;
// spec §4.1 steps 1–3): for each pass timestep, a fresh ε, z_t = α_t·z + σ_t·ε, one CFG-batched
// UNet call with [E(""), E(source prompt)]; the attention probabilities of the layers with the
// chosen query grid are averaged over layers, heads and both CFG halves.

/// Sums attention probabilities of one grid size over layers, heads and rows.
final class AttentionAverager: AttentionHook {
    let gridHeight: Int, gridWidth: Int
    let conditionalOnly: Bool
    var crossSum: Tensor?, selfSum: Tensor?
    var crossCount = 0, selfCount = 0

    init(gridHeight: Int, gridWidth: Int, conditionalOnly: Bool) {
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.conditionalOnly = conditionalOnly
    }

    func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess {
        call.height == gridHeight && call.width == gridWidth ? .observe : .none
    }

    func probabilities(_ call: AttentionCall, _ probabilities: Tensor) throws -> Tensor? {
        guard call.height == gridHeight, call.width == gridWidth else { return nil }
        let rows = conditionalOnly ? call.rowIndices { $0.guidance == .conditional } : Array(0..<call.batch)
        let p = try probabilities.indexSelect(axis: 0, rows)              // [b, H, Lq, Lk]
        let slices = p.shape[0] * p.shape[1]
        let sum = try p.reshaped([slices, p.shape[2], p.shape[3]]).sum(axes: [0])
        if call.layer.kind == .crossAttention {
            crossSum = try crossSum.map { try $0 + sum } ?? sum
            crossCount += slices
        } else {
            selfSum = try selfSum.map { try $0 + sum } ?? sum
            selfCount += slices
        }
        return nil
    }
}

/// The automatic bounding box of a concept word in an image, from the model's attention.
public struct AutoBoxResult {
    /// The box in image pixels (rows/cols min ..< max of the union of the passes' masks).
    public let box: PixelBox
    /// Each pass's map and mask, in pass order.
    public let passes: [AutoBoxPass]
    /// The attention grid used.
    public let gridHeight: Int, gridWidth: Int
}

extension AutoBoundingBox {
    /// The downsampling levels of a model's attention layers (0 = latent resolution).
    static func attentionLevels(_ model: StableDiffusion) -> [Int] {
        let n = model.unet.config.blockOutChannels.count
        let levels = model.unet.attentionLayers.map { info in
            info.place == .mid ? n - 1 : info.place == .down ? info.block : n - 1 - info.block
        }
        return Array(Set(levels)).sorted()
    }

    /// The grid side at `level` for a latent side (each downsampler: ⌈s/2⌉).
    static func side(_ latentSide: Int, level: Int) -> Int { (0..<level).reduce(latentSide) { r, _ in (r + 1) / 2 } }

    /// Runs the attention passes on `latent` (z, [1, C, h, w]) and extracts the box of token
    /// `token` for an image of `imageHeight`×`imageWidth`.
    ///
    /// - Parameters:
    ///   - grid: the attention grid width (nil: the coarsest grid at least latent width / 4,
    ///     which is the official 16×16 for a 64×64 latent).
    ///   - seed: the seed of the passes' noise (Philox stream = pass index).
    public static func find(predictor: NoisePredictor, latent: Tensor, prompt: Tensor, null: Tensor, token: Int,
                            imageHeight: Int, imageWidth: Int, grid: Int? = nil, settings: AutoBoxSettings = AutoBoxSettings(),
                            seed: UInt64 = 0) throws -> AutoBoxResult {
        let model = predictor.model
        guard latent.rank == 4, latent.shape[0] == 1 else {
            throw EditingError("auto_bbox: latent has shape \(formatShape(latent.shape)), expected [1, C, h, w]")
        }
        guard !settings.timesteps.isEmpty, settings.timesteps.allSatisfy({ (0..<1000).contains($0) }) else {
            throw EditingError("auto_bbox: pass timesteps must be in 0..<1000")
        }
        guard token >= 0, token < prompt.shape[1] else {
            throw EditingError("auto_bbox: token index \(token) outside 0..<\(prompt.shape[1])")
        }
        let (h, w) = (latent.shape[2], latent.shape[3])
        let levels = attentionLevels(model)
        let available = levels.map { side(w, level: $0) }
        let level: Int
        if let grid {
            guard let k = available.firstIndex(of: grid) else {
                throw EditingError("auto_bbox: no attention layer has a grid of width \(grid) (available: \(available.map(String.init).joined(separator: ", ")))")
            }
            level = levels[k]
        } else {
            guard !levels.isEmpty else { throw EditingError("auto_bbox: the model has no attention layers") }
            // The 16×16 layers of a 64×64 latent; else the finest grid coarser than that, else the coarsest.
            level = levels.last { side(w, level: $0) >= w / 4 } ?? levels.last!
        }
        let (gridHeight, gridWidth) = (side(h, level: level), side(w, level: level))
        let cumulative = NoiseSchedule(config: try StableDiffusionPipeline(model: model).schedulerConfig(.ddpm)).alphasCumprod
        let saved = predictor.hooks
        defer { predictor.hooks = saved }
        var passes: [AutoBoxPass] = []
        for (k, t) in settings.timesteps.enumerated() {
            var generator = PhiloxGenerator(seed: seed, stream: UInt64(k))
            let eps = generator.randn(latent.shape)
            let zt = try latent * cumulative[t].squareRoot() + eps * (1 - cumulative[t]).squareRoot()
            let averager = AttentionAverager(gridHeight: gridHeight, gridWidth: gridWidth, conditionalOnly: settings.conditionalOnly)
            predictor.hooks = saved + [averager]
            // Only the attention is used, so the CFG combination (scale 3 in get_bbox.sh) is not formed.
            _ = try predictor.predict([PredictionRow(latent: zt, timestep: Float(t), embedding: null, role: .unconditional),
                                       PredictionRow(latent: zt, timestep: Float(t), embedding: prompt, role: .conditional)])
            guard let cross = averager.crossSum, let selfA = averager.selfSum else {
                throw EditingError("auto_bbox: no self- and cross-attention at the \(gridWidth)x\(gridHeight) grid")
            }
            let map = try tokenMap(crossAttention: cross / Float(averager.crossCount), selfAttention: selfA / Float(averager.selfCount),
                                   token: token, exponent: settings.exponent)
            let (resized, mask) = passMask(map, gridHeight: gridHeight, gridWidth: gridWidth, imageHeight: imageHeight,
                                           imageWidth: imageWidth, settings: settings)
            passes.append(AutoBoxPass(timestep: t, map: try Heatmap(width: gridWidth, height: gridHeight, values: map),
                                      resized: resized, mask: mask))
        }
        guard let box = box(union: passes.map(\.mask), width: imageWidth, height: imageHeight) else {
            throw EditingError("auto_bbox: the attention of token \(token) gave an empty mask")
        }
        return AutoBoxResult(box: box, passes: passes, gridHeight: gridHeight, gridWidth: gridWidth)
    }
}
