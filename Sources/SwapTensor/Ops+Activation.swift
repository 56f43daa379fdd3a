import Foundation

// Unary maths and the activations Stable Diffusion uses. Each names its PyTorch counterpart.

extension Tensor {
    /// Applies a vectorised unary function, parallel over chunks.
    func mapVectorised(_ f8: @escaping (SIMD8<Float>) -> SIMD8<Float>) -> Tensor {
        let out = Tensor(uninitializedShape: shape)
        let o = out.storage.pointer, p = storage.pointer
        Parallel.forEach(count, grain: 8192) { r in
            VectorMath.map(p + r.lowerBound, o + r.lowerBound, r.count, f8)
        }
        return out
    }

    /// `torch.exp`.
    public func exp() -> Tensor {
        var out = mapVectorised(VectorMath.exp)
        let y = out.detached()
        out.recordOp("exp", [self]) { g in [try! g * y] }
        return out
    }

    /// `torch.log`.
    public func log() -> Tensor {
        var out = mapElements { Foundation.log($0) }
        let x = detached()
        out.recordOp("log", [self]) { g in [try! g / x] }
        return out
    }

    /// `torch.sqrt`.
    public func sqrt() -> Tensor {
        var out = mapElements { $0.squareRoot() }
        let y = out.detached()
        out.recordOp("sqrt", [self]) { g in [try! g / (y * 2)] }
        return out
    }

    /// `torch.abs` (gradient sign(x), 0 at 0).
    public func abs() -> Tensor {
        var out = mapElements { Swift.abs($0) }
        let x = detached()
        out.recordOp("abs", [self]) { g in [try! g * x.mapElements { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) }] }
        return out
    }

    /// `torch.sin` / `torch.cos`, used by the timestep embedding.
    public func sin() -> Tensor {
        var out = mapElements { Foundation.sin($0) }
        let x = detached()
        out.recordOp("sin", [self]) { g in [try! g * x.mapElements { Foundation.cos($0) }] }
        return out
    }

    public func cos() -> Tensor {
        var out = mapElements { Foundation.cos($0) }
        let x = detached()
        out.recordOp("cos", [self]) { g in [try! g * x.mapElements { -Foundation.sin($0) }] }
        return out
    }

    /// `torch.tanh`.
    public func tanh() -> Tensor {
        var out = mapElements { Foundation.tanh($0) }
        let y = out.detached()
        out.recordOp("tanh", [self]) { g in [try! g * y.mapElements { 1 - $0 * $0 }] }
        return out
    }

    /// `torch.relu`.
    public func relu() -> Tensor {
        var out = mapElements { Swift.max($0, 0) }
        let x = detached()
        out.recordOp("relu", [self]) { g in [try! g * x.mapElements { $0 > 0 ? 1 : 0 }] }
        return out
    }

    /// `torch.sigmoid`.
    public func sigmoid() -> Tensor {
        var out = mapVectorised(VectorMath.sigmoid)
        let y = out.detached()
        out.recordOp("sigmoid", [self]) { g in [try! g * y.mapElements { $0 * (1 - $0) }] }
        return out
    }

    /// `torch.nn.functional.silu`: x·σ(x).
    public func silu() -> Tensor {
        var out = mapVectorised { x in x * VectorMath.sigmoid(x) }
        let x = detached()
        out.recordOp("silu", [self]) { g in
            [try! g * x.mapVectorised { x in
                let s = VectorMath.sigmoid(x)
                return s * (1 + x * (1 - s))
            }]
        }
        return out
    }

    /// `transformers` `quick_gelu`: x·σ(1.702x).
    public func quickGELU() -> Tensor {
        var out = mapVectorised { x in x * VectorMath.sigmoid(1.702 * x) }
        let x = detached()
        out.recordOp("quick_gelu", [self]) { g in
            [try! g * x.mapVectorised { x in
                let s = VectorMath.sigmoid(1.702 * x)
                return s + 1.702 * x * s * (1 - s)
            }]
        }
        return out
    }

    /// GELU on 8 lanes: x·0.5·(1 + erf(x/√2)) with torch's CPU erf (`VectorMath.erf`).
    @inline(__always)
    static func gelu8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        x * 0.5 * (1 + VectorMath.erf(x * 0.70710678118654752))
    }

    /// `torch.nn.functional.gelu` (exact, erf form): x·0.5·(1 + erf(x/√2)), with erf evaluated
    /// as torch's CPU kernel does (`VectorMath.erf`, A&S 7.1.26, within 1.5e-7 of the exact erf).
    public func gelu() -> Tensor {
        var out = mapVectorised(Tensor.gelu8)
        let x = detached()
        out.recordOp("gelu", [self]) { g in [try! g * x.geluDerivative()] }
        return out
    }

    /// d GELU / dx = Φ(x) + x·φ(x), with the exact erf.
    func geluDerivative() -> Tensor {
        mapElements { x in
            let cdf = 0.5 * (1 + Foundation.erf(x * 0.70710678118654752))
            let pdf = Foundation.exp(-0.5 * x * x) * 0.3989422804014327
            return cdf + x * pdf
        }
    }
}
