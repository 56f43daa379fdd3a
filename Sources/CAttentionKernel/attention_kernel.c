// A fused attention kernel for Stable Diffusion's large self-attention layers (4096 and 1024
// tokens): eight query rows at a time, their scores against every key stay in a per-thread
// scratch of 8·lk floats (L2), then exp and the product with V, with AVX-512 register tiles.
// It matches torch.nn.functional.scaled_dot_product_attention (no mask, no dropout) to float
// rounding; SwapTensor's BLAS path remains the reference and the fallback.
#include "attention_kernel.h"
#include <immintrin.h>

int swapscript_attention_kernel_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}

#define TARGET __attribute__((target("avx512f,fma")))
#define INLINE static inline __attribute__((always_inline)) TARGET

// exp for 16 lanes of x ≤ 0 (scores minus their row maximum): n = round(x·log2 e), Cody–Waite
// ln 2, the degree-6 polynomial of SwapTensor's VectorMath.exp in fused multiply-adds, then
// scaling by 2^n with scalef (which flushes to 0 where e^x underflows). About half the
// instructions of the exponent-bits version; the two differ by float rounding only.
INLINE __m512 exp16(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.442695040888963f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

// scores[r][j] = scale · Σ_dd q[r][dd]·k[j][dd] for R rows (R ≤ 8), 32 keys per tile; kt holds
// the keys in tiles of 32, each [d][32] and contiguous.
INLINE void scores_tile(const float *q, const float *kt, float *scores, int R, int lk, int d, float scale) {
    const __m512 s = _mm512_set1_ps(scale);
    for (int j = 0; j < lk; j += 32) {
        __m512 acc[8][2];
        for (int r = 0; r < 8; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
        for (int dd = 0; dd < d; dd++) {
            const float *krow = kt + ((long)(j / 32) * d + dd) * 32;
            __m512 k0 = _mm512_loadu_ps(krow), k1 = _mm512_loadu_ps(krow + 16);
            for (int r = 0; r < R; r++) {
                __m512 qb = _mm512_set1_ps(q[(long)r * d + dd]);
                acc[r][0] = _mm512_fmadd_ps(qb, k0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(qb, k1, acc[r][1]);
            }
        }
        for (int r = 0; r < R; r++) {
            _mm512_storeu_ps(scores + (long)r * lk + j, _mm512_mul_ps(acc[r][0], s));
            _mm512_storeu_ps(scores + (long)r * lk + j + 16, _mm512_mul_ps(acc[r][1], s));
        }
    }
}

// In place: scores[r][j] = exp(scores[r][j] − max_j); returns 1 / Σ_j.
INLINE float exponentiate_row(float *row, int lk) {
    __m512 m = _mm512_set1_ps(-__builtin_inff());
    for (int j = 0; j < lk; j += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(row + j));
    const __m512 shift = _mm512_set1_ps(_mm512_reduce_max_ps(m));
    __m512 sum = _mm512_setzero_ps();
    for (int j = 0; j < lk; j += 16) {
        __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(row + j), shift));
        _mm512_storeu_ps(row + j, e);
        sum = _mm512_add_ps(sum, e);
    }
    return 1.0f / _mm512_reduce_add_ps(sum);
}

// out[r][c0 ..< c0 + 16·C] = inv[r] · Σ_j p[r][j]·v[j][c0 ...], C ≤ 3 chunks of 16 (the last masked).
INLINE void values_tile(const float *p, const float *v, float *out, const float *inv,
                                      int R, int lk, int dv, int c0) {
    int width = dv - c0 < 48 ? dv - c0 : 48;
    int chunks = (width + 15) / 16;
    __mmask16 masks[3];
    for (int c = 0; c < 3; c++) {
        int lanes = width - 16 * c;
        masks[c] = lanes >= 16 ? (__mmask16)0xFFFF : lanes <= 0 ? (__mmask16)0 : (__mmask16)((1u << lanes) - 1);
    }
    __m512 acc[8][3];
    for (int r = 0; r < 8; r++) for (int c = 0; c < 3; c++) acc[r][c] = _mm512_setzero_ps();
    for (int j = 0; j < lk; j++) {
        const float *vrow = v + (long)j * dv + c0;
        __m512 v0 = _mm512_maskz_loadu_ps(masks[0], vrow);
        __m512 v1 = _mm512_maskz_loadu_ps(masks[1], vrow + 16);
        __m512 v2 = _mm512_maskz_loadu_ps(masks[2], vrow + 32);
        for (int r = 0; r < R; r++) {
            __m512 pb = _mm512_set1_ps(p[(long)r * lk + j]);
            acc[r][0] = _mm512_fmadd_ps(pb, v0, acc[r][0]);
            if (chunks > 1) acc[r][1] = _mm512_fmadd_ps(pb, v1, acc[r][1]);
            if (chunks > 2) acc[r][2] = _mm512_fmadd_ps(pb, v2, acc[r][2]);
        }
    }
    for (int r = 0; r < R; r++) {
        __m512 scale = _mm512_set1_ps(inv[r]);
        for (int c = 0; c < chunks; c++) {
            _mm512_mask_storeu_ps(out + (long)r * dv + c0 + 16 * c, masks[c], _mm512_mul_ps(acc[r][c], scale));
        }
    }
}

TARGET void swapscript_attention_rows(const float *q, const float *kt, const float *v, float *out,
                                      int rows, int lk, int d, int dv, float scale, float *scratch) {
    float inv[8];
    for (int r0 = 0; r0 < rows; r0 += 8) {
        int R = rows - r0 < 8 ? rows - r0 : 8;
        // The full tile with a constant row count, so the accumulators live in registers.
        if (R == 8) scores_tile(q + (long)r0 * d, kt, scratch, 8, lk, d, scale);
        else scores_tile(q + (long)r0 * d, kt, scratch, R, lk, d, scale);
        for (int r = 0; r < R; r++) inv[r] = exponentiate_row(scratch + (long)r * lk, lk);
        for (int c0 = 0; c0 < dv; c0 += 48) {
            if (R == 8) values_tile(scratch, v, out + (long)r0 * dv, inv, 8, lk, dv, c0);
            else values_tile(scratch, v, out + (long)r0 * dv, inv, R, lk, dv, c0);
        }
    }
}
