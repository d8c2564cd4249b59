/* Builds the kernel bodies of SWK_IMPL (a header name in quotes) twice: for AVX2+FMA (KN adds
 * _avx2, SWK_AVX2_BUILD is 1) and for baseline x86-64 (KN adds _base, SWK_AVX2_BUILD is 0).
 * Each entry point then calls the AVX2 build when swk_has_avx2() (checked once), so the package
 * runs on any x86-64. Include it once per .c file, after defining SWK_IMPL. */
#define KN(name) name##_avx2
#define SWK_AVX2_BUILD 1
#if defined(__x86_64__)
#define KATTR __attribute__((target("avx2,fma")))
#else
#define KATTR
#endif
#include SWK_IMPL
#undef KN
#undef KATTR
#undef SWK_AVX2_BUILD
#define KN(name) name##_base
#define SWK_AVX2_BUILD 0
#define KATTR
#include SWK_IMPL
#undef KN
#undef KATTR
#undef SWK_AVX2_BUILD
