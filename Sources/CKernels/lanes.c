#include "sw_kernels.h"

/* The lane kernel (see sw_kernels.h), built for AVX2+FMA and for baseline x86-64; the entry
 * point picks the AVX2 build when the CPU has AVX2 and FMA. */
typedef float swk_v8 __attribute__((vector_size(32)));
typedef int32_t swk_v8i __attribute__((vector_size(32)));
typedef float swk_v8u __attribute__((vector_size(32), aligned(4)));
typedef float swk_v4 __attribute__((vector_size(16)));  /* a chunk's half, broadcast to both 128-bit halves */
typedef float swk_v4u __attribute__((vector_size(16), aligned(4)));

#define SWK_IMPL "lanes_impl.h"
#include "dual_build.h"

void swk_lane_rows_variant(int fast, const int32_t *ptr, const int32_t *offs, const float *val, long rows, long tiles,
                           long r0, long r1, const float *src, float *out, long ldo, const float *bias, int relu,
                           float *y, long ldy, long nb) {
    if (fast && swk_has_avx2())
        swk_lane_rows_avx2(ptr, offs, val, rows, tiles, r0, r1, src, out, ldo, bias, relu, y, ldy, nb);
    else
        swk_lane_rows_base(ptr, offs, val, rows, tiles, r0, r1, src, out, ldo, bias, relu, y, ldy, nb);
}

void swk_lane_rows(const int32_t *ptr, const int32_t *offs, const float *val, long rows, long tiles, long r0, long r1,
                   const float *src, float *out, long ldo, const float *bias, int relu, float *y, long ldy, long nb) {
    swk_lane_rows_variant(1, ptr, offs, val, rows, tiles, r0, r1, src, out, ldo, bias, relu, y, ldy, nb);
}

void swk_transpose_variant(int fast, const float *src, long rows, long cols, long lds, float *dst, long ldd) {
    if (fast && swk_has_avx2())
        swk_transpose_avx2(src, rows, cols, lds, dst, ldd);
    else
        swk_transpose_base(src, rows, cols, lds, dst, ldd);
}

void swk_transpose(const float *src, long rows, long cols, long lds, float *dst, long ldd) {
    swk_transpose_variant(1, src, rows, cols, lds, dst, ldd);
}

void swk_lane_rows_compact_variant(int fast, const int32_t *ptr, const int32_t *bases, const uint64_t *deltas, const float *val,
                                   long rows, long tiles, long r0, long r1, const float *src, float *out, long ldo,
                                   const float *bias, int relu, float *y, long ldy, long nb) {
    if (fast && swk_has_avx2())
        swk_lane_rows_compact_avx2(ptr, bases, deltas, val, rows, tiles, r0, r1, src, out, ldo, bias, relu, y, ldy, nb);
    else
        swk_lane_rows_compact_base(ptr, bases, deltas, val, rows, tiles, r0, r1, src, out, ldo, bias, relu, y, ldy, nb);
}

void swk_lane_rows_compact(const int32_t *ptr, const int32_t *bases, const uint64_t *deltas, const float *val, long rows,
                           long tiles, long r0, long r1, const float *src, float *out, long ldo, const float *bias, int relu,
                           float *y, long ldy, long nb) {
    swk_lane_rows_compact_variant(1, ptr, bases, deltas, val, rows, tiles, r0, r1, src, out, ldo, bias, relu, y, ldy, nb);
}

void swk_lane_rows32_variant(int fast, const int32_t *ptr, const int32_t *offs, const float *val, long rows, long tiles,
                             long r0, long r1, const float *src, float *out, long ldo, const float *bias, int relu) {
    if (fast && swk_has_avx2())
        swk_lane_rows32_avx2(ptr, offs, val, rows, tiles, r0, r1, src, out, ldo, bias, relu);
    else
        swk_lane_rows32_base(ptr, offs, val, rows, tiles, r0, r1, src, out, ldo, bias, relu);
}

void swk_lane_rows32(const int32_t *ptr, const int32_t *offs, const float *val, long rows, long tiles, long r0, long r1,
                     const float *src, float *out, long ldo, const float *bias, int relu) {
    swk_lane_rows32_variant(1, ptr, offs, val, rows, tiles, r0, r1, src, out, ldo, bias, relu);
}

void swk_maxpool2x2_grid_variant(int fast, const float *src, long lds, long ldr, long planes, long h, long w, float *out) {
    if (fast && swk_has_avx2())
        swk_maxpool2x2_grid_avx2(src, lds, ldr, planes, h, w, out);
    else
        swk_maxpool2x2_grid_base(src, lds, ldr, planes, h, w, out);
}

void swk_maxpool2x2_grid(const float *src, long lds, long ldr, long planes, long h, long w, float *out) {
    swk_maxpool2x2_grid_variant(1, src, lds, ldr, planes, h, w, out);
}
