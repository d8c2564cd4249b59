#include "sw_kernels.h"

/* The normalisation kernels (see sw_kernels.h), built for AVX2+FMA and for baseline x86-64;
 * the entry points pick the AVX2 build when the CPU has AVX2 and FMA (or when `fast` asks). */
#include <stdint.h>
#include <string.h>

/* a where m > 0, else +0 (a select written as a bit mask, so the 8-lane sums below vectorise:
 * a plain `m > 0 ? a : 0` keeps clang from vectorising the reduction). */
static inline float swk_keep_where_positive(float a, float m) {
    uint32_t u;
    memcpy(&u, &a, sizeof u);
    u &= -(uint32_t)(m > 0);
    memcpy(&a, &u, sizeof a);
    return a;
}

#define SWK_IMPL "norm_impl.h"
#include "dual_build.h"

void swk_sum_dot_variant(int fast, const float *a, const float *b, long count, long len, long stride, double *sa, double *sab) {
    (fast && swk_has_avx2()) ? swk_sum_dot_avx2(a, b, count, len, stride, sa, sab) : swk_sum_dot_base(a, b, count, len, stride, sa, sab);
}
void swk_norm_fwd_variant(int fast, const float *x, long count, long len, long stride, const swk_norm_affine *p, float *out) {
    (fast && swk_has_avx2()) ? swk_norm_fwd_avx2(x, count, len, stride, p, out) : swk_norm_fwd_base(x, count, len, stride, p, out);
}
void swk_norm_bwd_sums_variant(int fast, const float *dy, const float *x, long count, long len, long stride, const swk_norm_affine *p,
                               double *sdy, double *sdyx) {
    (fast && swk_has_avx2()) ? swk_norm_bwd_sums_avx2(dy, x, count, len, stride, p, sdy, sdyx)
                             : swk_norm_bwd_sums_base(dy, x, count, len, stride, p, sdy, sdyx);
}
void swk_norm_bwd_variant(int fast, const float *dy, const float *x, long count, long len, long stride, const swk_norm_affine *p,
                          float k, float a, float b, float *dx) {
    (fast && swk_has_avx2()) ? swk_norm_bwd_avx2(dy, x, count, len, stride, p, k, a, b, dx)
                             : swk_norm_bwd_base(dy, x, count, len, stride, p, k, a, b, dx);
}
void swk_sum_dot(const float *a, const float *b, long count, long len, long stride, double *sa, double *sab) {
    swk_sum_dot_variant(1, a, b, count, len, stride, sa, sab);
}
void swk_norm_fwd(const float *x, long count, long len, long stride, const swk_norm_affine *p, float *out) {
    swk_norm_fwd_variant(1, x, count, len, stride, p, out);
}
void swk_norm_bwd_sums(const float *dy, const float *x, long count, long len, long stride, const swk_norm_affine *p, double *sdy,
                       double *sdyx) {
    swk_norm_bwd_sums_variant(1, dy, x, count, len, stride, p, sdy, sdyx);
}
void swk_norm_bwd(const float *dy, const float *x, long count, long len, long stride, const swk_norm_affine *p, float k, float a, float b,
                  float *dx) {
    swk_norm_bwd_variant(1, dy, x, count, len, stride, p, k, a, b, dx);
}
