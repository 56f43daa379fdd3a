import CBLAS

/// Thin, typed wrappers over OpenBLAS `cblas_sgemm` (row-major throughout).
public enum BLAS {
    /// The OpenBLAS kernel family in use (e.g. "SkylakeX", "Haswell", "Prescott").
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "unknown" }

    /// C[m×n] = alpha · op(A) · op(B) + beta · C, where op transposes when asked.
    /// `lda`, `ldb`, `ldc` default to the row lengths of the stored (untransposed) matrices.
    public static func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                            alpha: Float = 1, a: UnsafePointer<Float>, lda: Int? = nil,
                            b: UnsafePointer<Float>, ldb: Int? = nil,
                            beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int? = nil) {
        if m == 0 || n == 0 { return }
        if k == 0 {
            for i in 0..<m { for j in 0..<n { c[i * (ldc ?? n) + j] *= beta } }
            return
        }
        cblas_sgemm(CblasRowMajor,
                    transA ? CblasTrans : CblasNoTrans,
                    transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha,
                    a, Int32(lda ?? (transA ? m : k)),
                    b, Int32(ldb ?? (transB ? k : n)),
                    beta, c, Int32(ldc ?? n))
    }
}
