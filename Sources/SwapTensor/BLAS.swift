import CBLAS

/// Typed wrappers over OpenBLAS `cblas_sgemm` (row-major throughout).
///
/// OpenBLAS always runs single-threaded here. Large products are cut into fixed column (or
/// row) panels and the panels spread over `Parallel` threads. Panel boundaries depend only on
/// the shapes, so every output element is computed by the same kernel path whatever the thread
/// count: OpenBLAS's own threading splits at thread-dependent points, and its edge kernels
/// accumulate in a different order, which changes the last bits.
public enum BLAS {
    /// The OpenBLAS kernel family in use (e.g. "SkylakeX", "Haswell", "Prescott").
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// The shortest side a product is split along (and the im2col path's panel width).
    static let panel = 256
    /// Products below this many multiply-adds run as one call.
    static let splitThreshold = 1 << 20
    /// Output floats per panel a split aims to stay under.
    static let panelArea = 1 << 20

    /// Where the panels over `length` rows (or columns) start, then `length`, when the other
    /// side of the output is `across` long: an even number of near-equal panels, as few as keep
    /// each panel's output under `panelArea` floats (each panel re-packs the other operand),
    /// each starting at a multiple of 16 (the kernels' register-block width), so threads get
    /// equal shares. Depends on the shape only.
    static func panelStarts(_ length: Int, across: Int) -> [Int] {
        // Panels of at least 128 (a split side is ≥ 256 long, so count ≥ 2), rounded up to even.
        var count = Swift.min(Swift.max(2, (length * across + panelArea - 1) / panelArea), length / 128)
        count += count % 2
        return (0..<count).map { p in length * p / count / 16 * 16 } + [length]
    }

    /// C[m×n] = alpha · op(A) · op(B) + beta · C, where op transposes when asked.
    /// `lda`, `ldb`, `ldc` default to the row lengths of the stored (untransposed) matrices.
    /// `parallel: false` keeps the call on the current thread (for callers already in a
    /// parallel region).
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                            b: UnsafePointer<Float>, ldb: Int? = nil,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil,
                            parallel: Bool = true) {
        if m == 0 || n == 0 { return }
        let lda = lda ?? (transA ? m : k), ldb = ldb ?? (transB ? k : n), ldc = ldc ?? n
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * ldc + j] *= beta } }
            return
        }
        Parallel.ensureSingleThreadedBLAS()
        func call(_ m: Int, _ n: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>) {
            cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
        guard parallel, m * n * k >= splitThreshold, max(m, n) >= panel else {
            call(m, n, a, b, c)
            return
        }
        // Split the side whose operand is larger, so the smaller operand is the one re-packed.
        if m * k <= k * n && n >= panel {
            let starts = panelStarts(n, across: m)
            Parallel.forEachTask(starts.count - 1) { p in
                let j0 = starts[p]
                call(m, starts[p + 1] - j0, a, b + (transB ? j0 * ldb : j0), c + j0)
            }
        } else {
            let starts = panelStarts(m, across: n)
            Parallel.forEachTask(starts.count - 1) { p in
                let i0 = starts[p]
                call(starts[p + 1] - i0, n, a + (transA ? i0 : i0 * lda), b, c + i0 * ldc)
            }
        }
    }
}
