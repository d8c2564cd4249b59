#include "sw_kernels.h"

/* The depthwise stride-1 kernels (see sw_kernels.h), built for AVX2+FMA and for baseline x86-64;
 * the entry points pick the AVX2 build when the CPU has AVX2 and FMA (or when `fast` asks). */
#define SWK_IMPL "depthwise_impl.h"
#include "dual_build.h"

void swk_dw_fwd_variant(int fast, const float *xpad, long wp, long kh, long kw, const float *ker, long q, float bias, float *out) {
    (fast && swk_has_avx2()) ? swk_dw_fwd_avx2(xpad, wp, kh, kw, ker, q, bias, out) : swk_dw_fwd_base(xpad, wp, kh, kw, ker, q, bias, out);
}
void swk_dw_bwd_input_variant(int fast, const float *gq, long q, long wp, long kh, long kw, const float *ker, long n, float *dpad) {
    (fast && swk_has_avx2()) ? swk_dw_bwd_input_avx2(gq, q, wp, kh, kw, ker, n, dpad) : swk_dw_bwd_input_base(gq, q, wp, kh, kw, ker, n, dpad);
}
void swk_dw_bwd_weight_variant(int fast, const float *gq, const float *xpad, long q, long wp, long kh, long kw, float *dw) {
    (fast && swk_has_avx2()) ? swk_dw_bwd_weight_avx2(gq, xpad, q, wp, kh, kw, dw) : swk_dw_bwd_weight_base(gq, xpad, q, wp, kh, kw, dw);
}
void swk_dw_fwd(const float *xpad, long wp, long kh, long kw, const float *ker, long q, float bias, float *out) {
    swk_dw_fwd_variant(1, xpad, wp, kh, kw, ker, q, bias, out);
}
void swk_dw_bwd_input(const float *gq, long q, long wp, long kh, long kw, const float *ker, long n, float *dpad) {
    swk_dw_bwd_input_variant(1, gq, q, wp, kh, kw, ker, n, dpad);
}
void swk_dw_bwd_weight(const float *gq, const float *xpad, long q, long wp, long kh, long kw, float *dw) {
    swk_dw_bwd_weight_variant(1, gq, xpad, q, wp, kh, kw, dw);
}
