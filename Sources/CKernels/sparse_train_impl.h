/* Sparse-training kernels, included twice by sparse_train.c (AVX2+FMA and baseline builds; KN
 * names them). The loops keep 8 (or 4 × 8) independent lane sums so the compiler vectorises them
 * without reassociating a single sum. */

/* sums[q] = Σ_{i0 ≤ i < i1} a[i] · bq[q][i] for eight rows bq[0..7] (added into sums when
 * `add`): one load of `a` per 8 values serves all eight rows (9 loads per 8 FMAs); the sums are
 * reduced together by three rounds of shuffles. */
static inline KATTR void KN(swk_dot8)(const float *restrict a, const float *const *bq, long i0, long i1, float *sums, int add) {
    long v1 = i0 + (i1 - i0) / 8 * 8;
    swk_v8 s[8];
    for (int q = 0; q < 8; q++) s[q] = (swk_v8){0, 0, 0, 0, 0, 0, 0, 0};
    for (long i = i0; i < v1; i += 8) {
        swk_v8 av = *(const swk_v8u *)(a + i);
        for (int q = 0; q < 8; q++) s[q] += av * *(const swk_v8u *)(bq[q] + i);
    }
    swk_v8 p01 = __builtin_shufflevector(s[0], s[1], 0, 8, 1, 9, 4, 12, 5, 13) + __builtin_shufflevector(s[0], s[1], 2, 10, 3, 11, 6, 14, 7, 15);
    swk_v8 p23 = __builtin_shufflevector(s[2], s[3], 0, 8, 1, 9, 4, 12, 5, 13) + __builtin_shufflevector(s[2], s[3], 2, 10, 3, 11, 6, 14, 7, 15);
    swk_v8 p45 = __builtin_shufflevector(s[4], s[5], 0, 8, 1, 9, 4, 12, 5, 13) + __builtin_shufflevector(s[4], s[5], 2, 10, 3, 11, 6, 14, 7, 15);
    swk_v8 p67 = __builtin_shufflevector(s[6], s[7], 0, 8, 1, 9, 4, 12, 5, 13) + __builtin_shufflevector(s[6], s[7], 2, 10, 3, 11, 6, 14, 7, 15);
    swk_v8 q0 = __builtin_shufflevector(p01, p23, 0, 1, 8, 9, 4, 5, 12, 13) + __builtin_shufflevector(p01, p23, 2, 3, 10, 11, 6, 7, 14, 15);
    swk_v8 q1 = __builtin_shufflevector(p45, p67, 0, 1, 8, 9, 4, 5, 12, 13) + __builtin_shufflevector(p45, p67, 2, 3, 10, 11, 6, 7, 14, 15);
    swk_v8 t = __builtin_shufflevector(q0, q1, 0, 1, 2, 3, 8, 9, 10, 11) + __builtin_shufflevector(q0, q1, 4, 5, 6, 7, 12, 13, 14, 15);
    for (long i = v1; i < i1; i++)
        for (int q = 0; q < 8; q++) t[q] += a[i] * bq[q][i];
    if (add) t += *(swk_v8u *)sums;
    *(swk_v8u *)sums = t;
}

/* Σ_{i0 ≤ i < i1} a[i] · b[i] (8 lane sums, then the tail). */
static inline KATTR float KN(swk_dot1)(const float *restrict a, const float *restrict b, long i0, long i1) {
    long v1 = i0 + (i1 - i0) / 8 * 8;
    swk_v8 s0 = {0, 0, 0, 0, 0, 0, 0, 0};
    for (long i = i0; i < v1; i += 8) s0 += *(const swk_v8u *)(a + i) * *(const swk_v8u *)(b + i);
    float t0 = 0;
    for (long i = v1; i < i1; i++) t0 += a[i] * b[i];
    for (int l = 0; l < 8; l++) t0 += s0[l];
    return t0;
}

/* One row's entries of the sampled product, eight at a time (swk_dot8), summed over `blocks`
 * blocks of the operands (block k of a at a + k·sa, of b at b + k·sb). */
KATTR void KN(swk_sddmm_rows)(const int32_t *restrict rowptr, const int32_t *restrict col, long r0, long r1,
                              const float *restrict a, long lda, long sa, const float *restrict b, long ldb, long sb,
                              long blocks, long n, float *restrict out) {
    for (long r = r0; r < r1; r++) {
        long e = rowptr[r], end = rowptr[r + 1];
        for (; e + 8 <= end; e += 8)
            for (long k = 0; k < blocks; k++) {
                const float *bq[8];
                for (int q = 0; q < 8; q++) bq[q] = b + k * sb + (long)col[e + q] * ldb;
                KN(swk_dot8)(a + k * sa + r * lda, bq, 0, n, out + e, k > 0);
            }
        for (; e < end; e++) {
            float t = 0;
            for (long k = 0; k < blocks; k++) t += KN(swk_dot1)(a + k * sa + r * lda, b + k * sb + (long)col[e] * ldb, 0, n);
            out[e] = t;
        }
    }
}

KATTR void KN(swk_sgd_active)(float *restrict w, const int32_t *restrict idx, const float *restrict g, float *restrict b,
                              long k, float lr, float mu, float wd, int nesterov, int first) {
    if (mu == 0) {
        for (long j = 0; j < k; j++) { long i = idx[j]; w[i] -= lr * (g[j] + wd * w[i]); }
        return;
    }
    for (long j = 0; j < k; j++) {  /* b compact: b[j] belongs to w[idx[j]] */
        long i = idx[j];
        float d = g[j] + wd * w[i];
        float nb = first ? d : mu * b[j] + d;
        b[j] = nb;
        w[i] -= lr * (nesterov ? d + mu * nb : nb);
    }
}

KATTR void KN(swk_scatter)(const float *restrict src, const int32_t *restrict idx, long k, float *restrict dst) {
    for (long j = 0; j < k; j++) dst[idx[j]] = src[j];
}

KATTR void KN(swk_gather)(const float *restrict src, const int32_t *restrict idx, long k, float *restrict out) {
    for (long j = 0; j < k; j++) out[j] = idx[j] < 0 ? 0.0f : src[idx[j]];
}

KATTR void KN(swk_gather_product)(const float *restrict w, const float *restrict m, const int32_t *restrict idx, long k,
                                  float *restrict out) {
    for (long j = 0; j < k; j++) {
        long i = idx[j];
        out[j] = i < 0 ? 0.0f : w[i] * m[i];
    }
}

/* The weight gradient of a sparse convolution on the direct (shifted-plane) layout, added into
 * out: out[e] += Σ_{i<len} dy[r·lddy + i] · base[offs[e] + i] for the entries e of rows
 * [r0, r1). Positions in blocks of 256 (outermost) so one block of every input plane stays in L2
 * while all rows read it; eight entries at a time share each load of dy (swk_dot8). */
KATTR void KN(swk_csr_rows_grad)(const int32_t *restrict rowptr, const int64_t *restrict offs, long r0, long r1,
                                 const float *restrict base, long len, const float *restrict dy, long lddy,
                                 float *restrict out) {
    for (long i0 = 0; i0 < len; i0 += 256) {
        long i1 = len - i0 < 256 ? len : i0 + 256;
        for (long r = r0; r < r1; r++) {
            const float *dr = dy + r * lddy;
            long e = rowptr[r], end = rowptr[r + 1];
            for (; e + 8 <= end; e += 8) {
                const float *bq[8];
                for (int q = 0; q < 8; q++) bq[q] = base + offs[e + q];
                KN(swk_dot8)(dr, bq, i0, i1, out + e, 1);
            }
            for (; e < end; e++) out[e] += KN(swk_dot1)(dr, base + offs[e], i0, i1);
        }
    }
}

KATTR long KN(swk_mask_csr)(const float *restrict m, long rows, long cols, int32_t *restrict rowptr, int32_t *restrict col) {
    long k = 0;
    rowptr[0] = 0;
    for (long r = 0; r < rows; r++) {
        const float *row = m + r * cols;
        for (long c = 0; c < cols; c++) { col[k] = (int32_t)c; k += row[c] != 0.0f; }  /* branchless compress */
        rowptr[r + 1] = (int32_t)k;
    }
    return k;
}

KATTR long KN(swk_lane_pack_count)(const int32_t *restrict rowptr, const int32_t *restrict col, long rows, long tiles,
                                   long tile_cols, int32_t *restrict ptr) {
    for (long i = 0; i <= tiles * rows; i++) ptr[i] = 0;
    for (long r = 0; r < rows; r++)
        for (long e = rowptr[r]; e < rowptr[r + 1]; e++) ptr[(col[e] / tile_cols) * rows + r + 1]++;
    long chunks = 0;
    for (long i = 1; i <= tiles * rows; i++) { chunks += (ptr[i] + 7) / 8; ptr[i] = (int32_t)chunks; }
    return chunks;
}

KATTR int KN(swk_lane_pack_fill)(const int32_t *restrict rowptr, const int32_t *restrict col, long rows, long tiles,
                                 long tile_cols, const int32_t *restrict col_off, const int32_t *restrict ptr,
                                 int32_t *restrict offs, int32_t *restrict srcs, int32_t *restrict bases,
                                 uint64_t *restrict deltas) {
    for (long r = 0; r < rows; r++) {
        long e = rowptr[r], end = rowptr[r + 1];
        while (e < end) {  /* one run: the row's entries in one tile (a row's columns ascend) */
            long t = col[e] / tile_cols, slot = t * rows + r, at = (long)ptr[slot] * 8, stop = (long)ptr[slot + 1] * 8;
            for (; e < end && col[e] / tile_cols == t; e++, at++) { offs[at] = col_off[col[e]]; srcs[at] = (int32_t)e; }
            for (; at < stop; at++) { offs[at] = offs[at / 8 * 8]; srcs[at] = -1; }  /* padding reads its chunk's first input */
        }
    }
    if (!bases) return 0;
    long chunks = ptr[tiles * rows];
    for (long c = 0; c < chunks; c++) {
        uint64_t d = 0;
        for (int q = 0; q < 8; q++) {
            long delta = (long)offs[8 * c + q] - offs[8 * c];
            if (delta < 0 || delta % 64 != 0 || delta / 64 >= 256) return 0;
            d |= (uint64_t)(delta / 64) << (8 * q);
        }
        bases[c] = offs[8 * c]; deltas[c] = d;
    }
    return 1;
}
