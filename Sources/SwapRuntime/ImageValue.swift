import SwapIO
import SwapLang
import SwapTensor

/// An image as the language sees it: an opaque host value wrapping a `SwapIO.Image`.
///
/// - Display: `image 64x64 RGB` (plus the file it was written to or loaded from).
/// - Fields: `width`, `height`, `channels`, `metadata` (a record of the PNG text chunks),
///   `path` (the file it came from or was written to, or nil).
/// - Methods: `tensor(range: [0, 1])` gives a [1, C, H, W] tensor whose values span `range`.
/// - `==` compares size, channels, pixels and metadata.
public final class ImageValue: HostValue {
    /// The wrapped image.
    public let image: Image
    /// The file the image was loaded from or written to.
    public let path: String?
    /// True when a builtin of this session made the image (its `parameters` describe that call).
    public let madeHere: Bool

    public init(_ image: Image, path: String? = nil, madeHere: Bool = false) {
        self.image = image
        self.path = path
        self.madeHere = madeHere
    }

    /// "gray", "gray+alpha", "RGB" or "RGBA".
    public var layoutName: String {
        switch image.channels {
        case 1: return "gray"
        case 2: return "gray+alpha"
        case 3: return "RGB"
        default: return "RGBA"
        }
    }

    public var kindName: String { "image" }
    public var summary: String {
        "image \(image.width)x\(image.height) \(layoutName)" + (path.map { "  \($0)" } ?? "")
    }
    public var fieldNames: [String] { ["width", "height", "channels", "metadata", "path"] }
    public var methodNames: [String] { ["tensor"] }

    public func field(_ name: String) throws -> Value? {
        switch name {
        case "width": return .number(Double(image.width))
        case "height": return .number(Double(image.height))
        case "channels": return .number(Double(image.channels))
        case "path": return path.map { .string($0) } ?? .nil
        case "metadata":
            var pairs: [(String, Value)] = []
            for (key, value) in image.metadata where !pairs.contains(where: { $0.0 == key }) {
                pairs.append((key, .string(value)))
            }
            return .record(pairs)
        default: return nil
        }
    }

    public func callMethod(_ name: String, arguments: Arguments, context: CallContext) throws -> Value? {
        guard name == "tensor" else { return nil }
        let args = try Signature(name: "image.tensor", params: [
            BuiltinParam("range", .list, default: .list([.number(0), .number(1)]), doc: "[lo, hi] the pixel range maps to"),
        ]).bind(arguments)
        let (lo, hi) = try ImageBuiltins.rangeBounds(args["range"], "image.tensor")
        let unit = image.tensor(range: .zeroToOne)
        return .tensor(unit * Float(hi - lo) + Float(lo))
    }

    public func isEqual(to other: any HostValue) -> Bool {
        guard let o = other as? ImageValue else { return false }
        return o === self || o.image == image
    }
}
