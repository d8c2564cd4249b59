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

/* The phase planes of one h × w input plane zero-padded by `pad` on every side, for stride s
 * (DepthwiseLayout): phase (a, b), at (a·s + b)·hq·wq, holds xpad[s·y + a][s·x + b] at y·wq + x.
 * fill writes all `size` floats of dst (zeros where no input lands); gather is its inverse on the
 * input's positions (x[r][c] from the phase entry that holds it). Input row r lands in phase
 * row a = (r + pad) mod s, y = (r + pad) / s; its columns c ≡ b − pad (mod s) in phase column b,
 * at x = (c + pad) / s, one step per s columns. */
KATTR void KN(swk_dw_phase_fill)(const float *restrict x, long h, long w, long pad, long s, long hq, long wq, long size,
                                 float *restrict dst) {
    for (long i = 0; i < size; i++) dst[i] = 0;
    for (long r = 0; r < h; r++) {
        long rr = r + pad, a = rr % s, y = rr / s;
        const float *restrict xr = x + r * w;
        for (long b = 0; b < s; b++) {
            long c0 = ((b - pad) % s + s) % s;
            if (c0 >= w) continue;
            long n = (w - c0 + s - 1) / s;
            float *restrict d = dst + (a * s + b) * hq * wq + y * wq + (c0 + pad) / s;
            if (s == 1) for (long i = 0; i < n; i++) d[i] = xr[c0 + i];
            else for (long i = 0; i < n; i++) d[i] = xr[c0 + i * s];
        }
    }
}

KATTR void KN(swk_dw_phase_gather)(const float *restrict ph, long h, long w, long pad, long s, long hq, long wq,
                                   float *restrict x) {
    for (long r = 0; r < h; r++) {
        long rr = r + pad, a = rr % s, y = rr / s;
        float *restrict xr = x + r * w;
        for (long b = 0; b < s; b++) {
            long c0 = ((b - pad) % s + s) % s;
            if (c0 >= w) continue;
            long n = (w - c0 + s - 1) / s;
            const float *restrict p = ph + (a * s + b) * hq * wq + y * wq + (c0 + pad) / s;
            if (s == 1) for (long i = 0; i < n; i++) xr[c0 + i] = p[i];
            else for (long i = 0; i < n; i++) xr[c0 + i * s] = p[i];
        }
    }
}
