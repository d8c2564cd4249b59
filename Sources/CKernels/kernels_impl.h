/* Kernel bodies, included twice by kernels.c: once built for AVX2+FMA (KN adds _avx2) and
 * once for baseline x86-64 (KN adds _base). Helpers are `static inline` and take the target of
 * the function they are inlined into. */
KATTR void KN(swk_relu)(const float *restrict x, float *restrict y, long n) {
    for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

KATTR void KN(swk_relu_backward)(const float *restrict y, const float *restrict g, float *restrict dx, long n) {
    for (long i = 0; i < n; i++) dx[i] = y[i] > 0 ? g[i] : 0;
}

KATTR void KN(swk_mul)(const float *restrict a, const float *restrict b, float *restrict out, long n) {
    for (long i = 0; i < n; i++) out[i] = a[i] * b[i];
}

KATTR void KN(swk_scores_grad)(const float *restrict g, const float *restrict w, const float *restrict s,
                            float *restrict d, long n, int sign_of_s) {
    if (sign_of_s) {
        for (long i = 0; i < n; i++) { float v = g[i] * w[i]; d[i] = s[i] < 0 ? -v : v; }
    } else {
        for (long i = 0; i < n; i++) d[i] = g[i] * w[i];
    }
}

KATTR void KN(swk_sigmoid_scores_grad)(const float *g, const float *restrict w, const float *restrict s,
                                    const float *restrict slope, float *d, long n) {
    if (d == g) {  /* in place: one pointer, so the loops still vectorise */
        float *restrict x = d;
        if (slope) {
            for (long i = 0; i < n; i++) x[i] = x[i] * w[i] * slope[i];
        } else {
            for (long i = 0; i < n; i++) x[i] = x[i] * w[i] * sigmoid_slope(neg_exp(s[i]));
        }
        return;
    }
    const float *restrict gr = g;
    float *restrict dr = d;
    if (slope) {
        for (long i = 0; i < n; i++) dr[i] = gr[i] * w[i] * slope[i];
    } else {
        for (long i = 0; i < n; i++) dr[i] = gr[i] * w[i] * sigmoid_slope(neg_exp(s[i]));
    }
}

/* The draw's loop, 8 lanes at a time (written out: the compiler's own vectorisation of the
 * scalar loop spilled registers, ~10 % slower), a scalar tail with the same operations; `keep`
 * and `fuse` (constants at each call) say whether it also writes the slopes and w ⊙ m. */
KATTR static inline __attribute__((always_inline)) long KN(bernoulli_impl)(
    const float *restrict s, float *restrict m, float *restrict slope, const float *restrict w, float *restrict wm, long n,
    uint64_t key, long offset, const int keep, const int fuse) {
    /* u < σ(s) = 1 / (1 + e^−s) is tested as u·(1 + e^−s) < 1 (no division); u has 24 bits. */
    const uint32_t seed = draw_seed(key);
    const long n8 = n & ~7L;
    swk_v8w ctr = (swk_v8w){0, 1, 2, 3, 4, 5, 6, 7} + (uint32_t)offset;
    int64_t ones = 0;
    for (long i0 = 0; i0 < n8; i0 += 1L << 24) {  /* lane counts stay far below 2^31 */
        long e8 = n8 - i0 < (1L << 24) ? n8 : i0 + (1L << 24);
        swk_v8i count = {0};
        for (long i = i0; i < e8; i += 8) {
            swk_v8w h = ctr ^ seed;
            ctr += 8;
            h ^= h >> 16; h *= 0x7feb352dU;  /* mix32, lane-wise */
            h ^= h >> 15; h *= 0x846ca68bU;
            h ^= h >> 16;
            swk_v8 u = __builtin_convertvector((swk_v8i)(h >> 8), swk_v8) * (1.0f / 16777216.0f);
            swk_v8 e = NEG_EXP(*(const swk_v8u *)(s + i), swk_v8, swk_v8w);
            swk_v8i bit = u * (1.0f + e) < 1.0f;  /* −1 (all bits) or 0 */
            swk_v8 mv = (swk_v8)(bit & (swk_v8i)((swk_v8){0} + 1.0f));
            *(swk_v8u *)(m + i) = mv;
            if (fuse) *(swk_v8u *)(wm + i) = *(const swk_v8u *)(w + i) * mv;  /* as swk_mul: NaN·0 stays NaN */
            if (keep) *(swk_v8u *)(slope + i) = SIGMOID_SLOPE(e, swk_v8);
            count -= bit;
        }
        for (int j = 0; j < 8; j++) ones += count[j];
    }
    for (long i = n8; i < n; i++) {
        uint32_t h = mix32((uint32_t)(offset + i) ^ seed);
        float u = (float)(int32_t)(h >> 8) * (1.0f / 16777216.0f);
        float e = neg_exp(s[i]);
        int32_t bit = u * (1.0f + e) < 1.0f;
        m[i] = (float)bit;
        if (fuse) wm[i] = w[i] * m[i];
        if (keep) slope[i] = sigmoid_slope(e);
        ones += bit;
    }
    return ones;
}

KATTR long KN(swk_bernoulli_sigmoid)(const float *restrict s, float *restrict m, float *restrict slope, const float *restrict w,
                                    float *restrict wm, long n, uint64_t key, long offset) {
    if (wm) return slope ? KN(bernoulli_impl)(s, m, slope, w, wm, n, key, offset, 1, 1) : KN(bernoulli_impl)(s, m, slope, w, wm, n, key, offset, 0, 1);
    return slope ? KN(bernoulli_impl)(s, m, slope, w, wm, n, key, offset, 1, 0) : KN(bernoulli_impl)(s, m, slope, w, wm, n, key, offset, 0, 0);
}

KATTR long KN(swk_count_nonzero)(const float *restrict x, long n) {
    long c = 0;
    for (long i = 0; i < n; i++) c += x[i] != 0;
    return c;
}

KATTR void KN(swk_maxpool2x2)(const float *restrict x, long planes, long h, long w, float *restrict out, int32_t *restrict arg) {
    long oh = h / 2, ow = w / 2;
    for (long p = 0; p < planes; p++) {
        const float *src = x + p * h * w;
        float *dst = out + p * oh * ow;
        int32_t *a = arg + p * oh * ow;
        int32_t base = (int32_t)(p * h * w);
        for (long y = 0; y < oh; y++) {
            const float *r0 = src + 2 * y * w, *r1 = r0 + w;
            for (long xo = 0; xo < ow; xo++) {
                long i0 = 2 * y * w + 2 * xo;
                float v = r0[2 * xo]; int32_t ai = (int32_t)i0;
                if (r0[2 * xo + 1] > v) { v = r0[2 * xo + 1]; ai = (int32_t)(i0 + 1); }
                if (r1[2 * xo] > v) { v = r1[2 * xo]; ai = (int32_t)(i0 + w); }
                if (r1[2 * xo + 1] > v) { v = r1[2 * xo + 1]; ai = (int32_t)(i0 + w + 1); }
                dst[y * ow + xo] = v;
                a[y * ow + xo] = base + ai;
            }
        }
    }
}

/* Rows r0..r1 of one block of W outputs starting at i0, the W accumulators in registers.
 * Always inlined with a constant W, so each width gets its own fully unrolled loops. */
KATTR static inline __attribute__((always_inline)) void KN(csr_rows_block)(
    const int32_t *restrict rowptr, const int64_t *restrict offs, const float *restrict val, long r0, long r1,
    const float *restrict base, long i0, float *restrict out, long ldo, const float *restrict bias, int relu, const int W) {
    for (long r = r0; r < r1; r++) {
        float acc[64];
        float b = bias ? bias[r] : 0.0f;
        for (int l = 0; l < W; l++) acc[l] = b;
        for (long e = rowptr[r]; e < rowptr[r + 1]; e++) {
            const float *restrict a = base + offs[e] + i0;
            float w = val[e];
            for (int l = 0; l < W; l++) acc[l] += w * a[l];
        }
        if (relu) for (int l = 0; l < W; l++) acc[l] = acc[l] > 0 ? acc[l] : 0;
        float *restrict o = out + r * ldo + i0;
        for (int l = 0; l < W; l++) o[l] = acc[l];
    }
}

KATTR void KN(swk_csr_rows)(const int32_t *restrict rowptr, const int64_t *restrict offs, const float *restrict val,
                            long r0, long r1, const float *restrict base, long len, float *restrict out, long ldo,
                            const float *restrict bias, int relu) {
    /* Blocks of 64 outputs outermost: every row's non-zeros then read the same few input
     * segments (the rows around this block in each plane), which stay in L1/L2. */
    long i0 = 0;
    for (; i0 + 64 <= len; i0 += 64) KN(csr_rows_block)(rowptr, offs, val, r0, r1, base, i0, out, ldo, bias, relu, 64);
    /* The rest (< 64) in one pass of its own width: a 7×7 plane's 56 positions as 8-wide blocks
     * would walk every row's non-zeros 7 times, loading index and value once per 8 outputs. */
    switch ((len - i0) / 8) {
#define SWK_CSR_REST(k) case k: KN(csr_rows_block)(rowptr, offs, val, r0, r1, base, i0, out, ldo, bias, relu, 8 * k); i0 += 8 * k; break;
    SWK_CSR_REST(1) SWK_CSR_REST(2) SWK_CSR_REST(3) SWK_CSR_REST(4) SWK_CSR_REST(5) SWK_CSR_REST(6) SWK_CSR_REST(7)
#undef SWK_CSR_REST
    default: break;
    }
    for (long r = r0; r < r1 && i0 < len; r++) {
        float b = bias ? bias[r] : 0.0f;
        for (long i = i0; i < len; i++) {
            float acc = b;
            for (long e = rowptr[r]; e < rowptr[r + 1]; e++) acc += val[e] * base[offs[e] + i];
            out[r * ldo + i] = relu && acc < 0 ? 0 : acc;
        }
    }
}

#define LANES 32
KATTR void KN(swk_csr_linear)(const int32_t *restrict rowptr, const int32_t *restrict col, const float *restrict val,
                           long rows, long cols, const float *restrict x, long ldx, long nb, float *restrict y, long ldy,
                           const float *restrict bias, float *restrict scratch, int relu) {
    for (long n0 = 0; n0 < nb; n0 += LANES) {
        long nc = nb - n0 < LANES ? nb - n0 : LANES;
        /* Transpose the block: scratch[j][l] = x[n0 + l][j], zero lanes past the batch. */
        for (long j = 0; j < cols; j++) {
            float *t = scratch + j * LANES;
            for (long l = 0; l < nc; l++) t[l] = x[(n0 + l) * ldx + j];
            for (long l = nc; l < LANES; l++) t[l] = 0;
        }
        for (long r = 0; r < rows; r++) {
            float acc[LANES];
            float b = bias ? bias[r] : 0.0f;
            for (long l = 0; l < LANES; l++) acc[l] = b;
            for (long e = rowptr[r]; e < rowptr[r + 1]; e++) {
                const float *restrict t = scratch + (long)col[e] * LANES;
                float wv = val[e];
                for (long l = 0; l < LANES; l++) acc[l] += wv * t[l];
            }
            if (relu) for (long l = 0; l < LANES; l++) acc[l] = acc[l] > 0 ? acc[l] : 0;
            for (long l = 0; l < nc; l++) y[(n0 + l) * ldy + r] = acc[l];
        }
    }
}

/* Radix-select passes for top-k (Masking/TopK.swift). Keys are the order-preserving unsigned
 * images of the floats (by value, or by magnitude when `mag`). */
KATTR void KN(swk_radix_hist)(const float *restrict v, long n, int mag, int64_t *restrict hist) {
    /* Four interleaved 32-bit sub-histograms: neighbouring weights often share a bin, and one
     * counter would serialise every increment on the previous one's store. */
    uint32_t h[4][2048];
    memset(h, 0, sizeof h);
    long i = 0;
#define RADIX_HIST_LOOP(KEY) \
    for (; i + 4 <= n; i += 4) { \
        h[0][KEY(v[i]) >> 21]++; h[1][KEY(v[i + 1]) >> 21]++; \
        h[2][KEY(v[i + 2]) >> 21]++; h[3][KEY(v[i + 3]) >> 21]++; \
    } \
    for (; i < n; i++) h[0][KEY(v[i]) >> 21]++;
    if (mag) { RADIX_HIST_LOOP(radix_key_mag) } else { RADIX_HIST_LOOP(radix_key_val) }
#undef RADIX_HIST_LOOP
    for (int b = 0; b < 2048; b++) hist[b] += (int64_t)h[0][b] + h[1][b] + h[2][b] + h[3][b];
}

KATTR long KN(swk_radix_collect)(const float *restrict v, long n, int mag, uint32_t prefix, uint32_t *restrict keys,
                                 int64_t *restrict idx, int64_t base) {
    /* Portable build (x86-64 with AVX2 uses radix_collect_packed in kernels.c). Groups of 16
     * are tested at once; only groups holding a candidate are compacted, branch-free: always
     * write, advance on a match. */
    long m = 0, i = 0;
#define RADIX_COLLECT_LOOP(KEY) \
    for (; i + 16 <= n; i += 16) { \
        int any = 0; \
        for (int l = 0; l < 16; l++) any |= (KEY(v[i + l]) >> 21) == prefix; \
        if (!any) continue; \
        for (int l = 0; l < 16; l++) { \
            uint32_t k = KEY(v[i + l]); \
            keys[m] = k; idx[m] = base + i + l; \
            m += (k >> 21) == prefix; \
        } \
    } \
    for (; i < n; i++) { \
        uint32_t k = KEY(v[i]); \
        keys[m] = k; idx[m] = base + i; \
        m += (k >> 21) == prefix; \
    }
    if (mag) { RADIX_COLLECT_LOOP(radix_key_mag) } else { RADIX_COLLECT_LOOP(radix_key_val) }
#undef RADIX_COLLECT_LOOP
    return m;
}

KATTR long KN(swk_radix_window)(const float *restrict v, long n, int mag, uint32_t lo, uint32_t hi, float *restrict out,
                                uint32_t *restrict keys, int64_t *restrict idx, int64_t base, int64_t *restrict above) {
    /* Portable build (x86-64 with AVX2 uses radix_window_packed in kernels.c). */
    long m = 0, a = 0;
#define RADIX_WINDOW_LOOP(KEY) \
    for (long i = 0; i < n; i++) { \
        uint32_t k = KEY(v[i]); \
        int gt = k > hi; \
        out[i] = gt ? 1.0f : 0.0f; \
        a += gt; \
        keys[m] = k; idx[m] = base + i; \
        m += !gt && k >= lo; \
    }
    if (mag) { RADIX_WINDOW_LOOP(radix_key_mag) } else { RADIX_WINDOW_LOOP(radix_key_val) }
#undef RADIX_WINDOW_LOOP
    *above = a;
    return m;
}

KATTR void KN(swk_mask_above)(const float *restrict v, long n, int mag, uint32_t t, float *restrict out) {
    if (mag) { for (long i = 0; i < n; i++) out[i] = radix_key_mag(v[i]) > t ? 1.0f : 0.0f; }
    else { for (long i = 0; i < n; i++) out[i] = radix_key_val(v[i]) > t ? 1.0f : 0.0f; }
}

KATTR int KN(swk_all_finite)(const float *restrict x, long n) {
    uint32_t bad = 0;
    for (long i = 0; i < n; i++) { uint32_t b; memcpy(&b, &x[i], 4); bad |= (b & 0x7F800000u) == 0x7F800000u; }
    return !bad;
}

/* SGD with momentum buffer b (PyTorch's rule): d = g + wd·w; b = first ? d : mu·b + d;
 * w −= lr·(nesterov ? d + mu·b : b). With mu = 0, b is not touched: w −= lr·d. */
KATTR void KN(swk_sgd)(float *restrict w, const float *restrict g, float *restrict b, long n, float lr, float mu,
                       float wd, int nesterov, int first) {
    if (mu == 0) { for (long i = 0; i < n; i++) w[i] -= lr * (g[i] + wd * w[i]); return; }
    for (long i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        float nb = first ? d : mu * b[i] + d;
        b[i] = nb;
        w[i] -= lr * (nesterov ? d + mu * nb : nb);
    }
}

/* g += l1·sign(w) (0 where w = 0): the L1 penalty's gradient. */
KATTR void KN(swk_add_l1)(float *restrict g, const float *restrict w, long n, float l1) {
    for (long i = 0; i < n; i++) g[i] += w[i] > 0 ? l1 : (w[i] < 0 ? -l1 : 0.0f);
}

/* Targeted dropout: every m[i] == 0 becomes 1 with probability 1 − rho, drawn from the same
 * counter-based uniforms as swk_bernoulli_sigmoid (key, offset + i). */
KATTR void KN(swk_dropout_fill)(float *restrict m, long n, uint64_t key, long offset, float rho) {
    uint32_t seed = draw_seed(key);
    for (long i = 0; i < n; i++) {
        uint32_t h = mix32((uint32_t)(offset + i) ^ seed);
        float u = (float)(int32_t)(h >> 8) * (1.0f / 16777216.0f);
        m[i] = m[i] != 0 ? m[i] : (u < rho ? 0.0f : 1.0f);
    }
}

/* Census of a mask: how many entries are exactly 1, exactly 0, and finite and ≥ 0 (NaN fails
 * every comparison). Branch-free counts, so the loop vectorises. */
KATTR void KN(swk_mask_census)(const float *restrict m, long n, long *ones, long *zeros, long *valid) {
    long o = 0, z = 0, v = 0;
    for (long i = 0; i < n; i++) {
        float x = m[i];
        o += x == 1.0f;
        z += x == 0.0f;
        v += (x >= 0.0f) & (x <= 3.402823466e+38f);
    }
    *ones = o; *zeros = z; *valid = v;
}
