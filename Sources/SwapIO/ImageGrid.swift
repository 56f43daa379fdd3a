/// Arranges images in a grid, optionally with a caption under each tile.
///
/// Every cell is as large as the largest image; smaller images are centred in their cell.
/// Images with alpha are composited over `background`; the result is always RGB (3 channels).
/// Captions are drawn with `BitmapFont` in black on a light background (white on a dark one),
/// centred under the tile and shortened with ".." when wider than the cell. The font is drawn
/// at `captionScale`, which defaults to 2 for cells at least 256 pixels wide and 1 otherwise;
/// this fits Prompt-to-Prompt's attention display of one captioned tile per token.
///
/// Layout: `padding` pixels around and between cells; each caption strip is
/// `(BitmapFont.glyphHeight + 4) * scale` pixels tall.
///
/// - Parameters:
///   - images: the tiles, row by row; must not be empty.
///   - columns: tiles per row (at least 1; capped at `images.count`).
///   - captions: one caption per image, or `nil` for no caption strip.
///   - padding: gap in pixels (0 or more).
///   - background: gray level of the background, in [0, 1].
///   - captionScale: font scale override (1 or more).
/// - Throws: `ImageError` (`.invalidArgument`) for empty input, a caption count that does not
///   match, a negative padding, or a result larger than 2^28 pixels.
public func grid(_ images: [Image], columns: Int, captions: [String]? = nil, padding: Int = 4,
                 background: Float = 1, captionScale: Int? = nil) throws -> Image {
    guard !images.isEmpty else { throw ImageError.argument("grid needs at least one image") }
    guard columns >= 1 else { throw ImageError.argument("grid needs at least 1 column, got \(columns)") }
    guard padding >= 0, padding <= 4096 else {
        throw ImageError.argument("grid padding must be between 0 and 4096, got \(padding)")
    }
    if let captions, captions.count != images.count {
        throw ImageError.argument("grid has \(images.count) images but \(captions.count) captions")
    }
    let paper: Float = background.isNaN ? 1 : min(max(background, 0), 1)
    let columnCount = min(columns, images.count)
    let rowCount = (images.count + columnCount - 1) / columnCount
    let cellWidth = images.map(\.width).max() ?? 1
    let cellHeight = images.map(\.height).max() ?? 1
    let scale = max(captionScale ?? (cellWidth >= 256 ? 2 : 1), 1)
    let captionHeight = captions == nil ? 0 : (BitmapFont.glyphHeight + 4) * scale
    let rowHeight = cellHeight + captionHeight

    let totalWidth = columnCount * cellWidth + (columnCount + 1) * padding
    let totalHeight = rowCount * rowHeight + (rowCount + 1) * padding
    guard totalWidth <= 1 << 20, totalHeight <= 1 << 20, totalWidth * totalHeight <= 1 << 28 else {
        throw ImageError.argument("grid would be \(totalWidth)×\(totalHeight) pixels, too large")
    }
    var canvas = try Image(width: totalWidth, height: totalHeight, channels: 3, fill: [paper])
    let ink: Float = paper >= 0.5 ? 0 : 1

    for (index, image) in images.enumerated() {
        let column = index % columnCount
        let row = index / columnCount
        let cellX = padding + column * (cellWidth + padding)
        let cellY = padding + row * (rowHeight + padding)
        let tile = image.flattened(background: paper)
        let offsetX = cellX + (cellWidth - tile.width) / 2
        let offsetY = cellY + (cellHeight - tile.height) / 2
        canvas.paste(tile, x: offsetX, y: offsetY)
        if let captions {
            let text = BitmapFont.fitting(captions[index], maxWidth: cellWidth, scale: scale)
            let textX = cellX + (cellWidth - BitmapFont.width(of: text, scale: scale)) / 2
            canvas.drawText(text, x: textX, y: cellY + cellHeight + 2 * scale, scale: scale, color: [ink])
        }
    }
    return canvas
}

extension Image {
    /// Copies `other` (converted to this image's channel count) with its top-left corner at
    /// (`x`, `y`); parts outside this image are clipped.
    public mutating func paste(_ other: Image, x: Int, y: Int) {
        let source = other.converted(toChannels: channels)
        let left = max(x, 0), right = min(x + source.width, width)
        let top = max(y, 0), bottom = min(y + source.height, height)
        guard left < right, top < bottom else { return }
        for py in top..<bottom {
            for px in left..<right {
                for c in 0..<channels {
                    self[x: px, y: py, channel: c] = source[x: px - x, y: py - y, channel: c]
                }
            }
        }
    }
}
