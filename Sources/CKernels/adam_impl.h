/* Body of the Adam kernels, included twice by adam.c: once built for AVX2+FMA (KN adds _avx2),
 * once for baseline x86-64 (KN adds _base). One element's update, the same in both loops so
 * that the dense and the active-entry paths give the same bits:
 *   d = g + λw;  m ← β₁m + (1 − β₁)d;  v ← β₂v + (1 − β₂)d²;  w ← w − lr·(m / c₁) / (√(v / c₂) + ε). */
#define ADAM_COEFFICIENTS                                                                  \
    const float b1 = p->beta1, b2 = p->beta2, eps = p->eps, wd = p->weight_decay, lr = p->lr, c1 = p->c1, c2 = p->c2; \
    const float ob1 = 1 - b1, ob2 = 1 - b2;
#define ADAM_ELEMENT(W, G, M, V)                                        \
    {                                                                   \
        float d = (G) + wd * (W);                                       \
        float mn = b1 * (M) + ob1 * d;                                  \
        float vn = b2 * (V) + ob2 * d * d;                              \
        (M) = mn;                                                       \
        (V) = vn;                                                       \
        (W) -= lr * (mn / c1) / (__builtin_elementwise_sqrt(vn / c2) + eps);       \
    }

KATTR void KN(swk_adam)(const swk_adam_params *restrict p, float *restrict w, const float *restrict g, float *restrict m,
                        float *restrict v, long n) {
    ADAM_COEFFICIENTS
    for (long i = 0; i < n; i++) ADAM_ELEMENT(w[i], g[i], m[i], v[i])
}

KATTR void KN(swk_adam_active)(const swk_adam_params *restrict p, float *restrict w, const int32_t *restrict idx,
                               const float *restrict g, float *restrict m, float *restrict v, long k) {
    ADAM_COEFFICIENTS
    for (long j = 0; j < k; j++) ADAM_ELEMENT(w[idx[j]], g[j], m[j], v[j])
}

#undef ADAM_ELEMENT
#undef ADAM_COEFFICIENTS
