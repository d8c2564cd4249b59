#include "sw_kernels.h"

/* Adam's update kernels (see sw_kernels.h), built for AVX2+FMA and for baseline x86-64; the
 * entry points pick the AVX2 build when the CPU has it (or when `fast` asks). */
#define SWK_IMPL "adam_impl.h"
#include "dual_build.h"

void swk_adam_variant(int fast, const swk_adam_params *p, float *w, const float *g, float *m, float *v, long n) {
    (fast && swk_has_avx2()) ? swk_adam_avx2(p, w, g, m, v, n) : swk_adam_base(p, w, g, m, v, n);
}
void swk_adam(const swk_adam_params *p, float *w, const float *g, float *m, float *v, long n) {
    swk_adam_variant(1, p, w, g, m, v, n);
}
void swk_adam_active_variant(int fast, const swk_adam_params *p, float *w, const int32_t *idx, const float *g, float *m, float *v,
                             long k) {
    (fast && swk_has_avx2()) ? swk_adam_active_avx2(p, w, idx, g, m, v, k) : swk_adam_active_base(p, w, idx, g, m, v, k);
}
void swk_adam_active(const swk_adam_params *p, float *w, const int32_t *idx, const float *g, float *m, float *v, long k) {
    swk_adam_active_variant(1, p, w, idx, g, m, v, k);
}
