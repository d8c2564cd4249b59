#include "sw_kernels.h"

/* The sample-lane depthwise kernels (see sw_kernels.h and depthwise_lanes_impl.h), built for
 * AVX2+FMA and for baseline x86-64; the entry points pick the AVX2 build when the CPU has it. */
typedef float swk_v8 __attribute__((vector_size(32)));
typedef float swk_v8u __attribute__((vector_size(32), aligned(4)));

#define SWK_IMPL "depthwise_lanes_impl.h"
#include "dual_build.h"

long swk_dwl_work(const swk_dw_geom *g) {
    long hp = g->h + 2 * g->pad, wp = g->w + 2 * g->pad, hw = g->h * g->w, q = g->oh * g->ow;
    long gm = (g->oh + 2 * (g->kh - 1)) * (g->ow + 2 * (g->kw - 1));
    return 8 * (hp * wp + (gm > q ? gm : q) + (hw > hp * wp ? hw : hp * wp)) + (hw > q ? hw : q);
}
void swk_dwl_fwd_variant(int fast, const swk_dw_geom *g, const float *x, long xs, long n, const float *ker, float bias, float *y,
                         long ys, float *work) {
    (fast && swk_has_avx2()) ? swk_dwl_fwd_avx2(g, x, xs, n, ker, bias, y, ys, work) : swk_dwl_fwd_base(g, x, xs, n, ker, bias, y, ys, work);
}
void swk_dwl_bwd_variant(int fast, const swk_dw_geom *g, const float *x, long xs, const float *dy, long ys, long n, const float *ker,
                         float *dx, float *dk, float *db, float *work) {
    (fast && swk_has_avx2()) ? swk_dwl_bwd_avx2(g, x, xs, dy, ys, n, ker, dx, dk, db, work)
                             : swk_dwl_bwd_base(g, x, xs, dy, ys, n, ker, dx, dk, db, work);
}
void swk_dwl_fwd(const swk_dw_geom *g, const float *x, long xs, long n, const float *ker, float bias, float *y, long ys, float *work) {
    swk_dwl_fwd_variant(1, g, x, xs, n, ker, bias, y, ys, work);
}
void swk_dwl_bwd(const swk_dw_geom *g, const float *x, long xs, const float *dy, long ys, long n, const float *ker, float *dx, float *dk,
                 float *db, float *work) {
    swk_dwl_bwd_variant(1, g, x, xs, dy, ys, n, ker, dx, dk, db, work);
}
