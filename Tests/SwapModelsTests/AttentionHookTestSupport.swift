import SwapModels
import SwapTensor

// Small hooks used by the tests: each exercises one capability of the hook protocol.

/// Keeps a copy of the probabilities of every call whose path is in `paths` (all when nil).
final class CaptureHook: AttentionHook {
    let paths: Set<String>?
    var captured: [String: Tensor] = [:]
    var calls: [(path: String, height: Int, width: Int, rows: [RowRole], timesteps: [Float])] = []

    init(paths: Set<String>? = nil) { self.paths = paths }

    func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess {
        paths.map { $0.contains(call.layer.path) } ?? true ? .observe : .none
    }

    func probabilities(_ call: AttentionCall, _ p: Tensor) throws -> Tensor? {
        captured[call.layer.path] = p
        calls.append((call.layer.path, call.height, call.width, call.rows, call.timesteps))
        return nil
    }
}

/// Replaces the probabilities at the layers in `paths` by uniform ones (1 / key count).
final class UniformProbabilitiesHook: AttentionHook {
    let paths: Set<String>
    init(paths: Set<String>) { self.paths = paths }

    func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess { paths.contains(call.layer.path) ? .replace : .none }

    func probabilities(_ call: AttentionCall, _ p: Tensor) throws -> Tensor? {
        guard paths.contains(call.layer.path) else { return nil }
        return Tensor(shape: p.shape, repeating: 1 / Float(p.shape[3]))
    }
}

/// P2P-style injection: conditional rows of branch ≥ 1 take the probabilities of the
/// conditional branch-0 row, at the given kind of layer.
final class InjectSourceProbabilitiesHook: AttentionHook {
    let kind: AttentionKind
    init(kind: AttentionKind) { self.kind = kind }

    func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess { call.layer.kind == kind ? .replace : .none }

    func probabilities(_ call: AttentionCall, _ p: Tensor) throws -> Tensor? {
        guard call.layer.kind == kind,
              let source = call.rowIndices(where: { $0 == RowRole(.conditional, branch: 0) }).first else { return nil }
        let targets = call.rowIndices(where: { $0.guidance == .conditional && $0.branch > 0 })
        guard !targets.isEmpty else { return nil }
        let copies = try p.indexSelect(axis: 0, Array(repeating: source, count: targets.count))
        return try p.replacing(axis: 0, at: targets, with: copies)
    }
}

/// Multiplies probabilities by a factor (a reweight with no renormalisation), for composition tests.
final class ScaleProbabilitiesHook: AttentionHook {
    let factor: Float
    init(factor: Float) { self.factor = factor }
    func probabilityAccess(_ call: AttentionCall) -> ProbabilityAccess { .replace }
    func probabilities(_ call: AttentionCall, _ p: Tensor) throws -> Tensor? { p * factor }
}

/// MasaCtrl-style mutual self-attention: in each guidance half, every row's self-attention
/// uses the keys and values of that half's branch-0 row.
final class SourceKeysValuesHook: AttentionHook {
    var applied = 0

    func keysAndValues(_ call: AttentionCall, query: Tensor, key: Tensor, value: Tensor) throws -> (key: Tensor, value: Tensor)? {
        guard call.layer.kind == .selfAttention else { return nil }
        let source = call.rows.map { role in
            call.rows.firstIndex(where: { $0.guidance == role.guidance && $0.branch == 0 }) ?? 0
        }
        applied += 1
        return (try key.indexSelect(axis: 0, source), try value.indexSelect(axis: 0, source))
    }
}

/// SECR-style region output at cross-attention layers: query tokens inside the box attend to
/// a concept context (keys and values from the layer's own projections); tokens outside get
/// the head-split input itself.
final class RegionOutputHook: AttentionHook {
    /// Box in fractions of the layer size: rows [top, bottom), columns [left, right).
    let top: Float, bottom: Float, left: Float, right: Float
    let concept: Tensor

    init(box: (top: Float, bottom: Float, left: Float, right: Float), concept: Tensor) {
        (top, bottom, left, right) = box
        self.concept = concept
    }

    func regionTokens(height: Int, width: Int) -> [Int] {
        let (r0, r1) = (Int(top * Float(height)), Int(bottom * Float(height)))
        let (c0, c1) = (Int(left * Float(width)), Int(right * Float(width)))
        return (r0..<max(r0, r1)).flatMap { y in (c0..<max(c0, c1)).map { y * width + $0 } }
    }

    func output(_ call: AttentionCall, _ output: Tensor, query: Tensor, key: Tensor, value: Tensor) throws -> Tensor? {
        guard call.layer.kind == .crossAttention else { return nil }
        let outside = try call.splitHeads(call.input)
        let region = regionTokens(height: call.height, width: call.width)
        guard !region.isEmpty else { return outside }
        let (k, v) = try call.keysAndValues(for: concept)
        let inside = try call.attend(query: query.indexSelect(axis: 2, region), key: k, value: v)
        return try outside.replacing(axis: 2, at: region, with: inside)
    }
}
