import SwapTensor

/// ShapesWorld's training split as a `TrainingSceneSource`: scene `seed` of `.train` (the held-out
/// shape, pattern and colour–shape pairs never appear), resized when the recipe's image size is
/// not ShapesWorld's 64 (the tiny test recipe trains on 16x16 versions).
public struct ShapesWorldSource: TrainingSceneSource {
    public let imageSize: Int

    public init(imageSize: Int = ShapesWorld.size) { self.imageSize = imageSize }

    public var vocabulary: [String] { ShapesWorld.vocabulary }

    public func scene(seed: UInt64, objects: ClosedRange<Int>) throws -> (image: Tensor, caption: String) {
        let scene = ShapesWorld.scene(seed: seed, split: .train, objects: objects)
        guard imageSize != scene.image.shape[2] else { return (scene.image, scene.caption) }
        let resized = try scene.image.unsqueezed(0).resizedBilinear(height: imageSize, width: imageSize)
        return (try resized.reshaped([3, imageSize, imageSize]), scene.caption)
    }
}
