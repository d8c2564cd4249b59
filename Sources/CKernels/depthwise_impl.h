/* Depthwise convolution kernels on phase planes (Autograd/Ops+DepthwiseFast.swift), included
 * twice by depthwise.c (AVX2+FMA and baseline builds; KN names them). Tap t of the kernel reads
 * the input at offs[t] + i for grid position i: for stride 1, offs[t] = ki·wp + kj in the
 * zero-padded plane; for stride s, the offset of (ki mod s, kj mod s)'s phase plane plus
 * (ki / s)·wq + kj / s (see DepthwiseLayout). */

/* out[i] = bias + Σ_t ker[t] · x[offs[t] + i] for i < q: all taps in one pass. */
KATTR void KN(swk_dw_fwd)(const float *restrict x, const long *restrict offs, long taps, const float *restrict ker, long q,
                          float bias, float *restrict out) {
    for (long i = 0; i < q; i++) out[i] = bias;
    for (long t = 0; t < taps; t++) {
        const float w = ker[t];
        const float *restrict s = x + offs[t];
        for (long i = 0; i < q; i++) out[i] += w * s[i];
    }
}

/* dx[j] = Σ_t ker[t] · gq[j − offs[t]] for j < n, gq read as zero outside [0, q). */
KATTR void KN(swk_dw_bwd_input)(const float *restrict gq, long q, const long *restrict offs, long taps, const float *restrict ker,
                                long n, float *restrict dx) {
    for (long j = 0; j < n; j++) dx[j] = 0;
    for (long t = 0; t < taps; t++) {
        const float w = ker[t];
        long off = offs[t], end = q + off < n ? q + off : n;
        float *restrict d = dx + off;
        for (long i = 0; i < end - off; i++) d[i] += w * gq[i];
    }
}

/* dw[t] += Σ_{i<q} gq[i] · x[offs[t] + i]: 8-lane partial sums, added in double per tap. */
KATTR void KN(swk_dw_bwd_weight)(const float *restrict gq, const float *restrict x, long q, const long *restrict offs, long taps,
                                 float *restrict dw) {
    for (long t = 0; t < taps; t++) {
        const float *restrict s = x + offs[t];
        float acc[8] = {0};
        long i = 0;
        for (; i + 8 <= q; i += 8)
            for (int l = 0; l < 8; l++) acc[l] += gq[i + l] * s[i + l];
        double total = 0;
        for (; i < q; i++) total += gq[i] * s[i];
        for (int l = 0; l < 8; l++) total += acc[l];
        dw[t] += (float)total;
    }
}
