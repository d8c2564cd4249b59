#include "sw_kernels.h"

/* The Winograd transforms (see sw_kernels.h and winograd_impl.h), built for AVX2+FMA and for
 * baseline x86-64; the entry points pick the AVX2 build when the CPU has it. */
#if defined(__clang__)
#define SWK_NO_LIBC __attribute__((no_builtin("memcpy", "memset", "memmove")))
#else
#define SWK_NO_LIBC
#endif
typedef float swk_v8 __attribute__((vector_size(32)));
typedef float swk_v8u __attribute__((vector_size(32), aligned(4)));
#define SWK_IMPL "winograd_impl.h"
#include "dual_build.h"

long swk_wino_scratch(long H, long W) { return (2 * ((H + 1) / 2) + 2) * (2 * ((W + 1) / 2) + 2); }
void swk_wino_input_variant(int fast, const float *x, long C, long H, long W, float *V, long ldv, long t0, float *scratch) {
    (fast && swk_has_avx2()) ? swk_wino_input_avx2(x, C, H, W, V, ldv, t0, scratch) : swk_wino_input_base(x, C, H, W, V, ldv, t0, scratch);
}
void swk_wino_output_variant(int fast, const float *M, long O, long H, long W, long ldm, long t0, float *y, float *scratch) {
    (fast && swk_has_avx2()) ? swk_wino_output_avx2(M, O, H, W, ldm, t0, y, scratch) : swk_wino_output_base(M, O, H, W, ldm, t0, y, scratch);
}
void swk_wino_output_grad_variant(int fast, const float *dy, long O, long H, long W, float *dM, long ldm, long t0, float *scratch) {
    (fast && swk_has_avx2()) ? swk_wino_output_grad_avx2(dy, O, H, W, dM, ldm, t0, scratch)
                             : swk_wino_output_grad_base(dy, O, H, W, dM, ldm, t0, scratch);
}
void swk_wino_input_grad_variant(int fast, const float *dV, long C, long H, long W, long ldv, long t0, float *dx, float *scratch) {
    (fast && swk_has_avx2()) ? swk_wino_input_grad_avx2(dV, C, H, W, ldv, t0, dx, scratch)
                             : swk_wino_input_grad_base(dV, C, H, W, ldv, t0, dx, scratch);
}
void swk_wino_input(const float *x, long C, long H, long W, float *V, long ldv, long t0, float *scratch) {
    swk_wino_input_variant(1, x, C, H, W, V, ldv, t0, scratch);
}
void swk_wino_output(const float *M, long O, long H, long W, long ldm, long t0, float *y, float *scratch) {
    swk_wino_output_variant(1, M, O, H, W, ldm, t0, y, scratch);
}
void swk_wino_output_grad(const float *dy, long O, long H, long W, float *dM, long ldm, long t0, float *scratch) {
    swk_wino_output_grad_variant(1, dy, O, H, W, dM, ldm, t0, scratch);
}
void swk_wino_input_grad(const float *dV, long C, long H, long W, long ldv, long t0, float *dx, float *scratch) {
    swk_wino_input_grad_variant(1, dV, C, H, W, ldv, t0, dx, scratch);
}
void swk_wino_weight(const float *g, long O, long C, float *U) {
    swk_has_avx2() ? swk_wino_weight_avx2(g, O, C, U) : swk_wino_weight_base(g, O, C, U);
}
void swk_wino_weight_grad(const float *dU, long O, long C, float *dg) {
    swk_has_avx2() ? swk_wino_weight_grad_avx2(dU, O, C, dg) : swk_wino_weight_grad_base(dU, O, C, dg);
}
