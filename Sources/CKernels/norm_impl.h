/* Normalisation kernels, included twice by norm.c (AVX2+FMA and baseline builds; KN names them).
 * Sums run in float over blocks of 512 values (8 lanes × 64) and add the blocks in double, so
 * long runs keep the double precision of a plain loop at vector speed. A norm fused with the
 * ReLU that follows it (`relu`, `m`) keeps its output y = max(γ·x̂ + β, 0) as the ReLU's mask:
 * the gradient that reaches the norm is dy·[y > 0]. Each kernel has its plain loop and its
 * masked one, chosen once per call, so the plain loops stay as fast as without the option. */

/* The runs of a group: `count` runs of `len` values, run r starting at r·stride (batch norm: a
 * channel's plane in every sample; instance norm: one plane). One call per group, so short
 * planes (4×4, 7×7) do not pay a call per plane. */

/* Σ a and Σ a·b over [i, end) of one run into 8 float lanes and a scalar tail (vertical adds, so
 * it vectorises without reassociation); with a mask, a counts where m > 0 (a bit-mask select). */
#define SWK_SUM_DOT_SPAN(VALUE)                                                               \
    {                                                                                         \
        for (; i + 8 <= end; i += 8)                                                          \
            for (int l = 0; l < 8; l++) { float v = VALUE(i + l); pa[l] += v; pab[l] += v * br[i + l]; } \
        for (; i < end; i++) { float v = VALUE(i); ra += v; rab += v * br[i]; }               \
    }
#define SWK_PLAIN(k) ar[k]
#define SWK_MASKED(k) swk_keep_where_positive(ar[k], mr[k])

/* The float partial sums go into the double totals after every 512 values (and at the end). */
KATTR void KN(swk_sum_dot)(const float *restrict a, const float *restrict b, const float *restrict m, long count, long len,
                           long stride, double *restrict sa, double *restrict sab) {
    double da = 0, dab = 0;
    float pa[8] = {0}, pab[8] = {0}, ra = 0, rab = 0;
    long pending = 0;
    for (long r = 0; r < count; r++) {
        const float *restrict ar = a + r * stride, *restrict br = b + r * stride, *restrict mr = m ? m + r * stride : 0;
        for (long i0 = 0; i0 < len; i0 += 512) {
            long end = len - i0 < 512 ? len : i0 + 512, i = i0;
            if (mr) SWK_SUM_DOT_SPAN(SWK_MASKED) else SWK_SUM_DOT_SPAN(SWK_PLAIN)
            pending += end - i0;
            if (pending >= 512 || (r == count - 1 && end == len)) {
                for (int l = 0; l < 8; l++) { ra += pa[l]; rab += pab[l]; pa[l] = 0; pab[l] = 0; }
                da += ra; dab += rab;
                ra = 0; rab = 0; pending = 0;
            }
        }
    }
    *sa += da; *sab += dab;
}
#undef SWK_SUM_DOT_SPAN
#undef SWK_PLAIN
#undef SWK_MASKED

KATTR void KN(swk_norm_fwd)(const float *restrict x, long count, long len, long stride, float mu, float inv, float ga, float be,
                            int relu, float *restrict xhat, float *restrict out) {
    for (long r = 0; r < count; r++) {
        const float *restrict xr = x + r * stride;
        float *restrict hr = xhat + r * stride, *restrict orow = out + r * stride;
        if (relu) {
            for (long i = 0; i < len; i++) {
                float v = (xr[i] - mu) * inv, y = ga * v + be;
                hr[i] = v;
                orow[i] = y > 0 ? y : 0;
            }
            continue;
        }
        for (long i = 0; i < len; i++) {
            float v = (xr[i] - mu) * inv;
            hr[i] = v;
            orow[i] = ga * v + be;
        }
    }
}

KATTR void KN(swk_norm_bwd)(const float *restrict dy, const float *restrict xhat, const float *restrict m, long count, long len,
                            long stride, float k, float a, float b, float *restrict dx) {
    for (long r = 0; r < count; r++) {
        const float *restrict dr = dy + r * stride, *restrict hr = xhat + r * stride;
        float *restrict xr = dx + r * stride;
        if (m) {
            const float *restrict mr = m + r * stride;
            for (long i = 0; i < len; i++) xr[i] = k * ((mr[i] > 0 ? dr[i] : 0) - a - hr[i] * b);
            continue;
        }
        for (long i = 0; i < len; i++) xr[i] = k * (dr[i] - a - hr[i] * b);
    }
}
