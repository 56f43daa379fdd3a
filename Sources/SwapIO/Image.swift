/// A raster image with floating-point samples in [0, 1], stored row-major as height × width ×
/// channels (HWC), plus the PNG text metadata that came with it.
///
/// Channels keep the layout the image was loaded with:
///
/// | channels | layout            | from PNG colour type                         |
/// |----------|-------------------|----------------------------------------------|
/// | 1        | gray              | gray (any bit depth)                         |
/// | 2        | gray, alpha       | gray+alpha, or gray with a tRNS colour key   |
/// | 3        | red, green, blue  | RGB, palette                                 |
/// | 4        | red, green, blue, alpha | RGBA, RGB or palette with tRNS        |
///
/// Use `converted(toChannels:)` (or `rgb` / `rgba`) to get a fixed layout. Samples from 16-bit
/// files keep their full precision (`value / 65535`). Saving writes 8-bit RGB for 1 and 3
/// channels and 8-bit RGBA for 2 and 4 channels.
public struct Image: Sendable, Equatable, CustomStringConvertible {
    /// Width in pixels (at least 1).
    public let width: Int
    /// Height in pixels (at least 1).
    public let height: Int
    /// Samples per pixel: 1 to 4, see the type's documentation.
    public let channels: Int
    /// `height * width * channels` samples in [0, 1], row-major HWC.
    public private(set) var pixels: [Float]
    /// PNG text chunks in file order (duplicates allowed). Generation settings are stored under
    /// the key `parameters`, as A1111 and ComfyUI do.
    public var metadata: [(key: String, value: String)]

    /// Creates an image from HWC samples. Throws when the sizes do not match.
    public init(width: Int, height: Int, channels: Int, pixels: [Float],
                metadata: [(key: String, value: String)] = []) throws {
        guard width >= 1, height >= 1 else {
            throw ImageError.argument("image size must be at least 1×1, got \(width)×\(height)")
        }
        guard (1...4).contains(channels) else {
            throw ImageError.argument("an image has 1 to 4 channels, got \(channels)")
        }
        let (area, overflow1) = width.multipliedReportingOverflow(by: height)
        let (count, overflow2) = area.multipliedReportingOverflow(by: channels)
        guard !overflow1, !overflow2, pixels.count == count else {
            throw ImageError.argument(
                "\(width)×\(height)×\(channels) image needs \(area &* channels) samples, got \(pixels.count)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.metadata = metadata
    }

    /// Creates an image filled with one value per channel (`fill.count` must equal `channels`,
    /// or be 1 to fill every channel with the same value).
    public init(width: Int, height: Int, channels: Int, fill: [Float] = [0]) throws {
        guard fill.count == 1 || fill.count == channels else {
            throw ImageError.argument("fill has \(fill.count) values for \(channels) channels")
        }
        guard width >= 1, height >= 1, (1...4).contains(channels),
              width <= 1 << 20, height <= 1 << 20, width * height * channels <= 1 << 30 else {
            throw ImageError.argument("invalid image size \(width)×\(height)×\(channels)")
        }
        var pixels = [Float](repeating: fill[0], count: width * height * channels)
        if fill.count > 1 {
            for i in 0..<(width * height) {
                for c in 0..<channels { pixels[i * channels + c] = fill[c] }
            }
        }
        try self.init(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Internal unchecked initialiser for callers that built a correctly sized buffer.
    init(uncheckedWidth width: Int, height: Int, channels: Int, pixels: [Float],
         metadata: [(key: String, value: String)] = []) {
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
        self.metadata = metadata
    }

    /// Whether the last channel is alpha (2 or 4 channels).
    public var hasAlpha: Bool { channels == 2 || channels == 4 }

    /// The sample at column `x`, row `y`, channel `channel`. Out-of-range indices trap, like
    /// array subscripts; check against `width`, `height`, `channels` first.
    public subscript(x x: Int, y y: Int, channel channel: Int) -> Float {
        get { pixels[(y * width + x) * channels + channel] }
        set { pixels[(y * width + x) * channels + channel] = newValue }
    }

    /// The samples of one pixel, or `nil` when (x, y) lies outside the image.
    public func pixel(x: Int, y: Int) -> [Float]? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        let start = (y * width + x) * channels
        return Array(pixels[start..<(start + channels)])
    }

    /// The first metadata value stored under `key`.
    public func metadataValue(forKey key: String) -> String? {
        metadata.first { $0.key == key }?.value
    }

    /// The generation settings (`parameters` text chunk), if any.
    public var parameters: String? { metadataValue(forKey: "parameters") }

    /// The same pixels with `transform` applied to every sample.
    public func mapSamples(_ transform: (Float) -> Float) -> Image {
        Image(uncheckedWidth: width, height: height, channels: channels,
              pixels: pixels.map(transform), metadata: metadata)
    }

    /// The image with 3 channels (gray is replicated, alpha dropped without compositing).
    public var rgb: Image { converted(toChannels: 3) }
    /// The image with 4 channels (alpha 1 added where there was none).
    public var rgba: Image { converted(toChannels: 4) }

    /// Converts between channel layouts. Colour to gray uses the Rec. 601 luma weights
    /// (0.299, 0.587, 0.114); a missing alpha becomes 1; a dropped alpha is discarded.
    /// Values outside 1...4 return the image unchanged.
    public func converted(toChannels target: Int) -> Image {
        guard target != channels, (1...4).contains(target) else { return self }
        let sourceHasAlpha = hasAlpha
        let targetHasAlpha = target == 2 || target == 4
        let sourceColor = channels >= 3
        var out = [Float](repeating: 0, count: width * height * target)
        for i in 0..<(width * height) {
            let s = i * channels
            let r = pixels[s]
            let g = sourceColor ? pixels[s + 1] : r
            let b = sourceColor ? pixels[s + 2] : r
            let a: Float = sourceHasAlpha ? pixels[s + channels - 1] : 1
            let d = i * target
            if target >= 3 {
                out[d] = r
                out[d + 1] = g
                out[d + 2] = b
            } else {
                out[d] = sourceColor ? 0.299 * r + 0.587 * g + 0.114 * b : r
            }
            if targetHasAlpha { out[d + target - 1] = a }
        }
        return Image(uncheckedWidth: width, height: height, channels: target, pixels: out,
                     metadata: metadata)
    }

    /// The image as opaque RGB, compositing any alpha over a gray `background` level.
    public func flattened(background: Float = 1) -> Image {
        let color = rgb
        guard hasAlpha else { return color }
        var out = color.pixels
        for i in 0..<(width * height) {
            let a = pixels[i * channels + channels - 1]
            for c in 0..<3 { out[i * 3 + c] = out[i * 3 + c] * a + background * (1 - a) }
        }
        return Image(uncheckedWidth: width, height: height, channels: 3, pixels: out,
                     metadata: metadata)
    }

    /// `"Image(512×512×3)"`.
    public var description: String { "Image(\(width)×\(height)×\(channels))" }

    /// Equal when size, channels, samples and metadata (in order) are equal.
    public static func == (lhs: Image, rhs: Image) -> Bool {
        lhs.width == rhs.width && lhs.height == rhs.height && lhs.channels == rhs.channels
            && lhs.pixels == rhs.pixels && lhs.metadata.count == rhs.metadata.count
            && zip(lhs.metadata, rhs.metadata).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    }
}
