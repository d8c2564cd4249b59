/* Body of the lane kernel, included twice by lanes.c: once built for AVX2+FMA (KN adds _avx2),
 * once for baseline x86-64 (KN adds _base). Written with vector extensions, so the baseline
 * build runs the same arithmetic as two SSE halves. */

/* dst[c·ldd + r] = src[r·lds + c] for r < rows, c < cols: 8×8 tiles through registers (three
 * shuffle stages), scalar edges. */
KATTR void KN(swk_transpose)(const float *restrict src, long rows, long cols, long lds, float *restrict dst, long ldd) {
    long r8 = rows & ~7L, c8 = cols & ~7L;
    for (long r = 0; r < r8; r += 8) {
        for (long c = 0; c < c8; c += 8) {
            const float *s = src + r * lds + c;
            swk_v8 a0 = *(const swk_v8u *)(s), a1 = *(const swk_v8u *)(s + lds), a2 = *(const swk_v8u *)(s + 2 * lds),
                   a3 = *(const swk_v8u *)(s + 3 * lds), a4 = *(const swk_v8u *)(s + 4 * lds), a5 = *(const swk_v8u *)(s + 5 * lds),
                   a6 = *(const swk_v8u *)(s + 6 * lds), a7 = *(const swk_v8u *)(s + 7 * lds);
            swk_v8 t0 = __builtin_shufflevector(a0, a1, 0, 8, 1, 9, 4, 12, 5, 13), t1 = __builtin_shufflevector(a0, a1, 2, 10, 3, 11, 6, 14, 7, 15);
            swk_v8 t2 = __builtin_shufflevector(a2, a3, 0, 8, 1, 9, 4, 12, 5, 13), t3 = __builtin_shufflevector(a2, a3, 2, 10, 3, 11, 6, 14, 7, 15);
            swk_v8 t4 = __builtin_shufflevector(a4, a5, 0, 8, 1, 9, 4, 12, 5, 13), t5 = __builtin_shufflevector(a4, a5, 2, 10, 3, 11, 6, 14, 7, 15);
            swk_v8 t6 = __builtin_shufflevector(a6, a7, 0, 8, 1, 9, 4, 12, 5, 13), t7 = __builtin_shufflevector(a6, a7, 2, 10, 3, 11, 6, 14, 7, 15);
            swk_v8 u0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13), u1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
            swk_v8 u2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13), u3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
            swk_v8 u4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13), u5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
            swk_v8 u6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13), u7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
            float *d = dst + c * ldd + r;
            *(swk_v8u *)(d) = __builtin_shufflevector(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11);
            *(swk_v8u *)(d + ldd) = __builtin_shufflevector(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11);
            *(swk_v8u *)(d + 2 * ldd) = __builtin_shufflevector(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11);
            *(swk_v8u *)(d + 3 * ldd) = __builtin_shufflevector(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11);
            *(swk_v8u *)(d + 4 * ldd) = __builtin_shufflevector(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15);
            *(swk_v8u *)(d + 5 * ldd) = __builtin_shufflevector(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15);
            *(swk_v8u *)(d + 6 * ldd) = __builtin_shufflevector(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15);
            *(swk_v8u *)(d + 7 * ldd) = __builtin_shufflevector(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15);
        }
        for (long c = c8; c < cols; c++) for (long i = r; i < r + 8; i++) dst[c * ldd + i] = src[i * lds + c];
    }
    for (long r = r8; r < rows; r++) for (long c = 0; c < cols; c++) dst[c * ldd + r] = src[r * lds + c];
}

/* out[p, y, x] = max over dy, dx < 2 of src[p·lds + (2y + dy)·ldr + 2x + dx] for y < h / 2,
 * x < w / 2: 2×2 max pooling (stride 2, floor) read from a padded grid of rows ldr apart (the
 * lane convolution's output rows), 8 outputs per step from 16 inputs of each row. */
KATTR void KN(swk_maxpool2x2_grid)(const float *restrict src, long lds, long ldr, long planes, long h, long w,
                                   float *restrict out) {
    long oh = h / 2, ow = w / 2, ow8 = ow & ~7L;
    for (long p = 0; p < planes; p++)
        for (long y = 0; y < oh; y++) {
            const float *a = src + p * lds + 2 * y * ldr, *b = a + ldr;
            float *o = out + (p * oh + y) * ow;
            for (long x = 0; x < ow8; x += 8) {
                swk_v8 m0 = __builtin_elementwise_max(*(const swk_v8u *)(a + 2 * x), *(const swk_v8u *)(b + 2 * x));
                swk_v8 m1 = __builtin_elementwise_max(*(const swk_v8u *)(a + 2 * x + 8), *(const swk_v8u *)(b + 2 * x + 8));
                swk_v8 even = __builtin_shufflevector(m0, m1, 0, 2, 4, 6, 8, 10, 12, 14);
                swk_v8 odd = __builtin_shufflevector(m0, m1, 1, 3, 5, 7, 9, 11, 13, 15);
                *(swk_v8u *)(o + x) = __builtin_elementwise_max(even, odd);
            }
            for (long x = ow8; x < ow; x++) {
                float m = a[2 * x] > a[2 * x + 1] ? a[2 * x] : a[2 * x + 1];
                float n = b[2 * x] > b[2 * x + 1] ? b[2 * x] : b[2 * x + 1];
                o[x] = m > n ? m : n;
            }
        }
}

/* Lane q (0..3) of each 128-bit half of v, spread over that half: vshufps with an immediate,
 * one in-lane shuffle. */
#define HALF_BCAST(v, q) __builtin_shufflevector(v, v, q, q, q, q, 4 + (q), 4 + (q), 4 + (q), 4 + (q))
/* One kept weight: acc[j] += w · a[8j ..< 8j + 8] for the 8 vectors, a = its input row: src +
 * offs[q] (int32 offsets), or (compact) the chunk's base + its byte delta · 64. w is weight q of
 * the chunk spread over 8 lanes: from vl = (v0..v3, v0..v3) for q < 4, vh = (v4..v7, v4..v7)
 * otherwise. */
#define LANE_STEP(q)                                                                                       \
    {                                                                                                      \
        swk_v8 w = (q) < 4 ? HALF_BCAST(vl, (q) & 3) : HALF_BCAST(vh, (q) & 3);                            \
        const float *a = compact ? s0 + (long)((d >> (8 * q)) & 0xff) * 64 : src + o[q];                   \
        for (int j = 0; j < A; j++) acc[j] += w * *(const swk_v8u *)(a + 8 * j);                          \
    }

/* Both kernels' body; `compact` is a constant at each call, so each gets its own loop. */
KATTR static inline __attribute__((always_inline)) void KN(lane_rows_impl)(
    const int32_t *restrict ptr, const int32_t *restrict offs, const int32_t *restrict bases, const uint64_t *restrict deltas,
    const float *restrict val, long rows, long tiles, long r0, long r1, const float *restrict src, float *restrict out, long ldo,
    const float *restrict bias, int relu, float *restrict y, long ldy, long nb, const int compact, const int A) {
    for (long t = 0; t < tiles; t++) {
        const int32_t *tp = ptr + t * rows;
        long pending = r0;  /* first row not yet transposed into y (last tile) */
        for (long r = r0; r < r1; r++) {
            swk_v8 acc[8];
            swk_v8u *dst = (swk_v8u *)(out + r * ldo);
            if (t == 0) {
                float b = bias ? bias[r] : 0.0f;
                for (int j = 0; j < A; j++) acc[j] = (swk_v8){b, b, b, b, b, b, b, b};
            } else {
                for (int j = 0; j < A; j++) acc[j] = dst[j];
            }
            for (long c = tp[r]; c < tp[r + 1]; c++) {
                /* The chunk's 8 values as two vbroadcastf128 loads (load ports only), so that
                 * each weight's broadcast is one in-lane shuffle instead of a lane-crossing one
                 * or two (15 → 8 shuffle µops per chunk: 2:4 FC-1024 1.99 → 1.89 ms). Kept in
                 * registers: re-loading each value would add to the loads, the bottleneck. */
                swk_v4 l4 = *(const swk_v4u *)(val + 8 * c), h4 = *(const swk_v4u *)(val + 8 * c + 4);
                swk_v8 vl = __builtin_shufflevector(l4, l4, 0, 1, 2, 3, 0, 1, 2, 3);
                swk_v8 vh = __builtin_shufflevector(h4, h4, 0, 1, 2, 3, 0, 1, 2, 3);
#if SWK_AVX2_BUILD
                __asm__("" : "+x"(vl));
                __asm__("" : "+x"(vh));
#endif
                const int32_t *o = compact ? 0 : offs + 8 * c;
                const float *s0 = compact ? src + bases[c] : src;
                uint64_t d = compact ? deltas[c] : 0;
                LANE_STEP(0) LANE_STEP(1) LANE_STEP(2) LANE_STEP(3)
                LANE_STEP(4) LANE_STEP(5) LANE_STEP(6) LANE_STEP(7)
            }
            if (relu && t == tiles - 1) {
                const swk_v8 zero = {0, 0, 0, 0, 0, 0, 0, 0};
                for (int j = 0; j < A; j++) acc[j] = (swk_v8)((swk_v8i)acc[j] & (acc[j] > zero));
            }
            for (int j = 0; j < A; j++) dst[j] = acc[j];
            /* Every 8 finished rows go to y while they are still in L1. */
            if (y && t == tiles - 1 && (r + 1 - pending == 8 || r == r1 - 1)) {
                KN(swk_transpose)(out + pending * ldo, r + 1 - pending, nb, ldo, y + pending, ldy);
                pending = r + 1;
            }
        }
    }
}

KATTR void KN(swk_lane_rows)(const int32_t *restrict ptr, const int32_t *restrict offs, const float *restrict val,
                             long rows, long tiles, long r0, long r1, const float *restrict src,
                             float *restrict out, long ldo, const float *restrict bias, int relu,
                             float *restrict y, long ldy, long nb) {
    KN(lane_rows_impl)(ptr, offs, 0, 0, val, rows, tiles, r0, r1, src, out, ldo, bias, relu, y, ldy, nb, 0, 8);
}

/* The same over 32 lanes (4 accumulators): a plane's last block when 32 lanes cover its tail. */
KATTR void KN(swk_lane_rows32)(const int32_t *restrict ptr, const int32_t *restrict offs, const float *restrict val,
                               long rows, long tiles, long r0, long r1, const float *restrict src,
                               float *restrict out, long ldo, const float *restrict bias, int relu) {
    KN(lane_rows_impl)(ptr, offs, 0, 0, val, rows, tiles, r0, r1, src, out, ldo, bias, relu, 0, 0, 0, 0, 4);
}

KATTR void KN(swk_lane_rows_compact)(const int32_t *restrict ptr, const int32_t *restrict bases, const uint64_t *restrict deltas,
                                     const float *restrict val, long rows, long tiles, long r0, long r1, const float *restrict src,
                                     float *restrict out, long ldo, const float *restrict bias, int relu,
                                     float *restrict y, long ldy, long nb) {
    KN(lane_rows_impl)(ptr, 0, bases, deltas, val, rows, tiles, r0, r1, src, out, ldo, bias, relu, y, ldy, nb, 1, 8);
}
#undef LANE_STEP
#undef HALF_BCAST

