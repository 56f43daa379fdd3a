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

    /// Columns (or rows) per panel when a product is split.
    static let panel = 256
    /// Products below this many multiply-adds run as one call.
    static let splitThreshold = 1 << 20

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
        guard parallel, m * n * k >= splitThreshold, max(m, n) >= 2 * panel else {
            call(m, n, a, b, c)
            return
        }
        // Split the side whose operand is larger, so the smaller operand is the one re-packed.
        if m * k <= k * n && n >= 2 * panel {
            let panels = (n + panel - 1) / panel
            Parallel.forEach(panels, grain: 1) { range in
                for p in range {
                    let j0 = p * panel, width = min(panel, n - j0)
                    call(m, width, a, b + (transB ? j0 * ldb : j0), c + j0)
                }
            }
        } else {
            let panels = (m + panel - 1) / panel
            Parallel.forEach(panels, grain: 1) { range in
                for p in range {
                    let i0 = p * panel, height = min(panel, m - i0)
                    call(height, n, a + (transA ? i0 : i0 * lda), b, c + i0 * ldc)
                }
            }
        }
    }
}
