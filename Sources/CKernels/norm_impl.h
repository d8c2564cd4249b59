/* Normalisation kernels, included twice by norm.c (AVX2+FMA and baseline builds; KN names them).
 * Sums run in float over blocks of 512 values (8 lanes × 64) and add the blocks in double, so
 * long runs keep the double precision of a plain loop at vector speed. */

KATTR void KN(swk_sum_dot)(const float *restrict a, const float *restrict b, long n, double *restrict sa,
                           double *restrict sab) {
    double da = 0, dab = 0;
    for (long i0 = 0; i0 < n; i0 += 512) {
        long end = n - i0 < 512 ? n : i0 + 512;
        float pa[8] = {0}, pab[8] = {0};
        long i = i0;
        for (; i + 8 <= end; i += 8)
            for (int l = 0; l < 8; l++) { pa[l] += a[i + l]; pab[l] += a[i + l] * b[i + l]; }
        float ra = 0, rab = 0;
        for (; i < end; i++) { ra += a[i]; rab += a[i] * b[i]; }
        for (int l = 0; l < 8; l++) { ra += pa[l]; rab += pab[l]; }
        da += ra; dab += rab;
    }
    *sa += da; *sab += dab;
}

KATTR void KN(swk_norm_fwd)(const float *restrict x, long n, float mu, float inv, float ga, float be,
                            float *restrict xhat, float *restrict out) {
    for (long i = 0; i < n; i++) {
        float v = (x[i] - mu) * inv;
        xhat[i] = v;
        out[i] = ga * v + be;
    }
}

KATTR void KN(swk_norm_bwd)(const float *restrict dy, const float *restrict xhat, long n, float k, float a, float b,
                            float *restrict dx) {
    for (long i = 0; i < n; i++) dx[i] = k * (dy[i] - a - xhat[i] * b);
}
