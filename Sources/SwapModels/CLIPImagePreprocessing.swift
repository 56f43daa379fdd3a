import SwapIO
import SwapTensor

// matches: transformers CLIPImageProcessorPil (image_processing_pil_clip.py with the PIL backend):
// convert to RGB, resize the shortest edge to `size` with Pillow's bicubic filter on uint8
// pixels, center crop, rescale by 1/255, normalise with the OpenAI CLIP mean and std.

/// CLIP's image preprocessing, from an image to the pixels the vision tower takes.
public struct CLIPImagePreprocessing: Sendable, Equatable {
    /// OpenAI CLIP's per-channel mean (transformers `OPENAI_CLIP_MEAN`).
    public static let openAIMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    /// OpenAI CLIP's per-channel standard deviation (transformers `OPENAI_CLIP_STD`).
    public static let openAIStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// The shortest edge after resizing (`size["shortest_edge"]`).
    public var shortestEdge: Int
    /// The side of the square center crop (`crop_size`).
    public var cropSize: Int
    public var mean: [Float]
    public var std: [Float]

    public init(shortestEdge: Int, cropSize: Int, mean: [Float] = openAIMean, std: [Float] = openAIStd) {
        self.shortestEdge = shortestEdge
        self.cropSize = cropSize
        self.mean = mean
        self.std = std
    }

    /// The preprocessing a vision tower of `config` expects (both sizes `imageSize`).
    public init(config: CLIPVisionConfig) {
        self.init(shortestEdge: config.imageSize, cropSize: config.imageSize)
    }

    /// The resized size (width, height): the shorter side becomes `shortestEdge`, the longer
    /// `Int(shortestEdge · long / short)` (truncated, as transformers' `get_resize_output_image_size`).
    public func resizedSize(width: Int, height: Int) -> (width: Int, height: Int) {
        let short = Swift.min(width, height), long = Swift.max(width, height)
        let newLong = Int(Double(shortestEdge) * Double(long) / Double(short))
        return width <= height ? (shortestEdge, newLong) : (newLong, shortestEdge)
    }

    /// The part of a `width`×`height` image the center crop keeps, in the image's own pixels
    /// (x0, y0, x1, y1; half-open, fractional where the resize scales).
    public func croppedRegion(width: Int, height: Int) -> (x0: Double, y0: Double, x1: Double, y1: Double) {
        let (outW, outH) = resizedSize(width: width, height: height)
        let top = (outH - cropSize) / 2, left = (outW - cropSize) / 2
        let sx = Double(width) / Double(outW), sy = Double(height) / Double(outH)
        return (Double(left) * sx, Double(top) * sy, Double(left + cropSize) * sx, Double(top + cropSize) * sy)
    }

    /// The normalised pixels [1, 3, cropSize, cropSize] of `image` (gray and alpha images are
    /// converted to RGB first; alpha is dropped, as PIL's `convert("RGB")`). Pixel values are
    /// quantised to 8 bits before resizing, as the PIL backend works on uint8 images.
    public func pixels(_ image: Image) throws -> Tensor {
        guard image.width > 0, image.height > 0 else {
            throw TensorError("clip_preprocess", "the image is empty (\(image.width)x\(image.height))")
        }
        guard shortestEdge > 0, cropSize > 0, cropSize <= shortestEdge, mean.count == 3, std.count == 3,
              std.allSatisfy({ $0 != 0 }) else {
            throw TensorError("clip_preprocess", "invalid settings: shortest edge \(shortestEdge), crop \(cropSize), mean \(mean), std \(std)")
        }
        let rgb = image.rgb
        let (w, h) = (rgb.width, rgb.height)
        let (outW, outH) = resizedSize(width: w, height: h)
        let top = (outH - cropSize) / 2, left = (outW - cropSize) / 2
        var values = [Float](repeating: 0, count: 3 * cropSize * cropSize)
        for channel in 0..<3 {
            var plane = [UInt8](repeating: 0, count: w * h)
            for i in 0..<(w * h) {
                let v = rgb.pixels[i * 3 + channel]
                plane[i] = UInt8((Swift.min(Swift.max(v, 0), 1) * 255).rounded())
            }
            let resized = (outW, outH) == (w, h)
                ? plane : PillowResample.bicubic(plane, width: w, height: h, outWidth: outW, outHeight: outH)
            let (shift, spread) = (mean[channel], std[channel])
            for y in 0..<cropSize {
                for x in 0..<cropSize {
                    let v = Float(resized[(y + top) * outW + x + left]) / 255
                    values[(channel * cropSize + y) * cropSize + x] = (v - shift) / spread
                }
            }
        }
        return Tensor(shape: [1, 3, cropSize, cropSize], scalars: values)
    }
}
