/// Colormaps that turn a scalar in [0, 1] into an RGB colour, for heatmaps and attention maps.
///
/// * `gray`: black to white.
/// * `jet`: the classic MATLAB rainbow, from its piecewise-linear definition
///   (r = 1.5 - |4t - 3|, g = 1.5 - |4t - 2|, b = 1.5 - |4t - 1|, each clamped to [0, 1]).
/// * `viridis`, `inferno`, `turbo`: uniform cubic B-splines (16 segments, 19 control points)
///   fitted by least squares to the published maps by tools/reference/fit_colormaps.py; the
///   worst error against the originals is 0.002 to 0.005 (about one 8-bit step).
///   `viridis` and `inferno` have monotonically increasing luminance.
public enum Colormap: String, CaseIterable, Sendable {
    case gray
    case jet
    case viridis
    case inferno
    case turbo

    /// The colour for `t`; `t` is clamped to [0, 1] and NaN maps like 0. Components are in [0, 1].
    public func color(_ t: Float) -> SIMD3<Float> {
        let x: Float = t.isNaN ? 0 : min(max(t, 0), 1)
        switch self {
        case .gray:
            return SIMD3(repeating: x)
        case .jet:
            func ramp(_ center: Float) -> Float { min(max(1.5 - abs(4 * x - center), 0), 1) }
            return SIMD3(ramp(3), ramp(2), ramp(1))
        case .viridis:
            return Self.spline(Self.viridisControlPoints, x)
        case .inferno:
            return Self.spline(Self.infernoControlPoints, x)
        case .turbo:
            return Self.spline(Self.turboControlPoints, x)
        }
    }

    /// Colours `count` evenly spaced values from 0 to 1 (a colour bar).
    public func samples(_ count: Int) -> [SIMD3<Float>] {
        guard count > 1 else { return count == 1 ? [color(0)] : [] }
        return (0..<count).map { color(Float($0) / Float(count - 1)) }
    }

    /// Evaluates a uniform cubic B-spline with `points.count - 3` segments on [0, 1].
    private static func spline(_ points: [SIMD3<Double>], _ t: Float) -> SIMD3<Float> {
        let segments = points.count - 3
        let s = Double(t) * Double(segments)
        let i = min(max(Int(s.rounded(.down)), 0), segments - 1)
        let u = s - Double(i)
        let u2 = u * u
        let u3 = u2 * u
        let w0 = (1 - u) * (1 - u) * (1 - u) / 6
        let w1 = (3 * u3 - 6 * u2 + 4) / 6
        let w2 = (-3 * u3 + 3 * u2 + 3 * u + 1) / 6
        let w3 = u3 / 6
        let value = w0 * points[i] + w1 * points[i + 1] + w2 * points[i + 2] + w3 * points[i + 3]
        let clamped = value.clamped(lowerBound: SIMD3(repeating: 0), upperBound: SIMD3(repeating: 1))
        return SIMD3<Float>(Float(clamped.x), Float(clamped.y), Float(clamped.z))
    }

    // Control points printed by tools/reference/fit_colormaps.py (least-squares fits to the
    // 256-entry tables of matplotlib 3.11; the tables themselves are not embedded).
    // viridis: 16 segments, max abs error 0.0021, luminance monotonic: True
    static let viridisControlPoints: [SIMD3<Double>] = [
        [0.23644, -0.08518, 0.22824],
        [0.27002, 0.00223, 0.33188],
        [0.28550, 0.09763, 0.42074],
        [0.28181, 0.17471, 0.48733],
        [0.26087, 0.25195, 0.52790],
        [0.23032, 0.32210, 0.54742],
        [0.19918, 0.38717, 0.55534],
        [0.17279, 0.44764, 0.55838],
        [0.14954, 0.50650, 0.55823],
        [0.12697, 0.56505, 0.55264],
        [0.11213, 0.62389, 0.53667],
        [0.14583, 0.68197, 0.50642],
        [0.23613, 0.73746, 0.45746],
        [0.35885, 0.78796, 0.39053],
        [0.50538, 0.83089, 0.30101],
        [0.66824, 0.86391, 0.19899],
        [0.83765, 0.88685, 0.07839],
        [0.99674, 0.90540, 0.10701],
        [1.13481, 0.92857, 0.36972],
    ]
    // inferno: 16 segments, max abs error 0.0053, luminance monotonic: True
    static let infernoControlPoints: [SIMD3<Double>] = [
        [0.02930, 0.02286, -0.09708],
        [-0.01301, -0.01212, 0.00749],
        [0.03518, 0.03159, 0.13278],
        [0.12449, 0.05685, 0.29894],
        [0.23938, 0.02477, 0.41179],
        [0.34017, 0.06213, 0.43098],
        [0.43924, 0.09876, 0.43599],
        [0.53855, 0.13400, 0.41763],
        [0.63798, 0.16904, 0.38615],
        [0.73422, 0.21187, 0.33283],
        [0.82195, 0.26949, 0.27247],
        [0.89523, 0.34692, 0.19248],
        [0.94841, 0.44270, 0.12932],
        [0.98153, 0.55105, 0.01484],
        [0.99082, 0.66857, 0.03307],
        [0.98150, 0.79007, 0.19832],
        [0.94060, 0.91610, 0.37123],
        [0.95118, 1.00977, 0.68355],
        [1.19531, 1.03126, 0.75252],
    ]
    // turbo: 16 segments, max abs error 0.0029
    static let turboControlPoints: [SIMD3<Double>] = [
        [0.10790, -0.12047, -0.27571],
        [0.19376, 0.07433, 0.25315],
        [0.25846, 0.25318, 0.65841],
        [0.27968, 0.42254, 0.91054],
        [0.27908, 0.57661, 1.03565],
        [0.15627, 0.73765, 0.93784],
        [0.05879, 0.87233, 0.76162],
        [0.16381, 0.95246, 0.61542],
        [0.43049, 1.00202, 0.37835],
        [0.65020, 1.00139, 0.21280],
        [0.79852, 0.93722, 0.19278],
        [0.94453, 0.81850, 0.23747],
        [1.00321, 0.69075, 0.21759],
        [0.99442, 0.50218, 0.13103],
        [0.93153, 0.31206, 0.05022],
        [0.83116, 0.18761, 0.01641],
        [0.68222, 0.08391, 0.00069],
        [0.48771, 0.01240, 0.00737],
        [0.24427, -0.03951, 0.03290],
    ]
}
