/* Normalisation kernels, included twice by norm.c (AVX2+FMA and baseline builds; KN names them).
 * Sums run in float over blocks of 512 values (8 lanes × 64) and add the blocks in double, so
 * long runs keep the double precision of a plain loop at vector speed. Nothing but the input x is
 * kept for the backward pass: x̂ = (x − μ)·inv is recomputed, and a norm fused with the ReLU that
 * follows it (`relu`) recomputes its output y = γ·x̂ + β to mask the gradient with y > 0. Each
 * kernel has its plain loop and its masked one, chosen once per call, so the plain loops stay as
 * fast as without the option. */

/* The runs of a group: `count` runs of `len` values, run r starting at r·stride (batch norm: a
 * channel's plane in every sample; instance norm: one plane). One call per group, so short
 * planes (4×4, 7×7) do not pay a call per plane. */

/* The 8-lane float partial sums of a group's runs, added into the double totals after every 512
 * values (and at the end): Σ A(i) and Σ A(i)·B(i) for the value expressions A and B of position i
 * of the current run (vertical adds, so it vectorises without reassociation). */
#define SWK_GROUP_SUMS(A, B)                                                                              \
    {                                                                                                     \
        double da = 0, dab = 0;                                                                           \
        float pa[8] = {0}, pab[8] = {0}, ra = 0, rab = 0;                                                 \
        long pending = 0;                                                                                 \
        for (long r = 0; r < count; r++) {                                                                \
            const float *restrict ar = a + r * stride, *restrict br = b + r * stride;                     \
            for (long i0 = 0; i0 < len; i0 += 512) {                                                      \
                long end = len - i0 < 512 ? len : i0 + 512, i = i0;                                       \
                for (; i + 8 <= end; i += 8)                                                              \
                    for (int l = 0; l < 8; l++) { float u = A(i + l), w = B(i + l); pa[l] += u; pab[l] += u * w; } \
                for (; i < end; i++) { float u = A(i), w = B(i); ra += u; rab += u * w; }                 \
                pending += end - i0;                                                                      \
                if (pending >= 512 || (r == count - 1 && end == len)) {                                   \
                    for (int l = 0; l < 8; l++) { ra += pa[l]; rab += pab[l]; pa[l] = 0; pab[l] = 0; }    \
                    da += ra; dab += rab;                                                                 \
                    ra = 0; rab = 0; pending = 0;                                                         \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
        *sa += da; *sab += dab;                                                                           \
    }
/* x̂ and the fused ReLU's output y at position k of the run (x in br): recomputed in the backward
 * pass exactly as the forward pass computed them (same expressions, same build), so the mask
 * y > 0 is the forward's bit for bit and no x̂ or output needs to be kept. */
#define SWK_XHAT(k) ((br[k] - p->mu) * p->inv)
#define SWK_Y(k) (p->ga * SWK_XHAT(k) + p->be)
#define SWK_A_PLAIN(k) ar[k]
#define SWK_B_PLAIN(k) br[k]
#define SWK_A_MASKED(k) swk_keep_where_positive(ar[k], SWK_Y(k))

/* Σ a and Σ a·b over the group (the statistics: a = b = x). */
KATTR void KN(swk_sum_dot)(const float *restrict a, const float *restrict b, long count, long len, long stride, double *restrict sa,
                           double *restrict sab) {
    SWK_GROUP_SUMS(SWK_A_PLAIN, SWK_B_PLAIN)
}

/* Σ dy·keep and Σ dy·keep·x̂ over the group, keep = [y > 0] with the fused ReLU, else 1. */
KATTR void KN(swk_norm_bwd_sums)(const float *restrict dy, const float *restrict x, long count, long len, long stride,
                                 const swk_norm_affine *p, double *restrict sa, double *restrict sab) {
    const float *a = dy, *b = x;
    if (p->relu) SWK_GROUP_SUMS(SWK_A_MASKED, SWK_XHAT) else SWK_GROUP_SUMS(SWK_A_PLAIN, SWK_XHAT)
}

KATTR void KN(swk_norm_fwd)(const float *restrict x, long count, long len, long stride, const swk_norm_affine *p,
                            float *restrict out) {
    const float mu = p->mu, inv = p->inv, ga = p->ga, be = p->be;
    for (long r = 0; r < count; r++) {
        const float *restrict xr = x + r * stride;
        float *restrict orow = out + r * stride;
        if (p->relu) {
            for (long i = 0; i < len; i++) {
                float y = ga * ((xr[i] - mu) * inv) + be;
                orow[i] = y > 0 ? y : 0;
            }
            continue;
        }
        for (long i = 0; i < len; i++) orow[i] = ga * ((xr[i] - mu) * inv) + be;
    }
}

/* dx = k·(dy·keep − a − x̂·b). */
KATTR void KN(swk_norm_bwd)(const float *restrict dy, const float *restrict x, long count, long len, long stride,
                            const swk_norm_affine *p, float k, float a, float b, float *restrict dx) {
    const float mu = p->mu, inv = p->inv, ga = p->ga, be = p->be;
    for (long r = 0; r < count; r++) {
        const float *restrict dr = dy + r * stride, *restrict xr = x + r * stride;
        float *restrict out = dx + r * stride;
        if (p->relu) {
            for (long i = 0; i < len; i++) {
                float v = (xr[i] - mu) * inv;
                out[i] = k * (swk_keep_where_positive(dr[i], ga * v + be) - a - v * b);
            }
            continue;
        }
        for (long i = 0; i < len; i++) {
            float v = (xr[i] - mu) * inv;
            out[i] = k * (dr[i] - a - v * b);
        }
    }
}
#undef SWK_GROUP_SUMS
#undef SWK_XHAT
#undef SWK_Y
#undef SWK_A_PLAIN
#undef SWK_B_PLAIN
#undef SWK_A_MASKED
