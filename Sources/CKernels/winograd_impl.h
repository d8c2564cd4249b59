/* Winograd F(2×2, 3×3) transforms for 3×3 convolutions with stride 1 and padding 1
 * (Autograd/Ops+Winograd.swift), included twice by winograd.c (AVX2+FMA and baseline builds; KN
 * names them). Tiles of 2×2 outputs, t = i·tw + j over one sample's th × tw tiles, placed at
 * column t0 + t of the [16][rows][ld] transform-domain matrices.
 *
 * Each plane is first copied into a zero-bordered local plane (the input padded by one on every
 * side, dY extended to even sizes), so no tile needs an edge test. That plane lives in the
 * caller's `scratch` (swk_wino_scratch(H, W) floats, one buffer per thread for all its calls). Tiles then go in blocks of up
 * to 64 (whole tile rows when a row has ≤ 64 tiles, so one block's tiles are one contiguous run
 * of every matrix row): 8 tiles at a time in vectors (their columns 2j and 2j + 1 split out of
 * the local plane's rows by shuffles), a scalar loop for the rest, the 16 values per tile in a
 * local [16][64] buffer, and the block
 * moved to or from the 16 matrices as 16 contiguous runs. Copies are plain loops kept out of
 * memcpy/memset (no_builtin): the runs are short (2–64 floats), a libc call each cost more than
 * the copy. */
#define SWK_WINO_TILES 64
/* 8 tiles at a time: unaligned loads/stores, the even and odd entries of 16 consecutive floats
 * (a tile row's columns 2j and 2j + 1 for 8 tiles), and their inverse (interleave). */
#define WV_LD(p) (*(const swk_v8u *)(p))
#define WV_ST(p, v) (*(swk_v8u *)(p) = (v))
#define WV_EVEN(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14)
#define WV_ODD(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15)
#define WV_ZIP_LO(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11)
#define WV_ZIP_HI(a, b) __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15)

/* dst[i] = src[i], i < n, inline (8 at a time). */
KATTR SWK_NO_LIBC static inline void KN(wino_copy)(float *restrict dst, const float *restrict src, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) *(swk_v8u *)(dst + i) = *(const swk_v8u *)(src + i);
    for (; i < n; i++) dst[i] = src[i];
}

/* The blocks of a th × tw tile grid: tile rows [i0, i0 + ni) × columns [j0, j0 + nj), ni·nj ≤ 64. */
#define WINO_BLOCKS(th, tw, ...)                                                                   \
    {                                                                                               \
        long rb_ = (tw) >= SWK_WINO_TILES ? 1 : SWK_WINO_TILES / (tw);                               \
        for (long i0 = 0; i0 < (th); i0 += rb_) {                                                   \
            long ni = (th) - i0 < rb_ ? (th) - i0 : rb_;                                            \
            for (long j0 = 0; j0 < (tw); j0 += SWK_WINO_TILES) {                                    \
                long nj = (tw) - j0 < SWK_WINO_TILES ? (tw) - j0 : SWK_WINO_TILES;                  \
                __VA_ARGS__                                                                         \
            }                                                                                       \
        }                                                                                           \
    }

/* V = Bᵀ d B per tile, d the 4×4 patch at rows 2i − 1…, columns 2j − 1… (zero outside). */
KATTR SWK_NO_LIBC void KN(swk_wino_input)(const float *restrict x, long C, long H, long W, float *restrict V, long ldv, long t0,
                                           float *restrict pad) {
    long th = (H + 1) / 2, tw = (W + 1) / 2, plane = C * ldv, pw = 2 * tw + 2, ph = 2 * th + 2;
    float out[16][SWK_WINO_TILES];
    for (long i = 0; i < ph * pw; i++) pad[i] = 0.0f;
    for (long c = 0; c < C; c++) {
        for (long r = 0; r < H; r++) KN(wino_copy)(pad + (r + 1) * pw + 1, x + (c * H + r) * W, W);
        WINO_BLOCKS(th, tw, {
            for (long ii = 0; ii < ni; ii++) {
                const float *p0 = pad + 2 * (i0 + ii) * pw + 2 * j0, *p1 = p0 + pw, *p2 = p1 + pw, *p3 = p2 + pw;
                long m0 = ii * nj, jj = 0;
                for (; jj + 8 <= nj; jj += 8) {
                    const float *pr[4] = {p0 + 2 * jj, p1 + 2 * jj, p2 + 2 * jj, p3 + 2 * jj};
                    swk_v8 c[4][4];  /* c[b][a]: column 2j + b of patch row a, 8 tiles */
                    for (int a = 0; a < 4; a++) {
                        swk_v8 lo = WV_LD(pr[a]), hi = WV_LD(pr[a] + 8), lo2 = WV_LD(pr[a] + 2), hi2 = WV_LD(pr[a] + 10);
                        c[0][a] = WV_EVEN(lo, hi); c[1][a] = WV_ODD(lo, hi); c[2][a] = WV_EVEN(lo2, hi2); c[3][a] = WV_ODD(lo2, hi2);
                    }
                    swk_v8 t[4][4];
                    for (int b = 0; b < 4; b++) {
                        t[0][b] = c[b][0] - c[b][2]; t[1][b] = c[b][1] + c[b][2]; t[2][b] = c[b][2] - c[b][1]; t[3][b] = c[b][1] - c[b][3];
                    }
                    for (int k = 0; k < 4; k++) {
                        WV_ST(&out[4 * k + 0][m0 + jj], t[k][0] - t[k][2]);
                        WV_ST(&out[4 * k + 1][m0 + jj], t[k][1] + t[k][2]);
                        WV_ST(&out[4 * k + 2][m0 + jj], t[k][2] - t[k][1]);
                        WV_ST(&out[4 * k + 3][m0 + jj], t[k][1] - t[k][3]);
                    }
                }
                for (; jj < nj; jj++) {
                    long q = 2 * jj;
                    float t[4][4];
                    for (int b = 0; b < 4; b++) {
                        float d0 = p0[q + b], d1 = p1[q + b], d2 = p2[q + b], d3 = p3[q + b];
                        t[0][b] = d0 - d2; t[1][b] = d1 + d2; t[2][b] = d2 - d1; t[3][b] = d1 - d3;
                    }
                    for (int k = 0; k < 4; k++) {
                        out[4 * k + 0][m0 + jj] = t[k][0] - t[k][2];
                        out[4 * k + 1][m0 + jj] = t[k][1] + t[k][2];
                        out[4 * k + 2][m0 + jj] = t[k][2] - t[k][1];
                        out[4 * k + 3][m0 + jj] = t[k][1] - t[k][3];
                    }
                }
            }
            float *dst = V + c * ldv + t0 + i0 * tw + j0;
            for (int k = 0; k < 16; k++) KN(wino_copy)(dst + k * plane, out[k], ni * nj);
        })
    }
}

/* y = Aᵀ m A per tile (2×2 outputs at rows 2i…, columns 2j…; the part inside H × W written). */
KATTR SWK_NO_LIBC void KN(swk_wino_output)(const float *restrict M, long O, long H, long W, long ldm, long t0, float *restrict y,
                                            float *restrict ybuf) {
    long th = (H + 1) / 2, tw = (W + 1) / 2, plane = O * ldm, yw = 2 * tw;
    float in[16][SWK_WINO_TILES];
    for (long o = 0; o < O; o++) {
        WINO_BLOCKS(th, tw, {
            const float *src = M + o * ldm + t0 + i0 * tw + j0;
            for (int k = 0; k < 16; k++) KN(wino_copy)(in[k], src + k * plane, ni * nj);
            for (long ii = 0; ii < ni; ii++) {
                float *y0 = ybuf + 2 * (i0 + ii) * yw + 2 * j0, *y1 = y0 + yw;
                long m0 = ii * nj, jj = 0;
                for (; jj + 8 <= nj; jj += 8) {
                    swk_v8 t[2][4];
                    for (int b = 0; b < 4; b++) {
                        swk_v8 m0b = WV_LD(&in[b][m0 + jj]), m1b = WV_LD(&in[4 + b][m0 + jj]), m2b = WV_LD(&in[8 + b][m0 + jj]),
                               m3b = WV_LD(&in[12 + b][m0 + jj]);
                        t[0][b] = m0b + m1b + m2b; t[1][b] = m1b - m2b - m3b;
                    }
                    swk_v8 a0 = t[0][0] + t[0][1] + t[0][2], b0 = t[0][1] - t[0][2] - t[0][3];
                    swk_v8 a1 = t[1][0] + t[1][1] + t[1][2], b1 = t[1][1] - t[1][2] - t[1][3];
                    WV_ST(y0 + 2 * jj, WV_ZIP_LO(a0, b0)); WV_ST(y0 + 2 * jj + 8, WV_ZIP_HI(a0, b0));
                    WV_ST(y1 + 2 * jj, WV_ZIP_LO(a1, b1)); WV_ST(y1 + 2 * jj + 8, WV_ZIP_HI(a1, b1));
                }
                for (; jj < nj; jj++) {
                    float t[2][4];
                    for (int b = 0; b < 4; b++) {
                        float m0b = in[b][m0 + jj], m1b = in[4 + b][m0 + jj], m2b = in[8 + b][m0 + jj], m3b = in[12 + b][m0 + jj];
                        t[0][b] = m0b + m1b + m2b; t[1][b] = m1b - m2b - m3b;
                    }
                    y0[2 * jj] = t[0][0] + t[0][1] + t[0][2]; y0[2 * jj + 1] = t[0][1] - t[0][2] - t[0][3];
                    y1[2 * jj] = t[1][0] + t[1][1] + t[1][2]; y1[2 * jj + 1] = t[1][1] - t[1][2] - t[1][3];
                }
            }
        })
        for (long r = 0; r < H; r++) KN(wino_copy)(y + (o * H + r) * W, ybuf + r * yw, W);
    }
}

/* dM = A g Aᵀ per tile, g the 2×2 block of dY at rows 2i…, columns 2j… (zero past the edge),
 * A = [[1, 0], [1, 1], [1, −1], [0, −1]]: the adjoint of the output transform. */
KATTR SWK_NO_LIBC void KN(swk_wino_output_grad)(const float *restrict dy, long O, long H, long W, float *restrict dM, long ldm, long t0,
                                                 float *restrict gbuf) {
    long th = (H + 1) / 2, tw = (W + 1) / 2, plane = O * ldm, gw = 2 * tw;
    float out[16][SWK_WINO_TILES];
    for (long i = 0; i < 2 * th * gw; i++) gbuf[i] = 0.0f;
    for (long o = 0; o < O; o++) {
        for (long r = 0; r < H; r++) KN(wino_copy)(gbuf + r * gw, dy + (o * H + r) * W, W);
        WINO_BLOCKS(th, tw, {
            for (long ii = 0; ii < ni; ii++) {
                const float *r0 = gbuf + 2 * (i0 + ii) * gw + 2 * j0, *r1 = r0 + gw;
                long m0 = ii * nj, jj = 0;
                for (; jj + 8 <= nj; jj += 8) {
                    swk_v8 a0 = WV_LD(r0 + 2 * jj), a1 = WV_LD(r0 + 2 * jj + 8), b0 = WV_LD(r1 + 2 * jj), b1 = WV_LD(r1 + 2 * jj + 8);
                    swk_v8 v0[2] = {WV_EVEN(a0, a1), WV_ODD(a0, a1)}, v1[2] = {WV_EVEN(b0, b1), WV_ODD(b0, b1)};
                    swk_v8 t[4][2];
                    for (int b = 0; b < 2; b++) { t[0][b] = v0[b]; t[1][b] = v0[b] + v1[b]; t[2][b] = v0[b] - v1[b]; t[3][b] = -v1[b]; }
                    for (int k = 0; k < 4; k++) {
                        WV_ST(&out[4 * k + 0][m0 + jj], t[k][0]);
                        WV_ST(&out[4 * k + 1][m0 + jj], t[k][0] + t[k][1]);
                        WV_ST(&out[4 * k + 2][m0 + jj], t[k][0] - t[k][1]);
                        WV_ST(&out[4 * k + 3][m0 + jj], -t[k][1]);
                    }
                }
                for (; jj < nj; jj++) {
                    long q = 2 * jj;
                    float t[4][2];
                    for (int b = 0; b < 2; b++) {
                        float v0 = r0[q + b], v1 = r1[q + b];
                        t[0][b] = v0; t[1][b] = v0 + v1; t[2][b] = v0 - v1; t[3][b] = -v1;
                    }
                    for (int k = 0; k < 4; k++) {
                        out[4 * k + 0][m0 + jj] = t[k][0];
                        out[4 * k + 1][m0 + jj] = t[k][0] + t[k][1];
                        out[4 * k + 2][m0 + jj] = t[k][0] - t[k][1];
                        out[4 * k + 3][m0 + jj] = -t[k][1];
                    }
                }
            }
            float *dst = dM + o * ldm + t0 + i0 * tw + j0;
            for (int k = 0; k < 16; k++) KN(wino_copy)(dst + k * plane, out[k], ni * nj);
        })
    }
}

/* dx += B v Bᵀ per tile, placed at the tile's 4×4 patch (rows 2i − 1…, columns 2j − 1…; the
 * part inside H × W): the adjoint of the input transform. Neighbouring patches overlap by two
 * columns, so 8 tiles' values are added to a patch row in two steps (columns 2j, 2j + 1 of
 * each, then 2j + 2, 2j + 3), in order. */
KATTR SWK_NO_LIBC void KN(swk_wino_input_grad)(const float *restrict dV, long C, long H, long W, long ldv, long t0, float *restrict dx,
                                                float *restrict acc) {
    long th = (H + 1) / 2, tw = (W + 1) / 2, plane = C * ldv, pw = 2 * tw + 2, ph = 2 * th + 2;
    float in[16][SWK_WINO_TILES];
    for (long c = 0; c < C; c++) {
        for (long i = 0; i < ph * pw; i++) acc[i] = 0.0f;
        WINO_BLOCKS(th, tw, {
            const float *src = dV + c * ldv + t0 + i0 * tw + j0;
            for (int k = 0; k < 16; k++) KN(wino_copy)(in[k], src + k * plane, ni * nj);
            for (long ii = 0; ii < ni; ii++) {
                long m0 = ii * nj, jj = 0;
                float *rows[4];
                for (int a = 0; a < 4; a++) rows[a] = acc + (2 * (i0 + ii) + a) * pw + 2 * j0;
                for (; jj + 8 <= nj; jj += 8) {
                    swk_v8 t[4][4];
                    for (int b = 0; b < 4; b++) {
                        swk_v8 v0 = WV_LD(&in[b][m0 + jj]), v1 = WV_LD(&in[4 + b][m0 + jj]), v2 = WV_LD(&in[8 + b][m0 + jj]),
                               v3 = WV_LD(&in[12 + b][m0 + jj]);
                        t[0][b] = v0; t[1][b] = v1 - v2 + v3; t[2][b] = -v0 + v1 + v2; t[3][b] = -v3;
                    }
                    for (int a = 0; a < 4; a++) {
                        swk_v8 e0 = t[a][0], e1 = t[a][1] - t[a][2] + t[a][3], e2 = -t[a][0] + t[a][1] + t[a][2], e3 = -t[a][3];
                        float *r = rows[a] + 2 * jj;  /* columns 2j, 2j + 1 first, then 2j + 2, 2j + 3 (they overlap) */
                        WV_ST(r, WV_LD(r) + WV_ZIP_LO(e0, e1)); WV_ST(r + 8, WV_LD(r + 8) + WV_ZIP_HI(e0, e1));
                        WV_ST(r + 2, WV_LD(r + 2) + WV_ZIP_LO(e2, e3)); WV_ST(r + 10, WV_LD(r + 10) + WV_ZIP_HI(e2, e3));
                    }
                }
                for (; jj < nj; jj++) {
                    float t[4][4];
                    for (int b = 0; b < 4; b++) {
                        float v0 = in[b][m0 + jj], v1 = in[4 + b][m0 + jj], v2 = in[8 + b][m0 + jj], v3 = in[12 + b][m0 + jj];
                        t[0][b] = v0; t[1][b] = v1 - v2 + v3; t[2][b] = -v0 + v1 + v2; t[3][b] = -v3;
                    }
                    for (int a = 0; a < 4; a++) {
                        float *r = rows[a] + 2 * jj;
                        r[0] += t[a][0];
                        r[1] += t[a][1] - t[a][2] + t[a][3];
                        r[2] += -t[a][0] + t[a][1] + t[a][2];
                        r[3] += -t[a][3];
                    }
                }

            }
        })
        for (long r = 0; r < H; r++) {
            float *d = dx + (c * H + r) * W;
            const float *a = acc + (r + 1) * pw + 1;
            for (long q = 0; q < W; q++) d[q] += a[q];
        }
    }
}
#undef WINO_BLOCKS
#undef WV_LD
#undef WV_ST
#undef WV_EVEN
#undef WV_ODD
#undef WV_ZIP_LO
#undef WV_ZIP_HI

/* The weight transform U = G g Gᵀ ([O][C][3][3] → [16][O][C]) and its adjoint. */
KATTR void KN(swk_wino_weight)(const float *restrict g, long O, long C, float *restrict U) {
    long plane = O * C;
    for (long oc = 0; oc < O * C; oc++) {
        const float *k = g + oc * 9;
        float t[4][3];
        for (int b = 0; b < 3; b++) {
            t[0][b] = k[b]; t[1][b] = 0.5f * (k[b] + k[3 + b] + k[6 + b]);
            t[2][b] = 0.5f * (k[b] - k[3 + b] + k[6 + b]); t[3][b] = k[6 + b];
        }
        for (int a = 0; a < 4; a++) {
            U[(4 * a + 0) * plane + oc] = t[a][0];
            U[(4 * a + 1) * plane + oc] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
            U[(4 * a + 2) * plane + oc] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
            U[(4 * a + 3) * plane + oc] = t[a][2];
        }
    }
}

KATTR void KN(swk_wino_weight_grad)(const float *restrict dU, long O, long C, float *restrict dg) {
    long plane = O * C;
    for (long oc = 0; oc < O * C; oc++) {
        float u[4][4], t[3][4];
        for (int k = 0; k < 16; k++) u[k / 4][k % 4] = dU[k * plane + oc];
        for (int b = 0; b < 4; b++) {
            t[0][b] = u[0][b] + 0.5f * (u[1][b] + u[2][b]);
            t[1][b] = 0.5f * (u[1][b] - u[2][b]);
            t[2][b] = 0.5f * (u[1][b] + u[2][b]) + u[3][b];
        }
        float *k = dg + oc * 9;
        for (int a = 0; a < 3; a++) {
            k[3 * a + 0] = t[a][0] + 0.5f * (t[a][1] + t[a][2]);
            k[3 * a + 1] = 0.5f * (t[a][1] - t[a][2]);
            k[3 * a + 2] = 0.5f * (t[a][1] + t[a][2]) + t[a][3];
        }
    }
}
