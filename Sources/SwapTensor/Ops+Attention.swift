// Scaled dot-product attention, softmax(Q·Kᵀ·scale)·V, per batch-head (matches
// torch.nn.functional.scaled_dot_product_attention without mask or dropout, and diffusers'
// AttnProcessor when the probabilities are kept).
//
// Without kept probabilities the query axis is cut into fixed blocks, so no more than a block
// of one head's score matrix exists per thread at a time. Block boundaries never depend on the
// thread count, so results are bit-identical for any number of threads.

import CAttentionKernel

extension Tensor {
    /// Whether the AVX-512 kernel (CAttentionKernel) serves attention without kept
    /// probabilities over many keys: Stable Diffusion's 4096- and 1024-token self-attention.
    static let fusedAttentionAvailable = swapscript_attention_kernel_available() != 0

    static func usesFusedAttention(keys: Int, valueDim: Int) -> Bool {
        fusedAttentionAvailable && keys >= 1024 && keys % 32 == 0 && valueDim <= 256
    }

    /// The query rows per block: a block's scores stay around 4 MiB (256 rows of 4096 keys; larger
    /// blocks keep the QKᵀ and PV products efficient at head size 40).
    public static func attentionBlockRows(keys: Int) -> Int { Swift.min(256, Swift.max(16, 1_048_576 / Swift.max(keys, 1))) }

    /// Attention over q [B, Lq, D], k [B, Lk, D], v [B, Lk, Dv], where B is batch × heads.
    /// Returns the output [B, Lq, Dv] and, when `keepProbabilities` is set, the probabilities
    /// [B, Lq, Lk].
    public static func attention(query q: Tensor, key k: Tensor, value v: Tensor, scale: Float? = nil,
                                 keepProbabilities: Bool = false) throws -> (output: Tensor, probabilities: Tensor?) {
        guard q.rank == 3, k.rank == 3, v.rank == 3, q.shape[0] == k.shape[0], k.shape[0] == v.shape[0],
              q.shape[2] == k.shape[2], k.shape[1] == v.shape[1] else {
            throw TensorError("attention", "expects q [B, Lq, D], k [B, Lk, D], v [B, Lk, Dv]; got q \(formatShape(q.shape)), k \(formatShape(k.shape)), v \(formatShape(v.shape))")
        }
        let (b, lq, d) = (q.shape[0], q.shape[1], q.shape[2])
        let (lk, dv) = (k.shape[1], v.shape[2])
        let s = scale ?? 1 / Float(d).squareRoot()
        var out = Tensor(uninitializedShape: [b, lq, dv])
        let probabilities = keepProbabilities ? Tensor(uninitializedShape: [b, lq, lk]) : nil
        let qp = q.storage.pointer, kp = k.storage.pointer, vp = v.storage.pointer, op = out.storage.pointer
        let pp = probabilities?.storage.pointer
        let blockRows = attentionBlockRows(keys: lk)
        let blocksPerHead = (lq + blockRows - 1) / blockRows
        if pp == nil && usesFusedAttention(keys: lk, valueDim: dv) {
            fusedAttention(q: qp, k: kp, v: vp, out: op, heads: b, queries: lq, keys: lk, dim: d, valueDim: dv,
                           scale: s, blockRows: blockRows)
        } else {
            Parallel.forEach(b * blocksPerHead, grain: 1) { range in
                let scratch = pp == nil ? TensorStorage(uninitializedCount: blockRows * lk) : nil
                for task in range {
                    let (head, block) = task.quotientAndRemainder(dividingBy: blocksPerHead)
                    let row0 = block * blockRows, rows = Swift.min(blockRows, lq - row0)
                    let scores = pp.map { $0 + (head * lq + row0) * lk } ?? scratch!.pointer
                    BLAS.gemm(transB: true, m: rows, n: lk, k: d, alpha: s,
                              a: qp + (head * lq + row0) * d, b: kp + head * lk * d, c: scores, parallel: false)
                    for r in 0..<rows { softmaxRow(scores + r * lk, scores + r * lk, lk) }
                    BLAS.gemm(m: rows, n: dv, k: lk, a: scores, b: vp + head * lk * dv,
                              c: op + (head * lq + row0) * dv, parallel: false)
                }
            }
        }
        let (dq, dk, dvv) = (q.detached(), k.detached(), v.detached())
        let saved = probabilities
        out.recordOp("attention", [q, k, v]) { g in
            attentionBackward(g, q: dq, k: dk, v: dvv, scale: s, probabilities: saved)
        }
        return (out, probabilities)
    }

    /// The CAttentionKernel path: each head's keys regrouped into tiles of 32, [lk/32, d, 32],
    /// then the query blocks of every head through the kernel (8·lk floats of scratch per thread).
    static func fusedAttention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                               out: UnsafeMutablePointer<Float>, heads: Int, queries lq: Int, keys lk: Int,
                               dim d: Int, valueDim dv: Int, scale: Float, blockRows: Int) {
        let tiled = TensorStorage(uninitializedCount: heads * d * lk)
        let kt = tiled.pointer
        Parallel.forEach(heads, grain: 1) { range in
            for head in range {
                let src = k + head * lk * d, dst = kt + head * d * lk
                for tile in 0..<(lk / 32) {
                    for e in 0..<d {
                        let row = dst + (tile * d + e) * 32, keys = src + tile * 32 * d + e
                        for l in 0..<32 { row[l] = keys[l * d] }
                    }
                }
            }
        }
        let blocksPerHead = (lq + blockRows - 1) / blockRows
        Parallel.forEach(heads * blocksPerHead, grain: 1) { range in
            let scratch = TensorStorage(uninitializedCount: 8 * lk)
            for task in range {
                let (head, block) = task.quotientAndRemainder(dividingBy: blocksPerHead)
                let row0 = block * blockRows, rows = Swift.min(blockRows, lq - row0)
                swapscript_attention_rows(q + (head * lq + row0) * d, kt + head * d * lk, v + head * lk * dv,
                                          out + (head * lq + row0) * dv, Int32(rows), Int32(lk), Int32(d), Int32(dv),
                                          scale, scratch.pointer)
            }
        }
        withExtendedLifetime(tiled) {}
    }

    /// One head at a time: P (recomputed unless kept), dV = Pᵀ·dO, dP = dO·Vᵀ,
    /// dS = P ⊙ (dP − rowsum(dP ⊙ P)), dQ = s·dS·K, dK = s·dSᵀ·Q.
    static func attentionBackward(_ g: Tensor, q: Tensor, k: Tensor, v: Tensor, scale s: Float,
                                  probabilities: Tensor?) -> [Tensor?] {
        let (b, lq, d) = (q.shape[0], q.shape[1], q.shape[2])
        let (lk, dv) = (k.shape[1], v.shape[2])
        let gq = Tensor(uninitializedShape: q.shape), gk = Tensor(uninitializedShape: k.shape)
        let gv = Tensor(uninitializedShape: v.shape)
        let p = TensorStorage(uninitializedCount: lq * lk), dp = TensorStorage(uninitializedCount: lq * lk)
        for head in 0..<b {
            let qh = q.storage.pointer + head * lq * d, kh = k.storage.pointer + head * lk * d
            let vh = v.storage.pointer + head * lk * dv, gh = g.storage.pointer + head * lq * dv
            if let probabilities {
                p.pointer.update(from: probabilities.storage.pointer + head * lq * lk, count: lq * lk)
            } else {
                BLAS.gemm(transB: true, m: lq, n: lk, k: d, alpha: s, a: qh, b: kh, c: p.pointer)
                let pp = p.pointer
                Parallel.forEach(lq, grain: 16) { r in for row in r { softmaxRow(pp + row * lk, pp + row * lk, lk) } }
            }
            BLAS.gemm(transA: true, m: lk, n: dv, k: lq, a: p.pointer, b: gh, c: gv.storage.pointer + head * lk * dv)
            BLAS.gemm(transB: true, m: lq, n: lk, k: dv, a: gh, b: vh, c: dp.pointer)
            let (pp, dpp) = (p.pointer, dp.pointer)
            Parallel.forEach(lq, grain: 16) { r in
                for row in r {
                    let pr = pp + row * lk, dr = dpp + row * lk
                    var dot: Float = 0
                    for j in 0..<lk { dot += pr[j] * dr[j] }
                    for j in 0..<lk { dr[j] = pr[j] * (dr[j] - dot) }
                }
            }
            BLAS.gemm(m: lq, n: d, k: lk, alpha: s, a: dp.pointer, b: kh, c: gq.storage.pointer + head * lq * d)
            BLAS.gemm(transA: true, m: lk, n: d, k: lq, alpha: s, a: dp.pointer, b: qh, c: gk.storage.pointer + head * lk * d)
        }
        return [gq, gk, gv]
    }
}
