import Foundation

// The `load_512` preprocessing of the prompt-to-prompt / null-text inversion notebooks, which
// DDS and InstantSwap reuse (google/prompt-to-prompt null_text_w_ptp.ipynb `load_512`): take the
// RGB channels as uint8, cut the given margins, center-crop the longer side to a square (offset
// (long − short) // 2), and resize with Pillow's default filter for RGB (bicubic) to size².
// The official margin clamps are kept as written, including `top = min(top, h − left − 1)`.

extension Image {
    /// `load_512(image, left, right, top, bottom)` with the output side `size` (512 in the
    /// official code; use the model's pixel size for other models). Samples are quantised to
    /// 8 bits first, as `np.array(Image.open(path))` holds them; alpha is dropped and gray is
    /// repeated into RGB.
    public func squareCropped(left: Int = 0, right: Int = 0, top: Int = 0, bottom: Int = 0, size: Int) throws -> Image {
        guard size >= 1, size <= 1 << 14 else { throw ImageError.argument("load_512: size must be 1…16384, got \(size)") }
        guard left >= 0, right >= 0, top >= 0, bottom >= 0 else {
            throw ImageError.argument("load_512: margins must be non-negative, got left \(left), right \(right), top \(top), bottom \(bottom)")
        }
        let source = rgb
        let (h, w) = (height, width)
        let l = min(left, w - 1)
        let r = min(right, w - l - 1)
        let t = max(0, min(top, h - l - 1))   // the notebook clamps top with left
        let b = min(bottom, h - t - 1)
        var (x0, y0, cw, ch) = (l, t, w - r - l, h - b - t)
        guard cw >= 1, ch >= 1 else { throw ImageError.argument("load_512: margins leave nothing of a \(w)×\(h) image") }
        if ch < cw {
            x0 += (cw - ch) / 2
            cw = ch
        } else if cw < ch {
            y0 += (ch - cw) / 2
            ch = cw
        }
        var out = [Float](repeating: 0, count: size * size * 3)
        for c in 0..<3 {
            var plane = [UInt8](repeating: 0, count: cw * ch)
            for y in 0..<ch {
                for x in 0..<cw {
                    let v = source.pixels[((y0 + y) * w + x0 + x) * 3 + c]
                    plane[y * cw + x] = UInt8(max(0, min(255, (v * 255).rounded())))
                }
            }
            let resized = cw == size && ch == size ? plane
                : PillowResample.bicubic(plane, width: cw, height: ch, outWidth: size, outHeight: size)
            for i in 0..<(size * size) { out[i * 3 + c] = Float(resized[i]) / 255 }
        }
        return Image(uncheckedWidth: size, height: size, channels: 3, pixels: out, metadata: metadata)
    }
}
