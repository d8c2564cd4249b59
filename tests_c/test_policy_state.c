/*
 * Mask-only policy state and step plans from C: sw_policy_save_state / sw_policy_load_state
 * resume a stand-alone policy exactly (masks, regrowth, RNG), refuse another policy, other
 * layers or a started policy; sw_policy_active_hooks says which calls do work, and skipping the
 * others changes nothing. Usage: test_policy_state
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparsewire.h"
#include "check.h"

enum { R = 16, K = 24, C = R * K, T = 30 };

/* Runs steps [t0, t1) of a rigl run on w (mask m), calling only the hooks the policy reports
 * when `planned`, every call otherwise. Gradients are a fixed function of (step, index). */
static void run(sw_policy *p, int64_t t0, int64_t t1, float *w, float *m, int planned) {
    static float g[C];
    sw_layer_buffers b = {.struct_size = sizeof b, .weights = w, .mask = m, .grad = g};
    const sw_layer_buffers *layers[1] = {&b};
    for (int64_t t = t0; t < t1; t++) {
        uint32_t hooks = 0;
        OK(sw_policy_active_hooks(p, t, T, &hooks));
        for (int i = 0; i < C; i++) g[i] = sinf(0.37f * (float)(i + 13 * t));
        int32_t skip = 0;
        if (!planned || t == t0 || (hooks & SW_HOOK_UPDATE_MASKS)) OK(sw_policy_before_forward_v2(p, t, T, layers, 1));
        if (!planned || (hooks & SW_HOOK_AFTER_BACKWARD)) OK(sw_policy_after_backward_v2(p, t, T, layers, 1, &skip));
        if (!skip) for (int i = 0; i < C; i++) w[i] -= 0.05f * g[i] * m[i];
        if (!planned || (hooks & SW_HOOK_AFTER_STEP)) OK(sw_policy_after_step_v2(p, t, T, layers, 1));
    }
}

static sw_policy *make(const char *name) {
    sw_policy *p = NULL;
    OK(sw_policy_create(name, "density: 0.25\nseed: 5\npolicy_options: {delta_t: 4}\n", &p));
    int64_t shape[2] = {R, K};
    OK(sw_policy_add_layer(p, "w", shape, 2));
    return p;
}

int main(void) {
    static float w0[C], wa[C], ma[C], wb[C], mb[C], wc[C], mc[C];
    for (int i = 0; i < C; i++) w0[i] = cosf(1.3f * (float)i);

    /* Hooks: rigl works only after backward, only on its update steps (and then wants dL/dŵ). */
    sw_policy *a = make("rigl");
    uint32_t h = 99;
    OK(sw_policy_active_hooks(a, 3, T, &h));
    CHECK(h == 0, "rigl at step 3 (not an update step): hooks %u", h);
    OK(sw_policy_active_hooks(a, 4, T, &h));
    CHECK(h == (SW_HOOK_AFTER_BACKWARD | SW_HOOK_DENSE_GRADIENT), "rigl at step 4: hooks %u", h);
    FAILS(sw_policy_active_hooks(a, -1, T, &h), SW_ERR_INVALID_ARGUMENT, "must be ≥ 0");
    FAILS(sw_policy_active_hooks(a, 1, T, NULL), SW_ERR_INVALID_ARGUMENT, "hooks");

    /* Every call vs the planned calls only: the same masks and weights. */
    memcpy(wa, w0, sizeof wa);
    run(a, 0, T, wa, ma, 0);
    sw_policy *b = make("rigl");
    memcpy(wb, w0, sizeof wb);
    run(b, 0, T, wb, mb, 1);
    CHECK(memcmp(ma, mb, sizeof ma) == 0 && memcmp(wa, wb, sizeof wa) == 0, "skipping the calls that do nothing changes nothing");
    sw_policy_destroy(a);
    sw_policy_destroy(b);

    /* Save after 13 steps, load into a fresh policy, finish: equal to the straight run. */
    a = make("rigl");
    memcpy(wa, w0, sizeof wa);
    run(a, 0, T, wa, ma, 0);
    b = make("rigl");
    memcpy(wb, w0, sizeof wb);
    run(b, 0, 13, wb, mb, 0);
    uint64_t needed = 0;
    OK(sw_policy_save_state(b, NULL, 0, &needed));
    CHECK(needed > 64, "state of %llu bytes", (unsigned long long)needed);
    uint8_t *state = malloc(needed);
    FAILS(sw_policy_save_state(b, state, needed - 1, &needed), SW_ERR_BUFFER_TOO_SMALL, "capacity");
    OK(sw_policy_save_state(b, state, needed, &needed));
    sw_policy *c = make("rigl");
    memcpy(wc, wb, sizeof wc);
    memset(mc, 0, sizeof mc);
    OK(sw_policy_load_state(c, state, needed));
    run(c, 13, T, wc, mc, 1);
    CHECK(memcmp(ma, mc, sizeof ma) == 0 && memcmp(wa, wc, sizeof wa) == 0, "a loaded state continues exactly");

    /* Refusals: a started policy, another policy, other layers, bytes that are not a state. */
    FAILS(sw_policy_load_state(c, state, needed), SW_ERR_STATE, "before the policy's first step");
    sw_policy *d = make("set");
    FAILS(sw_policy_load_state(d, state, needed), SW_ERR_STATE, "saved by policy 'rigl'");
    sw_policy *e = NULL;
    OK(sw_policy_create("rigl", "density: 0.25\n", &e));
    int64_t other[2] = {R, K + 1};
    OK(sw_policy_add_layer(e, "w", other, 2));
    FAILS(sw_policy_load_state(e, state, needed), SW_ERR_STATE, "declare the same layers");
    state[9] ^= 0x5a;
    FAILS(sw_policy_load_state(d, state, needed), SW_ERR_DATA, "");
    FAILS(sw_policy_load_state(d, NULL, 10), SW_ERR_INVALID_ARGUMENT, "buffer");
    free(state);
    sw_policy_destroy(a);
    sw_policy_destroy(b);
    sw_policy_destroy(c);
    sw_policy_destroy(d);
    sw_policy_destroy(e);
    printf("ok   mask-only state: save / load resumes exactly; active hooks skip only calls that do nothing\n");
    printf("test_policy_state: all %d checks passed\n", checks);
    return 0;
}
