import CPNGShim

/// An error from loading, saving or converting an image.
///
/// The description always names the source (a file path, or `<PNG data>` for in-memory input)
/// and says what is wrong, for example
/// `photos/cat.png: CRC error in IDAT chunk (the file is damaged)`.
public struct ImageError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Equatable, Sendable {
        /// The input has no bytes.
        case empty
        /// The input does not start with the PNG signature.
        case notPNG
        /// The data ended before the image was complete.
        case truncated
        /// A chunk's CRC does not match its contents.
        case crcMismatch(chunk: String)
        /// The PNG is malformed in some other way (invalid header, bad compressed data, ...).
        case corrupt
        /// The decoded image would be larger than the reader accepts.
        case tooLarge
        /// The file could not be opened, read, written or renamed.
        case io
        /// A value passed in is unusable (bad tensor shape, invalid metadata key, ...).
        case invalidArgument
    }

    /// What went wrong.
    public let kind: Kind
    /// The file involved, or `nil` for in-memory data.
    public let file: String?
    /// A human-readable explanation, without the file name.
    public let reason: String

    /// Creates an error.
    public init(_ kind: Kind, file: String?, reason: String) {
        self.kind = kind
        self.file = file
        self.reason = reason
    }

    /// `"<file>: <reason>"`.
    public var description: String { "\(file ?? "<PNG data>"): \(reason)" }

    /// An invalid-argument error that is not about a particular file.
    static func argument(_ reason: String) -> ImageError {
        ImageError(.invalidArgument, file: nil, reason: reason)
    }
}

extension ImageError {
    /// Builds the error for a failed shim read from its status code and libpng's message.
    static func fromRead(status: swap_png_status, message: String, file: String?) -> ImageError {
        switch status {
        case SWAP_PNG_ERR_EMPTY:
            return ImageError(.empty, file: file, reason: "file is empty (0 bytes), not a PNG file")
        case SWAP_PNG_ERR_NOT_PNG:
            return ImageError(.notPNG, file: file, reason: "not a PNG file (the PNG signature is missing)")
        case SWAP_PNG_ERR_TRUNCATED:
            return ImageError(.truncated, file: file,
                              reason: "truncated: the data ends before the image is complete")
        case SWAP_PNG_ERR_IO:
            return ImageError(.io, file: file, reason: "read error: \(message)")
        case SWAP_PNG_ERR_NO_MEMORY:
            return ImageError(.tooLarge, file: file, reason: "out of memory while decoding")
        case SWAP_PNG_ERR_TOO_LARGE:
            return ImageError(.tooLarge, file: file,
                              reason: "image too large: the decoded pixels would exceed 1 GiB")
        default:
            // libpng formats chunk errors as "IDAT: CRC error".
            if let range = message.range(of: ": CRC error") {
                let chunk = String(message[..<range.lowerBound])
                return ImageError(.crcMismatch(chunk: chunk), file: file,
                                  reason: "CRC error in \(chunk) chunk (the file is damaged)")
            }
            if message == "CRC error" {
                return ImageError(.crcMismatch(chunk: "?"), file: file,
                                  reason: "CRC error (the file is damaged)")
            }
            return ImageError(.corrupt, file: file, reason: "corrupt PNG: \(message)")
        }
    }
}
