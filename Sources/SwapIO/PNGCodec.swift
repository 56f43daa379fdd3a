import CPNGShim
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// PNG reading and writing through libpng (via the setjmp-guarded CPNGShim).
extension Image {
    /// Loads a PNG file.
    ///
    /// Every PNG colour type and bit depth is accepted, interlaced or not; see `Image` for the
    /// channel layout. Text chunks (tEXt, zTXt, iTXt, before or after the image data) become
    /// `metadata` in file order. Throws `ImageError` naming `path` for a missing, unreadable,
    /// truncated or damaged file; never traps on bad input.
    public static func load(_ path: String) throws -> Image {
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw ImageError(.io, file: path, reason: "is a directory, not a PNG file")
        }
        guard let file = fopen(path, "rb") else {
            let reason = String(cString: strerror(errno))
            throw ImageError(.io, file: path, reason: "cannot open file: \(reason)")
        }
        defer { fclose(file) }
        var decoded = swap_png_image()
        var message = [CChar](repeating: 0, count: 512)
        let status = swap_png_read_file(file, &decoded, &message, message.count)
        defer { swap_png_image_free(&decoded) }
        guard status == SWAP_PNG_OK else {
            throw ImageError.fromRead(status: status, message: Self.string(message), file: path)
        }
        return try Image(decoded: decoded, source: path)
    }

    /// Decodes PNG bytes held in memory. `source` names the data in error messages
    /// (default `<PNG data>`).
    public init(pngData: Data, source: String? = nil) throws {
        var decoded = swap_png_image()
        var message = [CChar](repeating: 0, count: 512)
        let status = pngData.withUnsafeBytes { raw -> swap_png_status in
            let base = raw.bindMemory(to: UInt8.self).baseAddress
            return swap_png_read_memory(base, raw.count, &decoded, &message, message.count)
        }
        defer { swap_png_image_free(&decoded) }
        guard status == SWAP_PNG_OK else {
            throw ImageError.fromRead(status: status, message: Self.string(message), file: source)
        }
        self = try Image(decoded: decoded, source: source)
    }

    /// Encodes the image as an 8-bit PNG: RGB for 1 or 3 channels, RGBA for 2 or 4.
    ///
    /// Samples are clamped to [0, 1] and rounded (`round(x * 255)`); NaN becomes 0. Each text
    /// entry of `metadata` (default: the image's own `metadata`) is written before the image
    /// data as tEXt when the value is Latin-1, otherwise as iTXt with a UTF-8 value. Keys must
    /// be 1 to 79 Latin-1 printable characters without leading, trailing or double spaces;
    /// values must not contain NUL. Throws `ImageError.Kind.invalidArgument` otherwise.
    public func pngData(metadata: [(key: String, value: String)]? = nil) throws -> Data {
        let texts = try Self.encodeTexts(metadata ?? self.metadata)
        let outChannels = hasAlpha ? 4 : 3
        let bytes = quantized8(channels: outChannels)
        var message = [CChar](repeating: 0, count: 512)
        var output: UnsafeMutablePointer<UInt8>?
        var size = 0
        let status = withCTexts(texts) { cTexts in
            bytes.withUnsafeBufferPointer { buffer in
                swap_png_write_memory(buffer.baseAddress, UInt32(clamping: width),
                                      UInt32(clamping: height), Int32(outChannels), cTexts.baseAddress,
                                      Int32(cTexts.count), &output, &size, &message, message.count)
            }
        }
        defer { swap_png_buffer_free(output) }
        guard status == SWAP_PNG_OK, let output else {
            throw ImageError(status == SWAP_PNG_ERR_ARGUMENT ? .invalidArgument : .io, file: nil,
                             reason: "cannot encode PNG: \(Self.string(message))")
        }
        return Data(bytes: output, count: size)
    }

    /// Writes the image as a PNG file (see `pngData(metadata:)` for the format), atomically:
    /// the bytes go to a temporary file in the same folder which is then renamed over `path`.
    /// On any error nothing is left behind and an existing file at `path` is untouched.
    public func save(_ path: String, metadata: [(key: String, value: String)]? = nil) throws {
        let data: Data
        do {
            data = try pngData(metadata: metadata)
        } catch let error as ImageError {
            throw ImageError(error.kind, file: path, reason: error.reason)
        }
        try AtomicFile.write(data, to: path)
    }

    // MARK: - Decoding helpers

    /// Converts the shim's 8/16-bit samples and text chunks.
    private init(decoded: swap_png_image, source: String?) throws {
        let width = Int(decoded.width)
        let height = Int(decoded.height)
        let channels = Int(decoded.channels)
        let count = width * height * channels
        let bytesPerSample = decoded.bit_depth == 16 ? 2 : 1
        guard let raw = decoded.pixels, count > 0, decoded.pixels_size == count * bytesPerSample else {
            throw ImageError(.corrupt, file: source, reason: "decoder returned an inconsistent image")
        }
        var pixels = [Float](repeating: 0, count: count)
        if bytesPerSample == 2 {
            let samples = raw.bindMemory(to: UInt16.self, capacity: count)
            for i in 0..<count { pixels[i] = Float(samples[i]) / 65535 }
        } else {
            let samples = raw.bindMemory(to: UInt8.self, capacity: count)
            for i in 0..<count { pixels[i] = Float(samples[i]) / 255 }
        }
        var metadata: [(key: String, value: String)] = []
        if let texts = decoded.texts {
            for i in 0..<Int(decoded.text_count) {
                let text = texts[i]
                guard let keyPointer = text.key, let valuePointer = text.value else { continue }
                let key = Self.latin1(UnsafeBufferPointer(start: UnsafeRawPointer(keyPointer)
                    .assumingMemoryBound(to: UInt8.self), count: strlen(keyPointer)))
                let valueBytes = UnsafeBufferPointer(
                    start: UnsafeRawPointer(valuePointer).assumingMemoryBound(to: UInt8.self),
                    count: text.value_length)
                let isUTF8 = text.kind == SWAP_PNG_TEXT_ITXT || text.kind == SWAP_PNG_TEXT_ITXT_Z
                let value = isUTF8 ? String(decoding: valueBytes, as: UTF8.self) : Self.latin1(valueBytes)
                metadata.append((key: key, value: value))
            }
        }
        self.init(uncheckedWidth: width, height: height, channels: channels, pixels: pixels,
                  metadata: metadata)
    }

    private static func latin1(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        var result = String.UnicodeScalarView()
        for byte in bytes { result.append(Unicode.Scalar(byte)) }
        return String(result)
    }

    static func string(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    // MARK: - Encoding helpers

    /// 8-bit samples with `outChannels` (3 or 4) channels, diffusers-style rounding.
    func quantized8(channels outChannels: Int) -> [UInt8] {
        let source = converted(toChannels: outChannels)
        return source.pixels.map(Self.quantize)
    }

    /// `round(clamp(x, 0, 1) * 255)`, with NaN mapped to 0.
    @inline(__always)
    static func quantize(_ x: Float) -> UInt8 {
        guard x == x else { return 0 }
        let clamped = min(max(x, 0), 1)
        return UInt8((clamped * 255).rounded())
    }

    /// One text chunk ready for the shim: NUL-terminated key and value bytes.
    struct EncodedText {
        var key: [CChar]
        var value: [CChar]
        var kind: swap_png_text_kind
    }

    static func encodeTexts(_ metadata: [(key: String, value: String)]) throws -> [EncodedText] {
        try metadata.map { entry in
            let keyScalars = Array(entry.key.unicodeScalars)
            let printable = keyScalars.allSatisfy { (0x20...0x7E).contains($0.value) || (0xA1...0xFF).contains($0.value) }
            guard (1...79).contains(keyScalars.count), printable, keyScalars.first != " ",
                  keyScalars.last != " ", !entry.key.contains("  ") else {
                throw ImageError.argument(
                    "invalid PNG text key \"\(entry.key)\": keys need 1 to 79 printable Latin-1 characters without leading, trailing or double spaces")
            }
            guard !entry.value.unicodeScalars.contains("\0") else {
                throw ImageError.argument("PNG text value for key \"\(entry.key)\" contains a NUL character")
            }
            let key = keyScalars.map { CChar(bitPattern: UInt8($0.value)) } + [0]
            if entry.value.unicodeScalars.allSatisfy({ $0.value <= 0xFF }) {
                let value = entry.value.unicodeScalars.map { CChar(bitPattern: UInt8($0.value)) } + [0]
                return EncodedText(key: key, value: value, kind: SWAP_PNG_TEXT_TEXT)
            }
            let value = entry.value.utf8.map { CChar(bitPattern: $0) } + [0]
            return EncodedText(key: key, value: value, kind: SWAP_PNG_TEXT_ITXT)
        }
    }

    /// Calls `body` with `swap_png_text` records pointing into `texts`' buffers.
    private func withCTexts<R>(_ texts: [EncodedText],
                               _ body: (UnsafeBufferPointer<swap_png_text>) throws -> R) rethrows -> R {
        // Copy every string into one stable allocation so the pointers outlive the records.
        let total = texts.reduce(0) { $0 + $1.key.count + $1.value.count }
        let storage = UnsafeMutablePointer<CChar>.allocate(capacity: max(total, 1))
        defer { storage.deallocate() }
        var records: [swap_png_text] = []
        var offset = 0
        for text in texts {
            let keyStart = storage + offset
            keyStart.initialize(from: text.key, count: text.key.count)
            offset += text.key.count
            let valueStart = storage + offset
            valueStart.initialize(from: text.value, count: text.value.count)
            offset += text.value.count
            records.append(swap_png_text(key: keyStart, value: valueStart,
                                         value_length: text.value.count - 1, kind: text.kind))
        }
        return try records.withUnsafeBufferPointer { try body($0) }
    }
}
