#include "sw_kernels.h"

/* The depthwise kernels (see sw_kernels.h), built for AVX2+FMA and for baseline x86-64; the
 * entry points pick the AVX2 build when the CPU has AVX2 and FMA (or when `fast` asks). */
#define SWK_IMPL "depthwise_impl.h"
#include "dual_build.h"

void swk_dw_fwd_variant(int fast, const float *x, const long *offs, long taps, const float *ker, long q, float bias, float *out) {
    (fast && swk_has_avx2()) ? swk_dw_fwd_avx2(x, offs, taps, ker, q, bias, out) : swk_dw_fwd_base(x, offs, taps, ker, q, bias, out);
}
void swk_dw_bwd_input_variant(int fast, const float *gq, long q, const long *offs, long taps, const float *ker, long n, float *dx) {
    (fast && swk_has_avx2()) ? swk_dw_bwd_input_avx2(gq, q, offs, taps, ker, n, dx) : swk_dw_bwd_input_base(gq, q, offs, taps, ker, n, dx);
}
void swk_dw_bwd_weight_variant(int fast, const float *gq, const float *x, long q, const long *offs, long taps, float *dw) {
    (fast && swk_has_avx2()) ? swk_dw_bwd_weight_avx2(gq, x, q, offs, taps, dw) : swk_dw_bwd_weight_base(gq, x, q, offs, taps, dw);
}
void swk_dw_fwd(const float *x, const long *offs, long taps, const float *ker, long q, float bias, float *out) {
    swk_dw_fwd_variant(1, x, offs, taps, ker, q, bias, out);
}
void swk_dw_bwd_input(const float *gq, long q, const long *offs, long taps, const float *ker, long n, float *dx) {
    swk_dw_bwd_input_variant(1, gq, q, offs, taps, ker, n, dx);
}
void swk_dw_bwd_weight(const float *gq, const float *x, long q, const long *offs, long taps, float *dw) {
    swk_dw_bwd_weight_variant(1, gq, x, q, offs, taps, dw);
}
void swk_dw_phase_fill_variant(int fast, const float *x, long h, long w, long pad, long s, long hq, long wq, long size, float *dst) {
    (fast && swk_has_avx2()) ? swk_dw_phase_fill_avx2(x, h, w, pad, s, hq, wq, size, dst) : swk_dw_phase_fill_base(x, h, w, pad, s, hq, wq, size, dst);
}
void swk_dw_phase_gather_variant(int fast, const float *ph, long h, long w, long pad, long s, long hq, long wq, float *x) {
    (fast && swk_has_avx2()) ? swk_dw_phase_gather_avx2(ph, h, w, pad, s, hq, wq, x) : swk_dw_phase_gather_base(ph, h, w, pad, s, hq, wq, x);
}
void swk_dw_phase_fill(const float *x, long h, long w, long pad, long s, long hq, long wq, long size, float *dst) {
    swk_dw_phase_fill_variant(1, x, h, w, pad, s, hq, wq, size, dst);
}
void swk_dw_phase_gather(const float *ph, long h, long w, long pad, long s, long hq, long wq, float *x) {
    swk_dw_phase_gather_variant(1, ph, h, w, pad, s, hq, wq, x);
}
