import SwapIO
import SwapModels
import SwapTensor

// P3S's encoder as the paper has it (§III-A, §IV-A: the patch tokens of a CLIP vision tower,
// ViT-L/14 there): the tower's per-patch hidden states after CLIP preprocessing, laid over the
// center crop the preprocessing keeps.

/// Patch features from a CLIP vision tower (`load_clip`), for `point_mask`.
public struct CLIPPatchFeatures: PatchFeatureSource {
    public let model: CLIPModel
    /// Hidden-state index (nil: the last layer; negative counts from the end).
    public let layer: Int?

    public init(model: CLIPModel, layer: Int? = nil) {
        self.model = model
        self.layer = layer
    }

    public var name: String {
        let c = model.vision.config
        return "clip ViT \(c.imageSize)px/\(c.patchSize) layer \(layer.map(String.init) ?? "last")"
    }

    public func patchFeatures(_ image: Image) throws -> PatchFeatures {
        let grid = model.vision.gridSize
        let features = try model.patchFeatures(image, layer: layer)
        return try PatchFeatures(features: features, gridHeight: grid, gridWidth: grid,
                                 region: model.preprocessing.croppedRegion(width: image.width, height: image.height))
    }
}
