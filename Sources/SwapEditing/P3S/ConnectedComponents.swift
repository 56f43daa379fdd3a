// Connected-component labelling of a binary grid with the numbering of `scipy.ndimage.label`
// (components numbered 1, 2, … in raster order of their first pixel): 4-connectivity is
// scipy's default cross structure, 8-connectivity its 3×3 block (`skimage.measure.label`'s
// default for 2-D). P3S keeps the component at the positive point ("remove outliers that are
// not connected to the specified points", paper §III-A).

/// Which neighbours touch.
public enum Connectivity: Int, Sendable {
    case four = 4, eight = 8
}

/// The labels of a binary grid.
public struct ComponentLabels: Sendable {
    /// Row-major `height`×`width`: 0 for background, 1…count for the components.
    public let labels: [Int]
    public let count: Int
    public let width: Int, height: Int

    /// Labels `mask` (row-major, `height`×`width`).
    public init(_ mask: [Bool], width: Int, height: Int, connectivity: Connectivity = .eight) throws {
        guard width > 0, height > 0, mask.count == width * height else {
            throw EditingError("connected components: \(mask.count) values for a \(width)x\(height) grid")
        }
        let steps = connectivity == .four ? [(-1, 0), (1, 0), (0, -1), (0, 1)]
            : [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
        var labels = [Int](repeating: 0, count: mask.count)
        var count = 0
        var stack: [Int] = []
        for start in mask.indices where mask[start] && labels[start] == 0 {
            count += 1
            labels[start] = count
            stack.append(start)
            while let p = stack.popLast() {
                let (y, x) = (p / width, p % width)
                for (dy, dx) in steps {
                    let (ny, nx) = (y + dy, x + dx)
                    guard ny >= 0, ny < height, nx >= 0, nx < width else { continue }
                    let q = ny * width + nx
                    if mask[q] && labels[q] == 0 { labels[q] = count; stack.append(q) }
                }
            }
        }
        self.labels = labels
        self.count = count
        self.width = width
        self.height = height
    }

    /// The label at pixel (x, y), 0 when outside the grid or on the background.
    public func label(x: Int, y: Int) -> Int {
        x >= 0 && x < width && y >= 0 && y < height ? labels[y * width + x] : 0
    }

    /// The label of the component nearest to (x, y) (squared pixel distance; ties go to the
    /// pixel first in raster order), 0 when there is no component.
    public func nearestLabel(x: Int, y: Int) -> Int {
        var best = 0, bestDistance = Int.max
        for (p, l) in labels.enumerated() where l != 0 {
            let (dy, dx) = (p / width - y, p % width - x)
            let d = dx * dx + dy * dy
            if d < bestDistance { best = l; bestDistance = d }
        }
        return best
    }

    /// The mask of the components in `chosen`.
    public func mask(keeping chosen: Set<Int>) -> [Bool] {
        labels.map { $0 != 0 && chosen.contains($0) }
    }
}
