#include "sw_kernels.h"

/* The normalisation kernels (see sw_kernels.h), built for AVX2+FMA and for baseline x86-64;
 * the entry points pick the AVX2 build when the CPU has AVX2 and FMA (or when `fast` asks). */
#define KN(name) name##_avx2
#if defined(__x86_64__)
#define KATTR __attribute__((target("avx2,fma")))
#else
#define KATTR
#endif
#include "norm_impl.h"
#undef KN
#undef KATTR
#define KN(name) name##_base
#define KATTR
#include "norm_impl.h"
#undef KN
#undef KATTR

static int norm_fast(int fast) {
    unsigned f = swk_cpu_features();
    return fast && (f & SWK_CPU_AVX2) && (f & SWK_CPU_FMA);
}

void swk_sum_sumsq_variant(int fast, const float *x, long n, double *s, double *ss) {
    norm_fast(fast) ? swk_sum_sumsq_avx2(x, n, s, ss) : swk_sum_sumsq_base(x, n, s, ss);
}
void swk_norm_fwd_variant(int fast, const float *x, long n, float mu, float inv, float ga, float be, float *xhat, float *out) {
    norm_fast(fast) ? swk_norm_fwd_avx2(x, n, mu, inv, ga, be, xhat, out) : swk_norm_fwd_base(x, n, mu, inv, ga, be, xhat, out);
}
void swk_norm_bwd_sums_variant(int fast, const float *dy, const float *xhat, long n, double *sdy, double *sdyx) {
    norm_fast(fast) ? swk_norm_bwd_sums_avx2(dy, xhat, n, sdy, sdyx) : swk_norm_bwd_sums_base(dy, xhat, n, sdy, sdyx);
}
void swk_norm_bwd_variant(int fast, const float *dy, const float *xhat, long n, float k, float a, float b, float *dx) {
    norm_fast(fast) ? swk_norm_bwd_avx2(dy, xhat, n, k, a, b, dx) : swk_norm_bwd_base(dy, xhat, n, k, a, b, dx);
}
void swk_sum_sumsq(const float *x, long n, double *s, double *ss) { swk_sum_sumsq_variant(1, x, n, s, ss); }
void swk_norm_fwd(const float *x, long n, float mu, float inv, float ga, float be, float *xhat, float *out) {
    swk_norm_fwd_variant(1, x, n, mu, inv, ga, be, xhat, out);
}
void swk_norm_bwd_sums(const float *dy, const float *xhat, long n, double *sdy, double *sdyx) {
    swk_norm_bwd_sums_variant(1, dy, xhat, n, sdy, sdyx);
}
void swk_norm_bwd(const float *dy, const float *xhat, long n, float k, float a, float b, float *dx) {
    swk_norm_bwd_variant(1, dy, xhat, n, k, a, b, dx);
}
