/* Depthwise stride-1 kernels on zero-padded planes (Autograd/Ops+DepthwiseFast.swift), included
 * twice by depthwise.c (AVX2+FMA and baseline builds; KN names them). Tap t = (ki, kj) of a
 * kh × kw kernel sits at offset ki·wp + kj of the padded plane (row stride wp). */

/* out[i] = bias + Σ_t ker[t] · xpad[i + off_t] for i < q: all taps in one pass. */
KATTR void KN(swk_dw_fwd)(const float *restrict xpad, long wp, long kh, long kw, const float *restrict ker, long q,
                          float bias, float *restrict out) {
    for (long i = 0; i < q; i++) out[i] = bias;
    for (long ki = 0; ki < kh; ki++)
        for (long kj = 0; kj < kw; kj++) {
            const float w = ker[ki * kw + kj];
            const float *restrict s = xpad + ki * wp + kj;
            for (long i = 0; i < q; i++) out[i] += w * s[i];
        }
}

/* dpad[j] = Σ_t ker[t] · gq[j − off_t] for j < n, gq read as zero outside [0, q). */
KATTR void KN(swk_dw_bwd_input)(const float *restrict gq, long q, long wp, long kh, long kw, const float *restrict ker, long n,
                                float *restrict dpad) {
    for (long j = 0; j < n; j++) dpad[j] = 0;
    for (long ki = 0; ki < kh; ki++)
        for (long kj = 0; kj < kw; kj++) {
            const float w = ker[ki * kw + kj];
            long off = ki * wp + kj, end = q + off < n ? q + off : n;
            float *restrict d = dpad + off;
            for (long i = 0; i < end - off; i++) d[i] += w * gq[i];
        }
}

/* dw[t] += Σ_{i<q} gq[i] · xpad[i + off_t]: 8-lane partial sums, added in double per tap. */
KATTR void KN(swk_dw_bwd_weight)(const float *restrict gq, const float *restrict xpad, long q, long wp, long kh, long kw,
                                 float *restrict dw) {
    for (long ki = 0; ki < kh; ki++)
        for (long kj = 0; kj < kw; kj++) {
            const float *restrict s = xpad + ki * wp + kj;
            float acc[8] = {0};
            long i = 0;
            for (; i + 8 <= q; i += 8)
                for (int l = 0; l < 8; l++) acc[l] += gq[i + l] * s[i + l];
            double total = 0;
            for (; i < q; i++) total += gq[i] * s[i];
            for (int l = 0; l < 8; l++) total += acc[l];
            dw[ki * kw + kj] += (float)total;
        }
}
