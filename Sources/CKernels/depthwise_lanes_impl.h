/* Depthwise convolution with the batch in the vector lanes (Autograd/Ops+DepthwiseLanes.swift),
 * included twice by depthwise_lanes.c (AVX2+FMA and baseline builds; KN names them). One call
 * handles one channel for all n samples, 8 samples at a time: lane l of every vector is sample
 * s0 + l. The channel's planes are transposed into a zero-padded lane plane
 *   P[(y + pad)·wp + x + pad][l] = x_l[y·w + x]       (hp = h + 2·pad rows, wp = w + 2·pad columns)
 * so that every tap of every output is one aligned vector load, whatever the plane's size or the
 * stride (no grid columns are wasted, unlike the phase planes):
 *   O[oy·ow + ox] = b + Σ_{ki,kj} k[ki·kw + kj] · P[(oy·s + ki)·wp + ox·s + kj].
 * Backward, with G the output gradient in lanes (zero in the lanes past n):
 *   dP[(oy·s + ki)·wp + ox·s + kj] += k[ki·kw + kj] · G[oy·ow + ox]   (dx = dP's interior)
 *   dk[t] += Σ_lanes Σ_o G[o] · P[o's tap t],   db += Σ_lanes Σ_o G[o].
 * Weight and bias sums run in float vectors and are added into double after every group of 8
 * samples (a few hundred products per lane at most between flushes). */

/* 8 vectors in, their 8×8 transpose out (three shuffle stages). */
KATTR static inline __attribute__((always_inline)) void KN(dwl_t8)(swk_v8 *r) {
    swk_v8 t0 = __builtin_shufflevector(r[0], r[1], 0, 8, 1, 9, 4, 12, 5, 13), t1 = __builtin_shufflevector(r[0], r[1], 2, 10, 3, 11, 6, 14, 7, 15);
    swk_v8 t2 = __builtin_shufflevector(r[2], r[3], 0, 8, 1, 9, 4, 12, 5, 13), t3 = __builtin_shufflevector(r[2], r[3], 2, 10, 3, 11, 6, 14, 7, 15);
    swk_v8 t4 = __builtin_shufflevector(r[4], r[5], 0, 8, 1, 9, 4, 12, 5, 13), t5 = __builtin_shufflevector(r[4], r[5], 2, 10, 3, 11, 6, 14, 7, 15);
    swk_v8 t6 = __builtin_shufflevector(r[6], r[7], 0, 8, 1, 9, 4, 12, 5, 13), t7 = __builtin_shufflevector(r[6], r[7], 2, 10, 3, 11, 6, 14, 7, 15);
    swk_v8 u0 = __builtin_shufflevector(t0, t2, 0, 1, 8, 9, 4, 5, 12, 13), u1 = __builtin_shufflevector(t0, t2, 2, 3, 10, 11, 6, 7, 14, 15);
    swk_v8 u2 = __builtin_shufflevector(t1, t3, 0, 1, 8, 9, 4, 5, 12, 13), u3 = __builtin_shufflevector(t1, t3, 2, 3, 10, 11, 6, 7, 14, 15);
    swk_v8 u4 = __builtin_shufflevector(t4, t6, 0, 1, 8, 9, 4, 5, 12, 13), u5 = __builtin_shufflevector(t4, t6, 2, 3, 10, 11, 6, 7, 14, 15);
    swk_v8 u6 = __builtin_shufflevector(t5, t7, 0, 1, 8, 9, 4, 5, 12, 13), u7 = __builtin_shufflevector(t5, t7, 2, 3, 10, 11, 6, 7, 14, 15);
    r[0] = __builtin_shufflevector(u0, u4, 0, 1, 2, 3, 8, 9, 10, 11);
    r[1] = __builtin_shufflevector(u1, u5, 0, 1, 2, 3, 8, 9, 10, 11);
    r[2] = __builtin_shufflevector(u2, u6, 0, 1, 2, 3, 8, 9, 10, 11);
    r[3] = __builtin_shufflevector(u3, u7, 0, 1, 2, 3, 8, 9, 10, 11);
    r[4] = __builtin_shufflevector(u0, u4, 4, 5, 6, 7, 12, 13, 14, 15);
    r[5] = __builtin_shufflevector(u1, u5, 4, 5, 6, 7, 12, 13, 14, 15);
    r[6] = __builtin_shufflevector(u2, u6, 4, 5, 6, 7, 12, 13, 14, 15);
    r[7] = __builtin_shufflevector(u3, u7, 4, 5, 6, 7, 12, 13, 14, 15);
}

/* Lanes in: dst[idx(p)] = (src[0][p], …, src[7][p]) for p < np, idx(p) = (p / w + pr)·wp + p % w + pc
 * (a w-wide plane placed at row pr, column pc of a plane wp wide; w = wp = np, pr = pc = 0: the
 * plain [np][8] layout). */
KATTR static void KN(dwl_lanes_in)(const float *const *src, long np, long w, long wp, long pr, long pc, swk_v8 *restrict dst) {
    long p = 0;
    swk_v8 *row = dst + pr * wp + pc;
    long x = 0;
    swk_v8 r[8];
    for (; p + 8 <= np; p += 8) {
        for (int l = 0; l < 8; l++) r[l] = *(const swk_v8u *)(src[l] + p);
        KN(dwl_t8)(r);
        for (int j = 0; j < 8; j++) {
            row[x] = r[j];
            if (++x == w) { x = 0; row += wp; }
        }
    }
    for (; p < np; p++) {
        swk_v8 v;
        for (int l = 0; l < 8; l++) v[l] = src[l][p];
        row[x] = v;
        if (++x == w) { x = 0; row += wp; }
    }
}

/* Lanes out: dst[l][p] = src[idx(p)][l] for p < np and the first nl lanes (idx as lanes_in's). */
KATTR static void KN(dwl_lanes_out)(const swk_v8 *restrict src, long np, long w, long wp, long pr, long pc, float *const *dst, int nl) {
    long p = 0;
    const swk_v8 *row = src + pr * wp + pc;
    long x = 0;
    swk_v8 r[8];
    for (; p + 8 <= np; p += 8) {
        for (int j = 0; j < 8; j++) {
            r[j] = row[x];
            if (++x == w) { x = 0; row += wp; }
        }
        KN(dwl_t8)(r);
        for (int l = 0; l < nl; l++) *(swk_v8u *)(dst[l] + p) = r[l];
    }
    for (; p < np; p++) {
        swk_v8 v = row[x];
        for (int l = 0; l < nl; l++) dst[l][p] = v[l];
        if (++x == w) { x = 0; row += wp; }
    }
}

/* The 8 lane pointers of the group at s0: sample s0 + l at base + (s0 + l)·stride, or `zero` past n. */
static inline int KN(dwl_sources)(const float *base, long stride, long s0, long n, const float *zero, const float **src) {
    int nl = n - s0 < 8 ? (int)(n - s0) : 8;
    for (int l = 0; l < 8; l++) src[l] = l < nl ? base + (s0 + l) * stride : zero;
    return nl;
}

/* out[oy·ow + ox] = bias + Σ_{ki,kj} k[ki·kw + kj] · src[(oy·s + ki)·ws + ox·s + kj] (src a lane
 * plane ws wide, already offset to the first tap); 3×3 unrolled with the weights in registers. */
KATTR static void KN(dwl_conv)(const swk_v8 *restrict src, long ws, long s, long kh, long kw, const float *k, float bias, long oh,
                               long ow, swk_v8 *restrict out) {
    if (kh == 3 && kw == 3) {
        const float k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
        for (long oy = 0; oy < oh; oy++) {
            const swk_v8 *r0 = src + oy * s * ws, *r1 = r0 + ws, *r2 = r1 + ws;
            swk_v8 *o = out + oy * ow;
            for (long ox = 0, c = 0; ox < ow; ox++, c += s)
                o[ox] = bias + k0 * r0[c] + k1 * r0[c + 1] + k2 * r0[c + 2] + k3 * r1[c] + k4 * r1[c + 1] + k5 * r1[c + 2] + k6 * r2[c]
                        + k7 * r2[c + 1] + k8 * r2[c + 2];
        }
        return;
    }
    for (long oy = 0; oy < oh; oy++)
        for (long ox = 0; ox < ow; ox++) {
            const swk_v8 *b = src + oy * s * ws + ox * s;
            swk_v8 acc = (swk_v8){0} + bias;
            for (long ki = 0; ki < kh; ki++)
                for (long kj = 0; kj < kw; kj++) acc += k[ki * kw + kj] * b[ki * ws + kj];
            out[oy * ow + ox] = acc;
        }
}

/* acc[t] += Σ_o G[o] · P[o's tap t] (the weight gradient's lane sums; 3×3 in registers), G's
 * output rows gs apart. */
KATTR static void KN(dwl_kgrad)(const swk_v8 *restrict G, long gs, const swk_v8 *restrict P, long wp, long s, long kh, long kw,
                                long oh, long ow, swk_v8 *restrict acc) {
    if (kh == 3 && kw == 3) {
        swk_v8 a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], a4 = acc[4], a5 = acc[5], a6 = acc[6], a7 = acc[7], a8 = acc[8];
        for (long oy = 0; oy < oh; oy++) {
            const swk_v8 *r0 = P + oy * s * wp, *r1 = r0 + wp, *r2 = r1 + wp, *go = G + oy * gs;
            for (long ox = 0, c = 0; ox < ow; ox++, c += s) {
                swk_v8 gv = go[ox];
                a0 += gv * r0[c]; a1 += gv * r0[c + 1]; a2 += gv * r0[c + 2];
                a3 += gv * r1[c]; a4 += gv * r1[c + 1]; a5 += gv * r1[c + 2];
                a6 += gv * r2[c]; a7 += gv * r2[c + 1]; a8 += gv * r2[c + 2];
            }
        }
        acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3; acc[4] = a4; acc[5] = a5; acc[6] = a6; acc[7] = a7; acc[8] = a8;
        return;
    }
    for (long oy = 0; oy < oh; oy++)
        for (long ox = 0; ox < ow; ox++) {
            const swk_v8 *b = P + oy * s * wp + ox * s, gv = G[oy * gs + ox];
            for (long ki = 0; ki < kh; ki++)
                for (long kj = 0; kj < kw; kj++) acc[ki * kw + kj] += gv * b[ki * wp + kj];
        }
}

/* The buffers of one call (all in `work`): P the input lane plane (hp × wp, zero border); G the
 * output gradient (stride 1: placed at row kh − 1, column kw − 1 of a zero-margined gh × gw plane,
 * so the input gradient is a plain convolution of it with the flipped kernel; stride > 1: oh × ow,
 * scattered into D); O the output (aliases G); D the input gradient (hw, or hp × wp when
 * scattered); a zero row for the lanes past n. */
#define DWL_LAYOUT(g)                                                                                   \
    long hp = g->h + 2 * g->pad, wp = g->w + 2 * g->pad, hw = g->h * g->w, q = g->oh * g->ow;          \
    long taps = g->kh * g->kw, s = g->stride, mh = g->kh - 1, mw = g->kw - 1;                          \
    long gh = g->oh + 2 * mh, gw = g->ow + 2 * mw;                                                     \
    swk_v8 *P = (swk_v8 *)work, *G = P + hp * wp, *O = G, *D = G + (gh * gw > q ? gh * gw : q);        \
    float *zero = (float *)(D + (hw > hp * wp ? hw : hp * wp));                                        \
    for (long i = 0; i < (hw > q ? hw : q); i++) zero[i] = 0;

KATTR void KN(swk_dwl_fwd)(const swk_dw_geom *g, const float *x, long xs, long n, const float *ker, float bias, float *y,
                           long ys, float *work) {
    DWL_LAYOUT(g)
    (void)taps; (void)D;
    for (long i = 0; i < hp * wp; i++) P[i] = (swk_v8){0};
    const float *src[8];
    float *dst[8];
    for (long s0 = 0; s0 < n; s0 += 8) {
        int nl = KN(dwl_sources)(x, xs, s0, n, zero, src);
        KN(dwl_lanes_in)(src, hw, g->w, wp, g->pad, g->pad, P);
        KN(dwl_conv)(P, wp, s, g->kh, g->kw, ker, bias, g->oh, g->ow, O);
        for (int l = 0; l < nl; l++) dst[l] = y + (s0 + l) * ys;
        KN(dwl_lanes_out)(O, q, q, q, 0, 0, dst, nl);
    }
}

KATTR void KN(swk_dwl_bwd)(const swk_dw_geom *g, const float *x, long xs, const float *dy, long ys, long n, const float *ker,
                           float *dx, float *dk, float *db, float *work) {
    DWL_LAYOUT(g)
    /* Stride 1: dx = the flipped kernel over G in its margined plane, from row/column pad. */
    int gathered = s == 1;
    float flip[taps];
    for (long t = 0; t < taps; t++) flip[t] = ker[taps - 1 - t];
    double kd[taps], bd = 0;
    swk_v8 kacc[taps], bacc = {0};
    for (long t = 0; t < taps; t++) { kd[t] = 0; kacc[t] = (swk_v8){0}; }
    if (dk) for (long i = 0; i < hp * wp; i++) P[i] = (swk_v8){0};
    if (gathered) for (long i = 0; i < gh * gw; i++) G[i] = (swk_v8){0};
    long gr = gathered ? mh : 0, gc = gathered ? mw : 0, gs = gathered ? gw : g->ow;
    const swk_v8 *Gq = G + gr * gs + gc;  /* G[oy][ox] at Gq[oy·gs + ox] */
    const float *src[8];
    float *dst[8];
    for (long s0 = 0; s0 < n; s0 += 8) {
        int nl = KN(dwl_sources)(dy, ys, s0, n, zero, src);
        KN(dwl_lanes_in)(src, q, g->ow, gs, gr, gc, G);
        if (db) {
            for (long oy = 0; oy < g->oh; oy++)
                for (long ox = 0; ox < g->ow; ox++) bacc += Gq[oy * gs + ox];
            for (int l = 0; l < 8; l++) bd += bacc[l];
            bacc = (swk_v8){0};
        }
        if (dk) {
            KN(dwl_sources)(x, xs, s0, n, zero, src);
            KN(dwl_lanes_in)(src, hw, g->w, wp, g->pad, g->pad, P);
            KN(dwl_kgrad)(Gq, gs, P, wp, s, g->kh, g->kw, g->oh, g->ow, kacc);
            for (long t = 0; t < taps; t++) {
                for (int l = 0; l < 8; l++) kd[t] += kacc[t][l];
                kacc[t] = (swk_v8){0};
            }
        }
        if (dx) {
            for (int l = 0; l < nl; l++) dst[l] = dx + (s0 + l) * xs;
            if (gathered) {
                KN(dwl_conv)(G + g->pad * gw + g->pad, gw, 1, g->kh, g->kw, flip, 0, g->h, g->w, D);
                KN(dwl_lanes_out)(D, hw, hw, hw, 0, 0, dst, nl);
                continue;
            }
            for (long i = 0; i < hp * wp; i++) D[i] = (swk_v8){0};
            for (long oy = 0; oy < g->oh; oy++)
                for (long ox = 0; ox < g->ow; ox++) {
                    swk_v8 *b = D + oy * s * wp + ox * s, go = Gq[oy * gs + ox];
                    for (long ki = 0; ki < g->kh; ki++)
                        for (long kj = 0; kj < g->kw; kj++) b[ki * wp + kj] += ker[ki * g->kw + kj] * go;
                }
            KN(dwl_lanes_out)(D, hw, g->w, wp, g->pad, g->pad, dst, nl);
        }
    }
    if (dk) for (long t = 0; t < taps; t++) dk[t] += (float)kd[t];
    if (db) *db += (float)bd;
}
#undef DWL_LAYOUT
