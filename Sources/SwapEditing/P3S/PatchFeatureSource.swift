import SwapIO
import SwapTensor

// The seam between P3S's point-supervised mask and whatever encodes the image into patch
// features: the paper uses CLIP ViT-L/14's patch tokens (§III-A, §IV-A); the UNet's own
// decoder features (`UNetPatchFeatures`) serve when no vision tower is loaded. Any encoder that
// yields one feature vector per cell of a grid laid over the image conforms.

/// The patch features of one image.
public struct PatchFeatures {
    /// [gridHeight·gridWidth, C], row-major over the grid (index = gy·gridWidth + gx).
    public let features: Tensor
    public let gridHeight: Int, gridWidth: Int
    /// The image rectangle the grid covers, in pixels (x0, y0, x1, y1; half-open): the whole
    /// image for the UNet, the centre crop for a CLIP encoder that crops. Cell (gx, gy) covers
    /// the cell-sized part of this rectangle.
    public let region: (x0: Double, y0: Double, x1: Double, y1: Double)

    public init(features: Tensor, gridHeight: Int, gridWidth: Int, region: (x0: Double, y0: Double, x1: Double, y1: Double)) throws {
        guard features.rank == 2, gridHeight > 0, gridWidth > 0, features.shape[0] == gridHeight * gridWidth, features.shape[1] > 0 else {
            throw EditingError("patch features: shape \(formatShape(features.shape)) is not [\(gridHeight)·\(gridWidth), C]")
        }
        guard region.x1 > region.x0, region.y1 > region.y0 else {
            throw EditingError("patch features: the covered region \(region) is empty")
        }
        self.features = features
        self.gridHeight = gridHeight
        self.gridWidth = gridWidth
        self.region = region
    }

    /// The grid cell (gx, gy) holding image pixel (x, y); nil when the pixel lies outside the
    /// covered region.
    public func cell(x: Double, y: Double) -> (gx: Int, gy: Int)? {
        let u = (x - region.x0) / (region.x1 - region.x0), v = (y - region.y0) / (region.y1 - region.y0)
        guard u >= 0, u < 1, v >= 0, v < 1 else { return nil }
        return (min(Int(u * Double(gridWidth)), gridWidth - 1), min(Int(v * Double(gridHeight)), gridHeight - 1))
    }
}

/// An encoder that turns an image into a grid of patch features (P3S's RNGR-Encoder front end).
public protocol PatchFeatureSource {
    /// Names the encoder and its settings in results, e.g. `unet up.2.attn.0.self t=150 samples=8`.
    var name: String { get }
    /// The patch features of `image`.
    func patchFeatures(_ image: Image) throws -> PatchFeatures
}
