import Foundation

/// A line chart of one or more numeric series against their index, drawn into an RGB
/// `Image`: white background, framed plot area, y tick labels at the minimum, middle and
/// maximum, x tick labels at the first and last index, a title and one colour per series
/// (with a legend when there are several). Non-finite values leave gaps.
public struct LineChart {
    public var series: [(name: String, values: [Double])]
    public var title: String
    public var width: Int
    public var height: Int

    /// Series colours, cycled.
    static let palette: [[Float]] = [[0.12, 0.47, 0.71], [1.0, 0.5, 0.05], [0.17, 0.63, 0.17], [0.84, 0.15, 0.16],
                                     [0.58, 0.4, 0.74], [0.55, 0.34, 0.29]]

    public init(series: [(name: String, values: [Double])], title: String = "", width: Int = 480, height: Int = 300) {
        self.series = series
        self.title = title
        self.width = max(width, 120)
        self.height = max(height, 80)
    }

    /// Short tick text for a value: up to 4 significant digits.
    static func label(_ v: Double) -> String {
        if v == 0 { return "0" }
        if Swift.abs(v) >= 1e4 || Swift.abs(v) < 1e-3 { return String(format: "%.2e", v) }
        return String(format: "%.4g", v)
    }

    /// Renders the chart.
    public func render() -> Image {
        // width ≥ 120 and height ≥ 80 (init), so the canvas always exists.
        var image = try! Image(width: width, height: height, channels: 3, fill: [1])
        let finite = series.flatMap { $0.values.filter(\.isFinite) }
        var low = finite.min() ?? 0, high = finite.max() ?? 1
        if low == high { low -= 0.5; high += 0.5 }
        let count = series.map(\.values.count).max() ?? 0
        let tickTexts = [high, (low + high) / 2, low].map(Self.label)
        let left = 8 + (tickTexts.map { BitmapFont.width(of: $0) }.max() ?? 0)
        let top = title.isEmpty ? 8 : 20, bottom = height - 20, right = width - 10
        let ink: [Float] = [0.2, 0.2, 0.2], grid: [Float] = [0.88, 0.88, 0.88]

        if !title.isEmpty {
            let text = BitmapFont.fitting(title, maxWidth: width - 8)
            image.drawText(text, x: (width - BitmapFont.width(of: text)) / 2, y: 5, color: ink)
        }
        func yPixel(_ v: Double) -> Int { bottom - Int(((v - low) / (high - low) * Double(bottom - top)).rounded()) }
        func xPixel(_ i: Int) -> Int { count <= 1 ? left : left + Int((Double(i) / Double(count - 1) * Double(right - left)).rounded()) }

        for (k, value) in [high, (low + high) / 2, low].enumerated() {
            let y = yPixel(value)
            drawLine(&image, left, y, right, y, grid)
            image.drawText(tickTexts[k], x: left - 4 - BitmapFont.width(of: tickTexts[k]), y: y - 3, color: ink)
        }
        drawLine(&image, left, top, left, bottom, ink)
        drawLine(&image, left, bottom, right, bottom, ink)
        drawLine(&image, right, top, right, bottom, ink)
        drawLine(&image, left, top, right, top, ink)
        if count > 0 {
            image.drawText("0", x: left, y: bottom + 5, color: ink)
            let last = "\(count - 1)"
            image.drawText(last, x: right - BitmapFont.width(of: last), y: bottom + 5, color: ink)
        }
        for (s, entry) in series.enumerated() {
            let color = Self.palette[s % Self.palette.count]
            var previous: (Int, Int)?
            for (i, v) in entry.values.enumerated() {
                guard v.isFinite else { previous = nil; continue }
                let point = (xPixel(i), yPixel(v))
                if let previous { drawLine(&image, previous.0, previous.1, point.0, point.1, color) }
                else { drawLine(&image, point.0, point.1, point.0, point.1, color) }
                previous = point
            }
            if series.count > 1 {
                let y = top + 4 + s * 10
                drawLine(&image, right - 70, y + 3, right - 60, y + 3, color)
                image.drawText(BitmapFont.fitting(entry.name, maxWidth: 56), x: right - 56, y: y, color: ink)
            }
        }
        return image
    }

    /// Bresenham line, clipped to the image.
    func drawLine(_ image: inout Image, _ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: [Float]) {
        var (x, y) = (x0, y0)
        let dx = Swift.abs(x1 - x0), dy = -Swift.abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        while true {
            if x >= 0, x < image.width, y >= 0, y < image.height {
                for c in 0..<image.channels { image[x: x, y: y, channel: c] = color[Swift.min(c, color.count - 1)] }
            }
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }
}
