/* Normalisation kernels, included twice by norm.c (AVX2+FMA and baseline builds; KN names them).
 * Sums run in float over blocks of 512 values (8 lanes × 64) and add the blocks in double, so
 * long runs keep the double precision of a plain loop at vector speed. */

KATTR void KN(swk_sum_sumsq)(const float *restrict x, long n, double *restrict s, double *restrict ss) {
    double ds = 0, dss = 0;
    for (long i0 = 0; i0 < n; i0 += 512) {
        long end = n - i0 < 512 ? n : i0 + 512;
        float a[8] = {0}, b[8] = {0};
        long i = i0;
        for (; i + 8 <= end; i += 8)
            for (int l = 0; l < 8; l++) { float v = x[i + l]; a[l] += v; b[l] += v * v; }
        float ra = 0, rb = 0;
        for (; i < end; i++) { ra += x[i]; rb += x[i] * x[i]; }
        for (int l = 0; l < 8; l++) { ra += a[l]; rb += b[l]; }
        ds += ra; dss += rb;
    }
    *s += ds; *ss += dss;
}

KATTR void KN(swk_norm_fwd)(const float *restrict x, long n, float mu, float inv, float ga, float be,
                            float *restrict xhat, float *restrict out) {
    for (long i = 0; i < n; i++) {
        float v = (x[i] - mu) * inv;
        xhat[i] = v;
        out[i] = ga * v + be;
    }
}

KATTR void KN(swk_norm_bwd_sums)(const float *restrict dy, const float *restrict xhat, long n, double *restrict sdy,
                                 double *restrict sdyx) {
    double ds = 0, dsx = 0;
    for (long i0 = 0; i0 < n; i0 += 512) {
        long end = n - i0 < 512 ? n : i0 + 512;
        float a[8] = {0}, b[8] = {0};
        long i = i0;
        for (; i + 8 <= end; i += 8)
            for (int l = 0; l < 8; l++) { a[l] += dy[i + l]; b[l] += dy[i + l] * xhat[i + l]; }
        float ra = 0, rb = 0;
        for (; i < end; i++) { ra += dy[i]; rb += dy[i] * xhat[i]; }
        for (int l = 0; l < 8; l++) { ra += a[l]; rb += b[l]; }
        ds += ra; dsx += rb;
    }
    *sdy += ds; *sdyx += dsx;
}

KATTR void KN(swk_norm_bwd)(const float *restrict dy, const float *restrict xhat, long n, float k, float a, float b,
                            float *restrict dx) {
    for (long i = 0; i < n; i++) dx[i] = k * (dy[i] - a - xhat[i] * b);
}
