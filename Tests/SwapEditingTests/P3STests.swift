import Foundation
import Testing
@testable import SwapEditing
import SwapTensor

/// P3S-Diffusion's mask pieces and losses against scikit-image, scipy and torch
/// (Fixtures/p3s_reference.json, made by tools/reference/make_p3s_fixtures.py).
struct P3STests {
    struct Reference: Decodable {
        struct Otsu: Decodable { let values: [Double]; let bins: [Int]; let thresholds: [Double] }
        struct Histogram: Decodable { let counts: [Double]; let centers: [Double]; let threshold: Double }
        struct Gauss: Decodable { let height: Int; let width: Int; let sigma: Double; let truncate: Double; let input: [Double]; let output: [Double] }
        struct Label: Decodable { let height: Int; let width: Int; let connectivity: Int; let mask: [Int]; let labels: [Int]; let count: Int }
        struct Loss: Decodable {
            let shape: [Int]; let a: [Double]; let b: [Double]; let normalization: String
            let loss: Double; let grad_a: [Double]; let grad_b: [Double]
        }
        let otsu: [Otsu]
        let otsu_histograms: [Histogram]
        let gauss: [Gauss]
        let label: [Label]
        let lac: [Loss]
    }

    static let reference = Result {
        let url = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent("p3s_reference.json")
        return try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }

    /// Same bins, same centres: the threshold is the very bin centre scikit-image picks
    /// (compared to 1e-12 relative, i.e. the same float64 value up to summation order).
    @Test func otsuMatchesScikitImage() throws {
        let ref = try Self.reference.get()
        for (n, c) in ref.otsu.enumerated() {
            for (bins, expected) in zip(c.bins, c.thresholds) {
                let t = try OtsuThreshold.threshold(c.values.map(Float.init), bins: bins)
                #expect(abs(t - expected) <= 1e-12 * max(1, abs(expected)), "case \(n), \(bins) bins: \(t) vs \(expected)")
            }
        }
        for (n, h) in ref.otsu_histograms.enumerated() {
            let t = try OtsuThreshold.threshold(counts: h.counts, centers: h.centers)
            #expect(t == h.threshold, "histogram \(n): \(t) vs \(h.threshold)")
        }
        #expect(try OtsuThreshold.threshold([0.25, 0.25, 0.25]) == 0.25)   // constant input: that value
        #expect(throws: EditingError.self) { try OtsuThreshold.threshold([]) }
        #expect(throws: EditingError.self) { try OtsuThreshold.threshold([1, .nan]) }
    }

    /// scipy gaussian_filter (reflect) to 1e-6 absolute (Float32 output of a Float64 computation).
    @Test func gaussianFilterMatchesScipy() throws {
        for (n, g) in try Self.reference.get().gauss.enumerated() {
            let out = try GaussianFilter.filter(g.input.map(Float.init), width: g.width, height: g.height, sigma: g.sigma, truncate: g.truncate)
            let worst = zip(out, g.output).map { abs(Double($0) - $1) }.max() ?? .infinity
            #expect(worst < 1e-6, "case \(n) (σ \(g.sigma), truncate \(g.truncate)): max error \(worst)")
        }
        #expect(try GaussianFilter.filter([1, 2, 3, 4], width: 2, height: 2, sigma: 0) == [1, 2, 3, 4])
        #expect(throws: EditingError.self) { try GaussianFilter.filter([1, 2, 3], width: 2, height: 2, sigma: 1) }
    }

    /// scipy ndimage.label: identical labels and counts.
    @Test func componentsMatchScipyLabel() throws {
        for l in try Self.reference.get().label {
            let c = try ComponentLabels(l.mask.map { $0 != 0 }, width: l.width, height: l.height,
                                        connectivity: l.connectivity == 4 ? .four : .eight)
            #expect(c.count == l.count, "connectivity \(l.connectivity)")
            #expect(c.labels == l.labels, "connectivity \(l.connectivity)")
        }
        // Diagonal neighbours join only under 8-connectivity; the nearest component of a background pixel.
        let diagonal: [Bool] = [true, false, false, false, true, false, false, false, true]
        #expect(try ComponentLabels(diagonal, width: 3, height: 3, connectivity: .four).count == 3)
        let eight = try ComponentLabels(diagonal, width: 3, height: 3, connectivity: .eight)
        #expect(eight.count == 1 && eight.label(x: 1, y: 0) == 0 && eight.nearestLabel(x: 1, y: 0) == 1)
    }

    /// L_ac and its gradients by autograd against torch (float64 there; 1e-5 relative here).
    @Test func attentionConsistencyMatchesTorch() throws {
        for c in try Self.reference.get().lac {
            let a = Tensor(shape: c.shape, scalars: c.a.map(Float.init)).requiringGrad()
            let b = Tensor(shape: c.shape, scalars: c.b.map(Float.init)).requiringGrad()
            let normalization = try #require(AttentionConsistency.Normalization(rawValue: c.normalization))
            let loss = try AttentionConsistency.loss(a, b, normalization: normalization)
            #expect(abs(Double(loss.scalars[0]) - c.loss) <= 1e-5 * abs(c.loss), "\(c.normalization): \(loss.scalars[0]) vs \(c.loss)")
            let grads = loss.gradient(with: [a, b])
            for (got, want) in [(grads[0], c.grad_a), (grads[1], c.grad_b)] {
                let scale = want.map(abs).max() ?? 1
                let worst = zip(got.scalars, want).map { abs(Double($0) - $1) }.max() ?? .infinity
                #expect(worst <= 1e-5 * scale, "\(c.normalization) gradient: max error \(worst) of \(scale)")
            }
        }
        let zero = Tensor(shape: [2, 2], scalars: [0, 0, 0, 0])
        #expect(throws: EditingError.self) { try AttentionConsistency.loss(zero, zero) }
        #expect(throws: EditingError.self) { try AttentionConsistency.loss(zero, Tensor(shape: [4], scalars: [0, 0, 0, 0])) }
    }

    /// ε_t = 1 − α(t/T)^k + β with the paper's α 0.5, β 0.2, k 2: 0.70 at T, 1.075 at T/2, 1.20 at 0.
    @Test func timestepScheduleFollowsEquation10() throws {
        let s = try TimestepWeightSchedule()
        #expect(abs(s.weight(at: 1000) - 0.70) < 1e-12 && abs(s.weight(at: 500) - 1.075) < 1e-12 && abs(s.weight(at: 0) - 1.20) < 1e-12)
        let ts = try s.leadingTimesteps(steps: 4)
        #expect(ts == [750, 500, 250, 0])
        let w = s.weights(ts)
        #expect(zip(w, w.dropFirst()).allSatisfy { $0 < $1 })                 // rising as denoising proceeds
        let linear = try TimestepWeightSchedule(alpha: 1, beta: 0, k: 1)
        #expect(linear.weights([1000, 250]) == [0, 0.75])
        #expect(throws: EditingError.self) { try TimestepWeightSchedule(k: .nan) }
        #expect(throws: EditingError.self) { try s.leadingTimesteps(steps: 0) }
    }

    /// Cosine maps and eq 2's combination on hand-made features: the anchor's own cell is 1,
    /// an orthogonal feature 0, an opposite one −1; M_P·(1 − M_N) vanishes where M_N = 1.
    @Test func similarityMapAndCombination() throws {
        let features = Tensor(shape: [4, 2], scalars: [1, 0, 2, 0, 0, 3, -1, 0])
        let patches = try PatchFeatures(features: features, gridHeight: 2, gridWidth: 2, region: (0, 0, 8, 8))
        let m = try PointMask.similarityMap(patches, cell: (gx: 0, gy: 0))
        #expect(m.shape == [2, 2])
        #expect(zip(m.scalars, [1, 1, 0, -1] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 })
        let n = try PointMask.similarityMap(patches, cell: (gx: 0, gy: 1))
        let combined = try PointMask.combine(positive: m, negative: n)
        #expect(zip(combined.scalars, [1, 1, 0, -1] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(patches.cell(x: 3.9, y: 4.0)! == (gx: 0, gy: 1) && patches.cell(x: 8, y: 0) == nil)
    }
}
