/*
 * Re-entrancy of the C ABI from every kind of callback, in C: compiled with `cc` against
 * Include/ only, linked to libsparsewire.so (tests_cli/test_capi.py builds and runs it).
 *
 *   test_reentrancy
 *
 * From inside a C policy's callbacks (create, prepare, update_masks, after_backward, after_step,
 * evaluation_masks — what a plugin's callbacks can do too), a progress callback and a mask-only
 * policy's callbacks, it calls back into the engine / policy that runs them. The contract
 * (C_API.md, "Callbacks and re-entrancy"): mutating calls on the running handle return
 * SW_ERR_STATE naming the running call; read-only calls work; other engines and the policy
 * registry may be used; destroying the running handle is deferred until the running call
 * returns. Never a deadlock, never a crash. Prints one line per group; exits 1 on a failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparsewire.h"

#include "check.h"

/* Inside a callback: the call must be refused with SW_ERR_STATE naming `running`. */
#define REFUSED(call, running) FAILS(call, SW_ERR_STATE, running " is running")

/* A tiny learnable problem: 64 samples of 1×4×4, class = sign of the first pixel. */
enum { N = 64, FEATURES = 16 };
static float x[N * FEATURES];
static int32_t y[N];

static sw_engine *small_engine(const char *policy, double density) {
    char cfg[256];
    snprintf(cfg, sizeof cfg,
             "model: {name: mlp, hidden: [8]}\nepochs: 2\nbatch_size: 16\nthreads: 1\nseed: 3\n"
             "policy: %s\ndensity: %g\n", policy, density);
    sw_engine *e = NULL;
    CHECK(sw_engine_create(cfg, &e) == SW_OK && e, "create engine for %s", policy);
    OK(sw_engine_set_data(e, x, y, N, x, y, N, 1, 4, 4, 2));
    return e;
}

/* Every mutating engine call on `e` is refused while `running` runs; reads work. */
static void meddle_with(sw_engine *e, const char *running_call) {
    char running[64];
    snprintf(running, sizeof running, "%s is running", running_call);
#define REFUSED_BY_RUNNING(call) FAILS(call, SW_ERR_STATE, running)
    double loss, accuracy;
    float buf[8 * 16];
    uint64_t needed;
    REFUSED_BY_RUNNING(sw_engine_train_step(e, &loss, NULL));
    REFUSED_BY_RUNNING(sw_engine_train(e, 1, NULL, NULL));
    REFUSED_BY_RUNNING(sw_engine_train_epoch(e, NULL, NULL, NULL));
    REFUSED_BY_RUNNING(sw_engine_evaluate(e, &loss, &accuracy));
    REFUSED_BY_RUNNING(sw_engine_set(e, "optimizer.lr", "0.5"));
    REFUSED_BY_RUNNING(sw_engine_set_policy(e, "dnw", NULL, 0.5));
    REFUSED_BY_RUNNING(sw_engine_save(e, "/nonexistent/never-written.st"));
    REFUSED_BY_RUNNING(sw_engine_load(e, "/nonexistent/never-read.st"));
    REFUSED_BY_RUNNING(sw_engine_set_tensor(e, "fc1.weight", SW_TENSOR_VALUE, buf, 8 * 16));
    REFUSED_BY_RUNNING(sw_engine_set_data(e, x, y, N, x, y, N, 1, 4, 4, 2));
    REFUSED_BY_RUNNING(sw_engine_load_dataset(e, "fashion-mnist", NULL));
    double half = 0.5;
    REFUSED_BY_RUNNING(sw_engine_build(e));
    REFUSED_BY_RUNNING(sw_engine_train_epochs(e, 1, NULL, NULL, NULL));
    REFUSED_BY_RUNNING(sw_engine_train_to_end(e, NULL, NULL, NULL));
    REFUSED_BY_RUNNING(sw_engine_set_policy_v2(e, "dnw", NULL, &half));
#undef REFUSED_BY_RUNNING
    int64_t epochs, steps;
    OK(sw_engine_progress(e, &epochs, &steps));
    OK(sw_engine_get_tensor(e, "fc1.weight", SW_TENSOR_VALUE, buf, 8 * 16, &needed));
    uint32_t layers;
    OK(sw_engine_layer_count(e, &layers));
    uint64_t total, kept;
    OK(sw_engine_parameter_counts(e, &total, &kept));
    CHECK(sw_engine_policy(e) != NULL, "sw_engine_policy inside %s", running_call);
    int32_t built = 0;
    OK(sw_engine_is_built(e, &built));
    uint32_t c, h, w, k;
    OK(sw_engine_input_shape(e, &c, &h, &w, &k));
    char name[32];
    OK(sw_engine_policy_name(e, name, sizeof name, &needed));
}

/* ---- a C policy whose callbacks call back into the engine that runs them ------------------ */

static sw_engine *current = NULL;   /* the engine running the policy, set by the test */
static const char *running = NULL;  /* the top-level call the test is making on it */
static int hooks_seen[6];           /* create, prepare, update, after_backward, after_step, eval */
static int hooks_ever[6], visits = 0;
static sw_engine *nested = NULL;    /* a second engine trained from inside a callback */

/* Each hook meddles once per top-level call. */
static void visit(int hook) {
    if (current == NULL || hooks_seen[hook]++) return;
    hooks_ever[hook]++;
    visits++;
    meddle_with(current, running);
    /* The registry and other engines are usable meanwhile. */
    uint64_t needed;
    OK(sw_policy_names(NULL, 0, &needed));
    if (nested) OK(sw_engine_train_step(nested, NULL, NULL));
}

static int32_t m_create(void *user, const sw_host *host, const char *options, double density, void **state) {
    (void)user; (void)host; (void)options; (void)density;
    *state = NULL;
    /* create runs while the engine builds its network inside the first training call */
    visit(0);
    return SW_PLUGIN_OK;
}
static int32_t m_prepare(void *state, sw_layer *const *layers, uint32_t n) {
    (void)state; (void)layers; (void)n;
    visit(1);
    return SW_PLUGIN_OK;
}
static int32_t m_needs_gradient(void *state, const sw_step_info *step) {
    (void)state; (void)step;
    return 1;
}
static int32_t m_update(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    (void)state; (void)step;
    for (uint32_t i = 0; i < n; i++)
        for (uint64_t j = 0; j < layers[i]->count; j++) layers[i]->mask[j] = j < layers[i]->keep_count;
    visit(2);
    return SW_PLUGIN_OK;
}
static int32_t m_after_backward(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step,
                                int32_t *skip) {
    (void)state; (void)layers; (void)n; (void)skip; (void)step;
    visit(3);
    return SW_PLUGIN_OK;
}
static int32_t m_after_step(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    (void)state; (void)layers; (void)n; (void)step;
    visit(4);
    return SW_PLUGIN_OK;
}
static int32_t m_eval(void *state, sw_layer *const *layers, uint32_t n) {
    (void)state; (void)layers; (void)n;
    visit(5);
    return SW_PLUGIN_OK;
}

static void policy_callbacks(void) {
    sw_policy_def def = {
        .struct_size = sizeof def, .name = "meddler-c", .summary = "test: calls back into its engine",
        .routing = SW_ROUTE_MASKED_WEIGHTS,
        .create = m_create, .prepare = m_prepare, .needs_gradient = m_needs_gradient, .update_masks = m_update,
        .after_backward = m_after_backward, .after_step = m_after_step, .evaluation_masks = m_eval,
    };
    OK(sw_register_policy(&def));
    nested = small_engine("rigl", 0.5);
    current = small_engine("meddler-c", 0.5);
    double loss, accuracy;
    memset(hooks_seen, 0, sizeof hooks_seen);
    running = "sw_engine_train_step";
    OK(sw_engine_train_step(current, NULL, NULL));      /* builds: create, prepare; update... */
    memset(hooks_seen, 0, sizeof hooks_seen);
    running = "sw_engine_train";
    OK(sw_engine_train(current, 1, NULL, NULL));        /* update, after_backward, after_step, eval */
    memset(hooks_seen, 0, sizeof hooks_seen);
    running = "sw_engine_evaluate";
    OK(sw_engine_evaluate(current, &loss, &accuracy));  /* evaluation_masks */
    for (int h = 0; h < 6; h++) CHECK(hooks_ever[h] > 0, "hook %d never ran", h);
    int64_t epochs, steps;
    OK(sw_engine_progress(current, &epochs, &steps));
    CHECK(epochs == 1 && steps == 5, "the running calls finished normally: %lld epochs, %lld steps",
          (long long)epochs, (long long)steps);
    OK(sw_engine_progress(nested, &epochs, &steps));
    CHECK(steps == visits, "the nested engine made one step per visit: %lld of %d", (long long)steps, visits);
    sw_engine_destroy(current);
    sw_engine_destroy(nested);
    current = nested = NULL;
    printf("ok   C policy callbacks (create, prepare, update, after_backward, after_step, evaluation): "
           "mutating calls refused, reads, the registry and another engine work\n");
}

/* ---- progress callbacks ---------------------------------------------------------------- */

static int progress_calls = 0;

static int32_t meddling_progress(const sw_progress *p, void *user) {
    sw_engine *e = user;
    if (progress_calls++ == 1) meddle_with(e, p->epoch_end ? "sw_engine_train" : "sw_engine_train");
    return 0;
}

static int32_t destroying_progress(const sw_progress *p, void *user) {
    (void)p;
    if (progress_calls++ == 2) sw_engine_destroy((sw_engine *)user);
    return 0;
}

static void progress_callbacks(void) {
    sw_engine *e = small_engine("rigl", 0.5);
    progress_calls = 0;
    OK(sw_engine_train(e, 1, meddling_progress, e));
    CHECK(progress_calls == 5, "4 steps and an epoch end reported, got %d", progress_calls);
    sw_engine_destroy(e);

    /* Destroying the engine from its own callback: the running call finishes, then the engine
     * is freed; the handle is invalid afterwards. */
    e = small_engine("rigl", 0.5);
    progress_calls = 0;
    OK(sw_engine_train(e, 1, destroying_progress, e));
    CHECK(progress_calls == 5, "the running train call finished after the destroy, %d reports", progress_calls);
    int64_t epochs, steps;
    sw_status rc = sw_engine_progress(e, &epochs, &steps);
    CHECK(rc == SW_ERR_INVALID_ARGUMENT && strstr(sw_last_error(), "engine"), "a destroyed engine handle: %s", sw_status_name(rc));
    printf("ok   progress callbacks: mutating calls refused, reads work; destroy inside is deferred\n");
}

/* ---- mask-only policies: callbacks of a host-callback policy driven by sw_policy_* ------- */

static sw_policy *running_policy = NULL;
static int mask_only_visits = 0, destroy_inside = 0;

static int32_t mo_update(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    (void)state; (void)step;
    for (uint32_t i = 0; i < n; i++)
        for (uint64_t j = 0; j < layers[i]->count; j++) layers[i]->mask[j] = 1;
    if (!running_policy) return SW_PLUGIN_OK;
    mask_only_visits++;
    float w[6] = {0}, m[6];
    sw_layer_buffers b = {.struct_size = sizeof b, .weights = w, .mask = m};
    int64_t shape[2] = {2, 3};
    REFUSED(sw_policy_before_forward(running_policy, 1, 10, &b, 1), "sw_policy_before_forward");
    REFUSED(sw_policy_after_step(running_policy, 1, 10, &b, 1), "sw_policy_before_forward");
    REFUSED(sw_policy_evaluation_masks(running_policy, &b, 1), "sw_policy_before_forward");
    REFUSED(sw_policy_add_layer(running_policy, "late", shape, 2), "sw_policy_before_forward");
    uint32_t routing;
    OK(sw_policy_info(running_policy, &routing, NULL));
    int32_t needed;
    OK(sw_policy_needs_gradient(running_policy, 1, 10, &needed));
    if (destroy_inside) sw_policy_destroy(running_policy);
    return SW_PLUGIN_OK;
}
static int32_t mo_create(void *user, const sw_host *host, const char *options, double density, void **state) {
    (void)user; (void)host; (void)options; (void)density;
    *state = NULL;
    return SW_PLUGIN_OK;
}

static void mask_only_callbacks(void) {
    sw_policy_def def = {.struct_size = sizeof def, .name = "meddler-mask-only", .routing = SW_ROUTE_MASKED_WEIGHTS,
                         .create = mo_create, .update_masks = mo_update};
    OK(sw_register_policy(&def));
    for (destroy_inside = 0; destroy_inside < 2; destroy_inside++) {
        sw_policy *p = NULL;
        OK(sw_policy_create("meddler-mask-only", "density: 0.5", &p));
        int64_t shape[2] = {2, 3};
        OK(sw_policy_add_layer(p, "w", shape, 2));
        float w[6] = {1, 2, 3, 4, 5, 6}, m[6] = {0};
        sw_layer_buffers b = {.struct_size = sizeof b, .weights = w, .mask = m};
        running_policy = p;
        OK(sw_policy_before_forward(p, 0, 10, &b, 1));
        running_policy = NULL;
        CHECK(m[0] == 1 && m[5] == 1, "the running call wrote its masks");
        if (destroy_inside) {
            sw_status rc = sw_policy_before_forward(p, 1, 10, &b, 1);
            CHECK(rc == SW_ERR_INVALID_ARGUMENT, "a policy destroyed inside its callback is invalid afterwards: %s", sw_status_name(rc));
        } else {
            sw_policy_destroy(p);
        }
    }
    CHECK(mask_only_visits == 2, "mask-only callback visits %d", mask_only_visits);
    printf("ok   mask-only policy callbacks: mutating sw_policy_* calls refused, info works; destroy inside is deferred\n");
}

int main(void) {
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < FEATURES; j++) x[i * FEATURES + j] = (float)((i * 7 + j * 13) % 17) / 8.0f - 1.0f;
        y[i] = x[i * FEATURES] > 0;
    }
    policy_callbacks();
    progress_callbacks();
    mask_only_callbacks();
    printf("test_reentrancy: %d checks passed\n", checks);
    return 0;
}
