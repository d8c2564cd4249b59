#include "sw_kernels.h"

/* The sparse-training kernels (see sw_kernels.h), built for AVX2+FMA and for baseline x86-64;
 * the entry points pick the AVX2 build when the CPU has AVX2 and FMA (or when `fast` asks). */
typedef float swk_v8 __attribute__((vector_size(32)));
typedef float swk_v8u __attribute__((vector_size(32), aligned(4)));

#define SWK_IMPL "sparse_train_impl.h"
#include "dual_build.h"

void swk_sddmm_rows_variant(int fast, const int32_t *rowptr, const int32_t *col, long r0, long r1, const float *a, long lda, long sa,
                            const float *b, long ldb, long sb, long blocks, long n, float *out) {
    (fast && swk_has_avx2()) ? swk_sddmm_rows_avx2(rowptr, col, r0, r1, a, lda, sa, b, ldb, sb, blocks, n, out)
                             : swk_sddmm_rows_base(rowptr, col, r0, r1, a, lda, sa, b, ldb, sb, blocks, n, out);
}
void swk_sddmm_rows(const int32_t *rowptr, const int32_t *col, long r0, long r1, const float *a, long lda, long sa, const float *b,
                    long ldb, long sb, long blocks, long n, float *out) {
    swk_sddmm_rows_variant(1, rowptr, col, r0, r1, a, lda, sa, b, ldb, sb, blocks, n, out);
}
void swk_sgd_active_variant(int fast, float *w, const int32_t *idx, const float *g, float *b, long k, float lr, float mu,
                            float wd, int nesterov, int first) {
    (fast && swk_has_avx2()) ? swk_sgd_active_avx2(w, idx, g, b, k, lr, mu, wd, nesterov, first)
                             : swk_sgd_active_base(w, idx, g, b, k, lr, mu, wd, nesterov, first);
}
void swk_sgd_active(float *w, const int32_t *idx, const float *g, float *b, long k, float lr, float mu, float wd, int nesterov,
                    int first) {
    swk_sgd_active_variant(1, w, idx, g, b, k, lr, mu, wd, nesterov, first);
}
void swk_gather(const float *src, const int32_t *idx, long k, float *out) {
    swk_has_avx2() ? swk_gather_avx2(src, idx, k, out) : swk_gather_base(src, idx, k, out);
}
void swk_scatter(const float *src, const int32_t *idx, long k, float *dst) {
    swk_has_avx2() ? swk_scatter_avx2(src, idx, k, dst) : swk_scatter_base(src, idx, k, dst);
}
void swk_gather_product(const float *w, const float *m, const int32_t *idx, long k, float *out) {
    swk_has_avx2() ? swk_gather_product_avx2(w, m, idx, k, out) : swk_gather_product_base(w, m, idx, k, out);
}
void swk_csr_rows_grad_variant(int fast, const int32_t *rowptr, const int64_t *offs, long r0, long r1, const float *base,
                               long len, const float *dy, long lddy, float *out) {
    (fast && swk_has_avx2()) ? swk_csr_rows_grad_avx2(rowptr, offs, r0, r1, base, len, dy, lddy, out)
                             : swk_csr_rows_grad_base(rowptr, offs, r0, r1, base, len, dy, lddy, out);
}
void swk_csr_rows_grad(const int32_t *rowptr, const int64_t *offs, long r0, long r1, const float *base, long len,
                       const float *dy, long lddy, float *out) {
    swk_csr_rows_grad_variant(1, rowptr, offs, r0, r1, base, len, dy, lddy, out);
}
long swk_mask_csr(const float *m, long rows, long cols, int32_t *rowptr, int32_t *col) {
    return swk_has_avx2() ? swk_mask_csr_avx2(m, rows, cols, rowptr, col) : swk_mask_csr_base(m, rows, cols, rowptr, col);
}
long swk_lane_pack_count(const int32_t *rowptr, const int32_t *col, long rows, long tiles, long tile_cols, int32_t *ptr) {
    return swk_has_avx2() ? swk_lane_pack_count_avx2(rowptr, col, rows, tiles, tile_cols, ptr)
                          : swk_lane_pack_count_base(rowptr, col, rows, tiles, tile_cols, ptr);
}
int swk_lane_pack_fill(const int32_t *rowptr, const int32_t *col, long rows, long tiles, long tile_cols, const int32_t *col_off,
                       const int32_t *ptr, int32_t *offs, int32_t *srcs, int32_t *bases, uint64_t *deltas) {
    return swk_has_avx2() ? swk_lane_pack_fill_avx2(rowptr, col, rows, tiles, tile_cols, col_off, ptr, offs, srcs, bases, deltas)
                          : swk_lane_pack_fill_base(rowptr, col, rows, tiles, tile_cols, col_off, ptr, offs, srcs, bases, deltas);
}
