/* Internal compute kernels of SparseWireCore (not part of the public C ABI in Include/).
 * Each is compiled twice (Haswell AVX2+FMA and generic x86-64) and picked at load time
 * by the CPU (GNU ifunc through target_clones), so the package runs on any x86-64. */
#ifndef SW_KERNELS_H
#define SW_KERNELS_H
#include <stdint.h>

/* y = max(x, 0) */
void swk_relu(const float *x, float *y, long n);
/* dx = y > 0 ? g : 0  (y: the ReLU's output) */
void swk_relu_backward(const float *y, const float *g, float *dx, long n);
/* out = a * b */
void swk_mul(const float *a, const float *b, float *out, long n);
/* d = g * w, negated where s < 0 when `sign_of_s` (edge-popup's straight-through) */
void swk_scores_grad(const float *g, const float *w, const float *s, float *d, long n, int sign_of_s);
/* d = g * w * σ'(s), σ'(s) = σ(s)(1 − σ(s)) (the supermask's straight-through sigmoid): read
 * from `slope` when given (as swk_bernoulli_sigmoid kept it), else computed from s by the same
 * formula, so both give the same bits. d may be g (in place). */
void swk_sigmoid_scores_grad(const float *g, const float *w, const float *s, const float *slope, float *d, long n);
/* m[i] = u_i < σ(s[i]) ? 1 : 0 with u_i a counter-based uniform of (key, offset + i): the draw
 * of an element does not depend on how the array is split. When `slope` is not NULL it also
 * gets σ'(s[i]) (the pass computes e^−s anyway); when `wm` is not NULL it gets w[i]·m[i] (the
 * masked weights, bit for bit as swk_mul would give them). Returns the number of ones. */
long swk_bernoulli_sigmoid(const float *s, float *m, float *slope, const float *w, float *wm, long n, uint64_t key, long offset);
/* The two above with the portable build forced (fast = 0) or the CPU's best (fast = 1): for tests. */
long swk_bernoulli_sigmoid_variant(int fast, const float *s, float *m, float *slope, const float *w, float *wm, long n,
                                   uint64_t key, long offset);
void swk_sigmoid_scores_grad_variant(int fast, const float *g, const float *w, const float *s, const float *slope, float *d, long n);
/* 1 when the AVX2+FMA builds of the kernels run on this CPU. */
/* The CPU's vector features (cpuid, read once): the one detector behind the kernels' dispatch,
 * Swift's CPUFeatures, `sparsewire info` and sw_cpu_features(). Bits: */
#define SWK_CPU_AVX2 1u
#define SWK_CPU_FMA 2u
#define SWK_CPU_AVX512F 4u
#define SWK_CPU_AVX512BW 8u
#define SWK_CPU_AVX512VL 16u
unsigned swk_cpu_features(void);
int swk_has_avx2(void);
/* g += l1·sign(w) (L1 penalty gradient; nothing where w = 0). */
void swk_add_l1(float *g, const float *w, long n, float l1);
/* Targeted dropout: each m[i] == 0 becomes 1 with probability 1 − rho (uniforms as above). */
void swk_dropout_fill(float *m, long n, uint64_t key, long offset, float rho);
/* Number of non-zero entries. */
long swk_count_nonzero(const float *x, long n);
/* Mask census: entries exactly 1 (*ones), exactly 0 (*zeros), finite and >= 0 (*valid). */
void swk_mask_census(const float *m, long n, long *ones, long *zeros, long *valid);
/* The same with the portable build forced (fast = 0) or the CPU's best (fast = 1): for tests. */
void swk_mask_census_variant(int fast, const float *m, long n, long *ones, long *zeros, long *valid);
/* out = max(a, b) elementwise over 2x2 windows: NCHW max-pool, kernel 2 stride 2, no padding.
 * `arg` receives the flat input index of each maximum (first one on ties). planes = N·C. */
void swk_maxpool2x2(const float *x, long planes, long h, long w, float *out, int32_t *arg);

/* Sparse rows times dense: for r in [r0, r1):
 *   out[r·ldo + i] = bias_r + Σ_{e in rowptr[r]..rowptr[r+1]} val[e] · base[offs[e] + i],  i < len,
 * then max(·, 0) when `relu`.
 * A masked conv (stride 1) runs it on the zero-padded input planes; im2col columns also work. */
void swk_csr_rows(const int32_t *rowptr, const int64_t *offs, const float *val, long r0, long r1,
                  const float *base, long len, float *out, long ldo, const float *bias, int relu);
/* Masked linear: y[n·ldy + r] = bias_r + Σ_e val[e] · x[n·ldx + col[e]] for n < nb, r < rows
 * (then max(·, 0) when `relu`).
 * scratch holds cols·32 floats (a transposed block of 32 samples). */
void swk_csr_linear(const int32_t *rowptr, const int32_t *col, const float *val, long rows, long cols,
                    const float *x, long ldx, long nb, float *y, long ldy, const float *bias, float *scratch, int relu);
/* The lane kernel for packed sparse weights (Autograd/Ops+SparseLanes.swift): 64 lanes (batch
 * samples of a linear layer, output pixels of a convolution) per row, the weights in chunks of 8
 * (value, offset) pairs, columns split in `tiles` tiles (chunks of tile t, row r:
 * ptr[t·rows + r] ..< ptr[t·rows + r + 1]; ptr has tiles·rows + 1 entries). For r in [r0, r1):
 *   out[r·ldo + l] = bias_r + Σ_t Σ_c Σ_{q<8} val[8c + q] · src[offs[8c + q] + l],   l < 64,
 * then max(·, 0) when `relu`. Tiles run outermost, the partial sums in out, so one tile's inputs
 * stay in L1 across the rows. Padding entries carry value 0 (and any valid offset). When y is not
 * NULL the finished rows are also transposed into it, 8 at a time while in L1:
 * y[l·ldy + r] = out[r·ldo + l] for l < nb (a linear layer's [samples, outputs] result). */
void swk_lane_rows(const int32_t *ptr, const int32_t *offs, const float *val, long rows, long tiles, long r0, long r1,
                   const float *src, float *out, long ldo, const float *bias, int relu, float *y, long ldy, long nb);
/* The same with the portable build forced (fast = 0) or the CPU's best (fast = 1): for tests. */
void swk_lane_rows_variant(int fast, const int32_t *ptr, const int32_t *offs, const float *val, long rows, long tiles,
                           long r0, long r1, const float *src, float *out, long ldo, const float *bias, int relu,
                           float *y, long ldy, long nb);
/* swk_lane_rows over 32 lanes (l < 32), without the transposed copy: a convolution plane's last
 * block when 32 lanes cover its tail. _variant as above. */
void swk_lane_rows32(const int32_t *ptr, const int32_t *offs, const float *val, long rows, long tiles, long r0, long r1,
                     const float *src, float *out, long ldo, const float *bias, int relu);
void swk_lane_rows32_variant(int fast, const int32_t *ptr, const int32_t *offs, const float *val, long rows, long tiles,
                             long r0, long r1, const float *src, float *out, long ldo, const float *bias, int relu);
/* The lane kernel with compact offsets, for sources of 64-float rows (a linear layer's transposed
 * batch): entry q of chunk c reads src + bases[c] + ((deltas[c] >> 8q) & 255) · 64, so a chunk's
 * columns lie within 256 of its first. One base and one 8-byte load per chunk instead of eight
 * offsets. Otherwise as swk_lane_rows; _variant as above. */
void swk_lane_rows_compact(const int32_t *ptr, const int32_t *bases, const uint64_t *deltas, const float *val, long rows,
                           long tiles, long r0, long r1, const float *src, float *out, long ldo, const float *bias, int relu,
                           float *y, long ldy, long nb);
void swk_lane_rows_compact_variant(int fast, const int32_t *ptr, const int32_t *bases, const uint64_t *deltas, const float *val,
                                   long rows, long tiles, long r0, long r1, const float *src, float *out, long ldo,
                                   const float *bias, int relu, float *y, long ldy, long nb);
/* 2×2 max pooling (stride 2, floor: h/2 × w/2 outputs per plane) read from a padded grid:
 * out[(p·(h/2) + y)·(w/2) + x] = max_{dy,dx<2} src[p·lds + (2y + dy)·ldr + 2x + dx] (the lane
 * convolution's output rows, ReLU already applied; no argmax: inference). _variant as above. */
void swk_maxpool2x2_grid(const float *src, long lds, long ldr, long planes, long h, long w, float *out);
void swk_maxpool2x2_grid_variant(int fast, const float *src, long lds, long ldr, long planes, long h, long w, float *out);
/* dst[c·ldd + r] = src[r·lds + c] for r < rows, c < cols (8×8 register tiles). _variant as above. */
void swk_transpose(const float *src, long rows, long cols, long lds, float *dst, long ldd);
void swk_transpose_variant(int fast, const float *src, long rows, long cols, long lds, float *dst, long ldd);
/* Normalisation over the `count` runs of `len` values of one group, run r at r·stride
 * (Autograd/Ops+Norm.swift). p holds the group's μ, inv = 1/σ, γ, β and whether the ReLU after
 * the norm is fused (relu ≠ 0): x̂ = (x − μ)·inv, y = γ·x̂ + β, keep = [y > 0] with the ReLU, else 1.
 * Only x is kept for the backward pass; x̂ and y are recomputed bit for bit.
 *   swk_sum_dot:       *sa += Σ a, *sab += Σ a·b (float partial sums added in double every 512
 *                      values): the statistics (a = b = x)
 *   swk_norm_fwd:      out = y (max(y, 0) with the ReLU)
 *   swk_norm_bwd_sums: *sdy += Σ dy·keep, *sdyx += Σ dy·keep·x̂
 *   swk_norm_bwd:      dx = k·(dy·keep − a − x̂·b)
 * _variant: the portable build forced (fast = 0) or the CPU's best (fast = 1), for tests. */
typedef struct {
    float mu, inv, ga, be;
    int relu;
} swk_norm_affine;
void swk_sum_dot(const float *a, const float *b, long count, long len, long stride, double *sa, double *sab);
void swk_norm_fwd(const float *x, long count, long len, long stride, const swk_norm_affine *p, float *out);
void swk_norm_bwd_sums(const float *dy, const float *x, long count, long len, long stride, const swk_norm_affine *p, double *sdy,
                       double *sdyx);
void swk_norm_bwd(const float *dy, const float *x, long count, long len, long stride, const swk_norm_affine *p, float k, float a, float b,
                  float *dx);
void swk_sum_dot_variant(int fast, const float *a, const float *b, long count, long len, long stride, double *sa, double *sab);
void swk_norm_fwd_variant(int fast, const float *x, long count, long len, long stride, const swk_norm_affine *p, float *out);
void swk_norm_bwd_sums_variant(int fast, const float *dy, const float *x, long count, long len, long stride, const swk_norm_affine *p,
                               double *sdy, double *sdyx);
void swk_norm_bwd_variant(int fast, const float *dy, const float *x, long count, long len, long stride, const swk_norm_affine *p,
                          float k, float a, float b, float *dx);
/* Depthwise convolution with the batch in the vector lanes (Autograd/Ops+DepthwiseLanes.swift):
 * one call per channel, 8 samples per vector, every tap one aligned load from a zero-padded
 * lane plane (any stride, padding and plane size). x, dy, y, dx point at the channel's plane of
 * sample 0; sample k's planes lie at + k·xs (input side) or + k·ys (output side).
 *   swk_dwl_fwd: y = b + Σ_t ker[t]·x[tap t]
 *   swk_dwl_bwd: dx (if not null) = the input gradient, written; dk[t] += Σ dy·x[tap t] and
 *                *db += Σ dy (each if not null)
 * `work` holds swk_dwl_work(g) floats, 32-byte aligned. _variant: the portable build forced
 * (fast = 0) or the CPU's best (fast = 1), for tests. */
typedef struct {
    long h, w, pad, stride, kh, kw, oh, ow;
} swk_dw_geom;
long swk_dwl_work(const swk_dw_geom *g);
void swk_dwl_fwd(const swk_dw_geom *g, const float *x, long xs, long n, const float *ker, float bias, float *y, long ys, float *work);
void swk_dwl_bwd(const swk_dw_geom *g, const float *x, long xs, const float *dy, long ys, long n, const float *ker, float *dx, float *dk,
                 float *db, float *work);
void swk_dwl_fwd_variant(int fast, const swk_dw_geom *g, const float *x, long xs, long n, const float *ker, float bias, float *y,
                         long ys, float *work);
void swk_dwl_bwd_variant(int fast, const swk_dw_geom *g, const float *x, long xs, const float *dy, long ys, long n, const float *ker,
                         float *dx, float *dk, float *db, float *work);
/* Top-k radix select passes (keys: order-preserving images of the floats, of |v| when `mag`):
 * add the top-11-bit histogram of v[0..n) into hist[2048]; collect the keys (and base + index)
 * whose top 11 bits equal `prefix`, returning how many (keys/idx need room for 8 entries past
 * them: whole vectors are stored); write out[i] = key(v[i]) > t. */
void swk_radix_hist(const float *v, long n, int mag, int64_t *hist);
long swk_radix_collect(const float *v, long n, int mag, uint32_t prefix, uint32_t *keys, int64_t *idx, int64_t base);
void swk_mask_above(const float *v, long n, int mag, uint32_t t, float *out);
/* The window pass of a top-k whose threshold is expected in [lo, hi] (keys): out[i] = key > hi,
 * *above = how many; the keys in [lo, hi] and base + index collected, returning how many (room
 * for n + 8 entries needed). */
long swk_radix_window(const float *v, long n, int mag, uint32_t lo, uint32_t hi, float *out, uint32_t *keys,
                      int64_t *idx, int64_t base, int64_t *above);
/* 1 when no entry is NaN or ±Inf. */
int swk_all_finite(const float *x, long n);
/* One SGD step over n weights (see kernels_impl.h for the rule; mu = 0: no buffer). */
void swk_sgd(float *w, const float *g, float *b, long n, float lr, float mu, float wd, int nesterov, int first);
/* Winograd F(2x2, 3x3) for 3x3 convolutions, stride 1, padding 1 (see winograd_impl.h and
 * Autograd/Ops+Winograd.swift): input/output transforms and their adjoints, per sample, and
 * the weight transform [O][C][3][3] <-> [16][O][C] and its adjoint. The per-sample transforms
 * work in `scratch`: swk_wino_scratch(H, W) floats of the caller's (one per thread). */
long swk_wino_scratch(long H, long W);
void swk_wino_input(const float *x, long C, long H, long W, float *V, long ldv, long t0, float *scratch);
void swk_wino_output(const float *M, long O, long H, long W, long ldm, long t0, float *y, float *scratch);
void swk_wino_output_grad(const float *dy, long O, long H, long W, float *dM, long ldm, long t0, float *scratch);
void swk_wino_input_grad(const float *dV, long C, long H, long W, long ldv, long t0, float *dx, float *scratch);
/* The four per-sample transforms with the portable build forced (fast = 0) or the CPU's best
 * (fast = 1), for tests. */
void swk_wino_input_variant(int fast, const float *x, long C, long H, long W, float *V, long ldv, long t0, float *scratch);
void swk_wino_output_variant(int fast, const float *M, long O, long H, long W, long ldm, long t0, float *y, float *scratch);
void swk_wino_output_grad_variant(int fast, const float *dy, long O, long H, long W, float *dM, long ldm, long t0, float *scratch);
void swk_wino_input_grad_variant(int fast, const float *dV, long C, long H, long W, long ldv, long t0, float *dx, float *scratch);
void swk_wino_weight(const float *g, long O, long C, float *U);
void swk_wino_weight_grad(const float *dU, long O, long C, float *dg);
/* Fork-join pools (pool.c), one per engine. swk_pool_run_on runs fn(ctx, w) for w in
 * [0, workers), w = 0 on the calling thread, and returns when all are done (0). Returns -1
 * without running anything when the pool is busy with another caller's job (or cannot start a
 * thread); the caller then runs the ranges itself. swk_pool_destroy waits for a running job, then
 * stops and reaps the pool's threads. */
typedef void (*swk_task_fn)(void *ctx, long worker);
typedef struct swk_pool swk_pool;
swk_pool *swk_pool_create(void);
void swk_pool_destroy(swk_pool *pool);
int swk_pool_run_on(swk_pool *pool, long workers, swk_task_fn fn, void *ctx);
/* The calling thread's current pool and engine thread count (thread-local; 0 threads = unset). */
void swk_set_current(swk_pool *pool, long threads);
swk_pool *swk_current_pool(void);
long swk_current_threads(void);
/* signals.c: SIGTERM and SIGINT set a flag instead of ending the process (0 on success), and
 * the number of the last such signal (0 when none came). For `sparsewire train`'s preemption. */
int swk_install_stop_signals(void);
int swk_stop_signal(void);
/* Sparse training (Autograd/Ops+SparseTraining.swift). The sampled dense-dense product at the
 * kept entries of a CSR pattern: for r in [r0, r1) and e in rowptr[r] ..< rowptr[r+1]:
 *   out[e] = Σ_{k<blocks} Σ_{i<n} a[k·sa + r·lda + i] · b[k·sb + col[e]·ldb + i]
 * (a linear layer's dW at its kept weights: a = dYᵀ, b = Xᵀ in the lane kernels' blocks of 64
 * samples, n = 64). _variant: the portable build forced (fast = 0) or the CPU's best (fast = 1),
 * for tests. */
void swk_sddmm_rows(const int32_t *rowptr, const int32_t *col, long r0, long r1, const float *a, long lda, long sa, const float *b,
                    long ldb, long sb, long blocks, long n, float *out);
void swk_sddmm_rows_variant(int fast, const int32_t *rowptr, const int32_t *col, long r0, long r1, const float *a, long lda, long sa,
                            const float *b, long ldb, long sb, long blocks, long n, float *out);
/* swk_sgd at the k entries idx[j] only: dense w, compact gradients g[j] and momentum b[j] (the
 * momentum of w[idx[j]], contiguous: a scattered read-modify-write of a dense buffer cost
 * FC-1024 at density 0.05 11-19 % of its step). */
void swk_sgd_active(float *w, const int32_t *idx, const float *g, float *b, long k, float lr, float mu, float wd, int nesterov,
                    int first);
void swk_sgd_active_variant(int fast, float *w, const int32_t *idx, const float *g, float *b, long k, float lr, float mu,
                            float wd, int nesterov, int first);
/* Adam's coefficients for one step t: β₁, β₂, ε, the L2 coefficient λ, the learning rate, and the
 * bias corrections c₁ = 1 − β₁ᵗ, c₂ = 1 − β₂ᵗ. */
typedef struct swk_adam_params { float beta1, beta2, eps, weight_decay, lr, c1, c2; } swk_adam_params;
/* Adam at n entries (PyTorch's formulation, L2 decay added to the gradient): d = g + λw;
 * m ← β₁m + (1 − β₁)d; v ← β₂v + (1 − β₂)d²; w ← w − lr·(m / c₁) / (√(v / c₂) + ε). */
void swk_adam(const swk_adam_params *p, float *w, const float *g, float *m, float *v, long n);
/* The same update at the k entries idx[j] only: dense w, compact g[j], m[j], v[j] (the moments
 * of w[idx[j]]); per entry the same bits as swk_adam. */
void swk_adam_active(const swk_adam_params *p, float *w, const int32_t *idx, const float *g, float *m, float *v, long k);
/* The two above with the portable build forced (fast = 0) or the CPU's best (fast = 1): for tests. */
void swk_adam_variant(int fast, const swk_adam_params *p, float *w, const float *g, float *m, float *v, long n);
void swk_adam_active_variant(int fast, const swk_adam_params *p, float *w, const int32_t *idx, const float *g, float *m, float *v,
                             long k);
/* out[j] = src[idx[j]], or 0 where idx[j] < 0 (a packed sparse weight's slot values). */
void swk_gather(const float *src, const int32_t *idx, long k, float *out);
/* dst[idx[j]] = src[j] for j < k (swk_gather's inverse for indices ≥ 0). */
void swk_scatter(const float *src, const int32_t *idx, long k, float *dst);
/* out[j] = w[idx[j]] · m[idx[j]], or 0 where idx[j] < 0 (ŵ at a weight's kept entries). */
void swk_gather_product(const float *w, const float *m, const int32_t *idx, long k, float *out);

/* The weight gradient of a sparse convolution (the transpose of swk_csr_rows), added into out:
 *   out[e] += Σ_{i<len} dy[r·lddy + i] · base[offs[e] + i]   for r in [r0, r1), e in rowptr[r] ..< rowptr[r+1].
 * _variant as above. */
void swk_csr_rows_grad(const int32_t *rowptr, const int64_t *offs, long r0, long r1, const float *base, long len,
                       const float *dy, long lddy, float *out);
void swk_csr_rows_grad_variant(int fast, const int32_t *rowptr, const int64_t *offs, long r0, long r1, const float *base,
                               long len, const float *dy, long lddy, float *out);

/* The CSR pattern of a mask's non-zero entries, [rows, cols] row-major: rowptr (rows + 1 entries)
 * and the columns; `col` must hold nnz + 1 entries (the compress writes one past the last). Returns nnz. */
long swk_mask_csr(const float *m, long rows, long cols, int32_t *rowptr, int32_t *col);

/* The lane packing of a CSR pattern whose column c is read at col_off[c] (Autograd's
 * LanePacking): _count writes the chunk pointers ptr (tiles·rows + 1 entries; row r of tile t:
 * chunks ptr[t·rows + r] ..< ptr[t·rows + r + 1], tiles of tile_cols columns) and returns the
 * number of chunks; _fill writes 8 offsets and 8 sources (the CSR entry, −1 for padding, which
 * reads its chunk's first offset) per chunk, and, when bases is not NULL, the compact form (chunk
 * base + one-byte deltas in units of 64 floats); it returns 1 when the compact form fits (every
 * delta a multiple of 64 in 0 ..< 256·64), else 0. Rows' columns must ascend. */
long swk_lane_pack_count(const int32_t *rowptr, const int32_t *col, long rows, long tiles, long tile_cols, int32_t *ptr);
int swk_lane_pack_fill(const int32_t *rowptr, const int32_t *col, long rows, long tiles, long tile_cols, const int32_t *col_off,
                       const int32_t *ptr, int32_t *offs, int32_t *srcs, int32_t *bases, uint64_t *deltas);

#endif
