/* Normalisation kernels, included twice by norm.c (AVX2+FMA and baseline builds; KN names them).
 * Sums run in float over blocks of 512 values (8 lanes × 64) and add the blocks in double, so
 * long runs keep the double precision of a plain loop at vector speed. A norm fused with the
 * ReLU that follows it (`relu`, `m`) keeps its output y = max(γ·x̂ + β, 0) as the ReLU's mask:
 * the gradient that reaches the norm is dy·[y > 0]. Each kernel has its plain loop and its
 * masked one, chosen once per call, so the plain loops stay as fast as without the option. */

/* Σ a and Σ a·b over one block [i0, end) in 8 float lanes (vertical adds, so it vectorises
 * without reassociation); with a mask, a counts where m > 0 (a bit-mask select, no branch). */
#define SWK_SUM_DOT_BLOCK(VALUE)                                                              \
    {                                                                                         \
        float pa[8] = {0}, pab[8] = {0};                                                      \
        long i = i0;                                                                          \
        for (; i + 8 <= end; i += 8)                                                          \
            for (int l = 0; l < 8; l++) { float v = VALUE(i + l); pa[l] += v; pab[l] += v * b[i + l]; } \
        float ra = 0, rab = 0;                                                                \
        for (; i < end; i++) { float v = VALUE(i); ra += v; rab += v * b[i]; }                \
        for (int l = 0; l < 8; l++) { ra += pa[l]; rab += pab[l]; }                           \
        da += ra; dab += rab;                                                                 \
    }
#define SWK_PLAIN(k) a[k]
#define SWK_MASKED(k) swk_keep_where_positive(a[k], m[k])

KATTR void KN(swk_sum_dot)(const float *restrict a, const float *restrict b, const float *restrict m, long n, double *restrict sa,
                           double *restrict sab) {
    double da = 0, dab = 0;
    for (long i0 = 0; i0 < n; i0 += 512) {
        long end = n - i0 < 512 ? n : i0 + 512;
        if (m) SWK_SUM_DOT_BLOCK(SWK_MASKED) else SWK_SUM_DOT_BLOCK(SWK_PLAIN)
    }
    *sa += da; *sab += dab;
}
#undef SWK_SUM_DOT_BLOCK
#undef SWK_PLAIN
#undef SWK_MASKED

KATTR void KN(swk_norm_fwd)(const float *restrict x, long n, float mu, float inv, float ga, float be, int relu,
                            float *restrict xhat, float *restrict out) {
    if (relu) {
        for (long i = 0; i < n; i++) {
            float v = (x[i] - mu) * inv, y = ga * v + be;
            xhat[i] = v;
            out[i] = y > 0 ? y : 0;
        }
        return;
    }
    for (long i = 0; i < n; i++) {
        float v = (x[i] - mu) * inv;
        xhat[i] = v;
        out[i] = ga * v + be;
    }
}

KATTR void KN(swk_norm_bwd)(const float *restrict dy, const float *restrict xhat, const float *restrict m, long n, float k, float a,
                            float b, float *restrict dx) {
    if (m) {
        for (long i = 0; i < n; i++) dx[i] = k * ((m[i] > 0 ? dy[i] : 0) - a - xhat[i] * b);
        return;
    }
    for (long i = 0; i < n; i++) dx[i] = k * (dy[i] - a - xhat[i] * b);
}
