#include "sw_kernels.h"
#include <string.h>

/* Each kernel is built twice, for AVX2+FMA and for baseline x86-64, and the public entry point
 * calls the AVX2 build when the CPU has AVX2 and FMA (checked once). Selection by CPU feature,
 * not by CPU model, so AMD and Intel both get the fast path. */

typedef float swk_v8 __attribute__((vector_size(32)));
typedef float swk_v8u __attribute__((vector_size(32), aligned(4)));
typedef int32_t swk_v8i __attribute__((vector_size(32)));
typedef uint32_t swk_v8w __attribute__((vector_size(32)));

/* e^−s to the precision a Bernoulli draw needs (σ(s) = 1 / (1 + e^−s)): e^−s = 2^y with
 * y = −s·log2 e clamped to [−126, 126], y = k + f (k = round(y) by the 1.5·2^23 trick,
 * |f| ≤ 1/2), 2^f by its degree-5 Taylor polynomial, k added to the exponent bits. Relative
 * error below 1e-5 for |s| ≤ 87 (7e-6 measured), far below a 24-bit uniform's resolution where
 * σ is not within 1e-5 of 0 or 1. Branch-free. One definition for FT = float (IT = uint32_t)
 * and for 8-float vectors (IT = swk_v8w), so that the vector lanes and the scalar tail give the
 * same bits; a macro (a statement expression) because a function taking 8-float vectors cannot
 * be called from the baseline build, whose ABI passes them differently. */
#define NEG_EXP(s, FT, IT)                                                                                  \
    ({                                                                                                      \
        FT y_ = (s) * -1.44269504088896341f;                                                                \
        y_ = __builtin_elementwise_min(__builtin_elementwise_max(y_, (FT){0} - 126.0f), (FT){0} + 126.0f);   \
        FT t_ = y_ + 12582912.0f;                                                                           \
        FT f_ = y_ - (t_ - 12582912.0f);                                                                    \
        FT p_ = 1.0f + f_ * (0.693147182f + f_ * (0.240226507f + f_ * (0.0555041086f + f_ * (0.00961812911f + f_ * 0.00133335581f)))); \
        __builtin_bit_cast(FT, __builtin_bit_cast(IT, p_) + (__builtin_bit_cast(IT, t_) << 23));             \
    })

/* σ'(s) = σ(s)(1 − σ(s)) = e·σ·σ with e = e^−s, σ = 1/(1 + e): no cancellation where σ is near
 * 1, no overflow where e is huge. The one formula (for a float or an 8-float vector e) that both
 * the sampling pass and the gradient use, so a slope kept from the draw equals one computed later. */
#define SIGMOID_SLOPE(e, FT)                \
    ({                                      \
        FT e_ = (e);                        \
        FT sg_ = 1.0f / (1.0f + e_);        \
        (e_ * sg_) * sg_;                   \
    })

static inline float neg_exp(float s) { return NEG_EXP(s, float, uint32_t); }
static inline float sigmoid_slope(float e) { return SIGMOID_SLOPE(e, float); }

/* lowbias32 (Wellons): a well-mixed 32-bit hash. */
static inline uint32_t mix32(uint32_t x) {
    x ^= x >> 16; x *= 0x7feb352dU;
    x ^= x >> 15; x *= 0x846ca68bU;
    x ^= x >> 16;
    return x;
}

/* Counter-based uniforms: draw i of a pass with 64-bit `key` is mix32(i ^ seed), seed folded
 * from the key once per call (one hash per draw: the sampling passes are hash-bound). */
static inline uint32_t draw_seed(uint64_t key) {
    return mix32((uint32_t)key ^ mix32((uint32_t)(key >> 32) + 0x9E3779B9u));
}


/* Order-preserving float → unsigned key (−0 and +0 equal). */
static inline uint32_t radix_key_val(float f) {
    uint32_t b; memcpy(&b, &f, 4);
    if (b == 0x80000000u) b = 0;
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}
/* By magnitude: the sign bit dropped and the rest shifted up, so the first radix digit (the top
 * 11 bits) holds the 8 exponent bits and 3 mantissa bits: eighth-octave bins, few candidates. */
static inline uint32_t radix_key_mag(float f) {
    uint32_t b; memcpy(&b, &f, 4);
    return b << 1;
}

#define SWK_IMPL "kernels_impl.h"
#include "dual_build.h"

unsigned swk_cpu_features(void) {
    static int cached = -1;
    if (cached < 0) {
        unsigned f = 0;
#if defined(__x86_64__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2")) f |= SWK_CPU_AVX2;
        if (__builtin_cpu_supports("fma")) f |= SWK_CPU_FMA;
        if (__builtin_cpu_supports("avx512f")) f |= SWK_CPU_AVX512F;
        if (__builtin_cpu_supports("avx512bw")) f |= SWK_CPU_AVX512BW;
        if (__builtin_cpu_supports("avx512vl")) f |= SWK_CPU_AVX512VL;
#endif
        cached = (int)f;
    }
    return (unsigned)cached;
}

static int use_avx2(void) {
    unsigned f = swk_cpu_features();
    return (f & SWK_CPU_AVX2) && (f & SWK_CPU_FMA);
}

int swk_has_avx2(void) { return use_avx2(); }

void swk_relu(const float *restrict x, float *restrict y, long n) {
    use_avx2() ? swk_relu_avx2(x, y, n) : swk_relu_base(x, y, n);
}

void swk_relu_backward(const float *restrict y, const float *restrict g, float *restrict dx, long n) {
    use_avx2() ? swk_relu_backward_avx2(y, g, dx, n) : swk_relu_backward_base(y, g, dx, n);
}

void swk_mul(const float *restrict a, const float *restrict b, float *restrict out, long n) {
    use_avx2() ? swk_mul_avx2(a, b, out, n) : swk_mul_base(a, b, out, n);
}

void swk_scores_grad(const float *restrict g, const float *restrict w, const float *restrict s,
                            float *restrict d, long n, int sign_of_s) {
    use_avx2() ? swk_scores_grad_avx2(g, w, s, d, n, sign_of_s) : swk_scores_grad_base(g, w, s, d, n, sign_of_s);
}

void swk_sigmoid_scores_grad(const float *g, const float *restrict w, const float *restrict s,
                             const float *restrict slope, float *d, long n) {
    swk_sigmoid_scores_grad_variant(1, g, w, s, slope, d, n);
}

long swk_bernoulli_sigmoid_variant(int fast, const float *restrict s, float *restrict m, float *restrict slope,
                                   const float *restrict w, float *restrict wm, long n, uint64_t key, long offset) {
    return fast && use_avx2() ? swk_bernoulli_sigmoid_avx2(s, m, slope, w, wm, n, key, offset)
                              : swk_bernoulli_sigmoid_base(s, m, slope, w, wm, n, key, offset);
}

long swk_bernoulli_sigmoid(const float *restrict s, float *restrict m, float *restrict slope, const float *restrict w,
                           float *restrict wm, long n, uint64_t key, long offset) {
    return swk_bernoulli_sigmoid_variant(1, s, m, slope, w, wm, n, key, offset);
}

void swk_sigmoid_scores_grad_variant(int fast, const float *g, const float *restrict w, const float *restrict s,
                                     const float *restrict slope, float *d, long n) {
    fast && use_avx2() ? swk_sigmoid_scores_grad_avx2(g, w, s, slope, d, n) : swk_sigmoid_scores_grad_base(g, w, s, slope, d, n);
}

long swk_count_nonzero(const float *restrict x, long n) {
    return use_avx2() ? swk_count_nonzero_avx2(x, n) : swk_count_nonzero_base(x, n);
}

void swk_mask_census(const float *restrict m, long n, long *ones, long *zeros, long *valid) {
    use_avx2() ? swk_mask_census_avx2(m, n, ones, zeros, valid) : swk_mask_census_base(m, n, ones, zeros, valid);
}

void swk_mask_census_variant(int fast, const float *restrict m, long n, long *ones, long *zeros, long *valid) {
    (fast && use_avx2()) ? swk_mask_census_avx2(m, n, ones, zeros, valid) : swk_mask_census_base(m, n, ones, zeros, valid);
}

void swk_maxpool2x2(const float *restrict x, long planes, long h, long w, float *restrict out, int32_t *restrict arg) {
    use_avx2() ? swk_maxpool2x2_avx2(x, planes, h, w, out, arg) : swk_maxpool2x2_base(x, planes, h, w, out, arg);
}

void swk_csr_rows(const int32_t *restrict rowptr, const int64_t *restrict offs, const float *restrict val,
                         long r0, long r1, const float *restrict base, long len, float *restrict out, long ldo,
                         const float *restrict bias, int relu) {
    use_avx2() ? swk_csr_rows_avx2(rowptr, offs, val, r0, r1, base, len, out, ldo, bias, relu) : swk_csr_rows_base(rowptr, offs, val, r0, r1, base, len, out, ldo, bias, relu);
}

void swk_csr_linear(const int32_t *restrict rowptr, const int32_t *restrict col, const float *restrict val,
                           long rows, long cols, const float *restrict x, long ldx, long nb, float *restrict y, long ldy,
                           const float *restrict bias, float *restrict scratch, int relu) {
    use_avx2() ? swk_csr_linear_avx2(rowptr, col, val, rows, cols, x, ldx, nb, y, ldy, bias, scratch, relu) : swk_csr_linear_base(rowptr, col, val, rows, cols, x, ldx, nb, y, ldy, bias, scratch, relu);
}

void swk_radix_hist(const float *v, long n, int mag, int64_t *hist) {
    use_avx2() ? swk_radix_hist_avx2(v, n, mag, hist) : swk_radix_hist_base(v, n, mag, hist);
}

#if defined(__x86_64__)
#include <immintrin.h>

/* pack_lut[m]: the lanes set in the 8-bit mask m, in order (left-packing through a permute). */
static uint8_t pack_lut[256][8];
__attribute__((constructor)) static void build_pack_lut(void) {
    for (int m = 0; m < 256; m++) {
        int j = 0;
        for (int l = 0; l < 8; l++) if ((m >> l) & 1) pack_lut[m][j++] = (uint8_t)l;
        for (; j < 8; j++) pack_lut[m][j] = 0;
    }
}

/* Keys of 8 values (radix_key_mag / radix_key_val, vectorised). */
__attribute__((target("avx2,fma,popcnt")))
static inline __m256i radix_keys8(const float *v, int mag) {
    __m256i b = _mm256_loadu_si256((const __m256i *)v);
    if (mag) return _mm256_slli_epi32(b, 1);
    const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
    b = _mm256_andnot_si256(_mm256_cmpeq_epi32(b, sign), b);  /* −0 → +0 */
    return _mm256_blendv_epi8(_mm256_or_si256(b, sign), _mm256_xor_si256(b, _mm256_set1_epi32(-1)), _mm256_srai_epi32(b, 31));
}

/* Stores the keys of the lanes set in `bits`, left-packed, and their indices (at + lane); all 8
 * slots are written. Returns how many were kept. */
__attribute__((target("avx2,fma,popcnt")))
static inline long pack_store(__m256i k, int bits, uint32_t *keys, int64_t *idx, int64_t at) {
    __m256i perm = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)pack_lut[bits]));
    _mm256_storeu_si256((__m256i *)keys, _mm256_permutevar8x32_epi32(k, perm));
    __m256i a = _mm256_set1_epi64x(at);
    _mm256_storeu_si256((__m256i *)idx, _mm256_add_epi64(a, _mm256_cvtepi32_epi64(_mm256_castsi256_si128(perm))));
    _mm256_storeu_si256((__m256i *)(idx + 4), _mm256_add_epi64(a, _mm256_cvtepi32_epi64(_mm256_extracti128_si256(perm, 1))));
    return __builtin_popcount((unsigned)bits);
}

/* The AVX2 collect: keys of 8 values at once, their digits compared with the prefix, and the
 * matching keys and indices left-packed and stored whole (up to 8 entries past the candidates
 * are written: the caller's slack). */
__attribute__((target("avx2,fma,popcnt")))
static long radix_collect_packed(const float *restrict v, long n, int mag, uint32_t prefix, uint32_t *restrict keys,
                                 int64_t *restrict idx, int64_t base) {
    const __m256i want = _mm256_set1_epi32((int)prefix);
    long m = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i k = radix_keys8(v + i, mag);
        int bits = _mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_srli_epi32(k, 21), want)));
        if (!bits) continue;
        m += pack_store(k, bits, keys + m, idx + m, base + i);
    }
    return m + swk_radix_collect_base(v + i, n - i, mag, prefix, keys + m, idx + m, base + i);
}
#endif

#if defined(__x86_64__)
/* The AVX2 window pass: out[i] = key > hi, the count of those, and the keys in [lo, hi]
 * left-packed with their indices (up to 8 entries past them are written). */
__attribute__((target("avx2,fma,popcnt")))
static long radix_window_packed(const float *restrict v, long n, int mag, uint32_t lo, uint32_t hi, float *restrict out,
                                uint32_t *restrict keys, int64_t *restrict idx, int64_t base, int64_t *restrict above) {
    const __m256i sign = _mm256_set1_epi32((int)0x80000000u);
    /* Unsigned order through signed compares: flip the top bit of both sides. */
    const __m256i los = _mm256_set1_epi32((int)(lo ^ 0x80000000u)), his = _mm256_set1_epi32((int)(hi ^ 0x80000000u));
    const __m256 one = _mm256_set1_ps(1.0f);
    long m = 0, a = 0, i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i k = radix_keys8(v + i, mag);
        __m256i ks = _mm256_xor_si256(k, sign);
        __m256i gt = _mm256_cmpgt_epi32(ks, his);
        _mm256_storeu_ps(out + i, _mm256_and_ps(_mm256_castsi256_ps(gt), one));
        a += __builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(gt)));
        __m256i outside = _mm256_or_si256(gt, _mm256_cmpgt_epi32(los, ks));
        int bits = ~_mm256_movemask_ps(_mm256_castsi256_ps(outside)) & 0xFF;
        if (!bits) continue;
        m += pack_store(k, bits, keys + m, idx + m, base + i);
    }
    int64_t tail = 0;
    m += swk_radix_window_base(v + i, n - i, mag, lo, hi, out + i, keys + m, idx + m, base + i, &tail);
    *above = a + tail;
    return m;
}
#endif

long swk_radix_window(const float *v, long n, int mag, uint32_t lo, uint32_t hi, float *out, uint32_t *keys,
                      int64_t *idx, int64_t base, int64_t *above) {
#if defined(__x86_64__)
    if (use_avx2()) return radix_window_packed(v, n, mag, lo, hi, out, keys, idx, base, above);
#endif
    return swk_radix_window_base(v, n, mag, lo, hi, out, keys, idx, base, above);
}

long swk_radix_collect(const float *v, long n, int mag, uint32_t prefix, uint32_t *keys, int64_t *idx, int64_t base) {
#if defined(__x86_64__)
    if (use_avx2()) return radix_collect_packed(v, n, mag, prefix, keys, idx, base);
#endif
    return swk_radix_collect_base(v, n, mag, prefix, keys, idx, base);
}

void swk_mask_above(const float *v, long n, int mag, uint32_t t, float *out) {
    use_avx2() ? swk_mask_above_avx2(v, n, mag, t, out) : swk_mask_above_base(v, n, mag, t, out);
}
int swk_all_finite(const float *x, long n) {
    return use_avx2() ? swk_all_finite_avx2(x, n) : swk_all_finite_base(x, n);
}

void swk_sgd(float *w, const float *g, float *b, long n, float lr, float mu, float wd, int nesterov, int first) {
    use_avx2() ? swk_sgd_avx2(w, g, b, n, lr, mu, wd, nesterov, first) : swk_sgd_base(w, g, b, n, lr, mu, wd, nesterov, first);
}

void swk_add_l1(float *g, const float *w, long n, float l1) {
    use_avx2() ? swk_add_l1_avx2(g, w, n, l1) : swk_add_l1_base(g, w, n, l1);
}

void swk_dropout_fill(float *m, long n, uint64_t key, long offset, float rho) {
    use_avx2() ? swk_dropout_fill_avx2(m, n, key, offset, rho) : swk_dropout_fill_base(m, n, key, offset, rho);
}
