#ifndef SWAPSCRIPT_ATTENTION_KERNEL_H
#define SWAPSCRIPT_ATTENTION_KERNEL_H

/// Whether this CPU runs the AVX-512 attention kernel.
int swapscript_attention_kernel_available(void);

/// softmax(scale · Q·Kᵀ)·V for `rows` query rows of one head, without keeping the probabilities.
/// q: [rows][d]; kt: the head's keys in tiles of 32 keys, [lk/32][d][32]; v: [lk][dv]; out: [rows][dv];
/// scratch: 8·lk floats. Needs lk % 32 == 0 and dv ≤ 256. Each row's result depends only on
/// its own inputs, in a fixed order.
void swapscript_attention_rows(const float *q, const float *kt, const float *v, float *out,
                               int rows, int lk, int d, int dv, float scale, float *scratch);

#endif
