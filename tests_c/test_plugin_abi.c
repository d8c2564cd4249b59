/*
 * Plugin ABI 1.1 and the C ABI additions, from C: compiled with `cc` against Include/ only,
 * linked to libsparsewire.so; tests_cli/test_plugin_abi.py builds and runs it.
 *
 *   test_plugin_abi checks <v1_plugin.so> <future_minor.so> <gmp.so> <momentum_regrow.so>
 *   test_plugin_abi save <checkpoint>     train 1 epoch of 2 with a stateful host-callback policy, save
 *   test_plugin_abi resume <checkpoint>   (a fresh process) resume, finish; print loss and a mask digest
 *   test_plugin_abi straight              the same 2 epochs without a stop; print the same line
 *
 * Prints one line per group; exits 1 on the first failure.
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparsewire.h"

#include "check.h"

/* A small learnable problem: 256 samples of 1×8×8, class = sign of a weighted pixel sum. */
enum { N = 256, FEATURES = 64 };
static float x[N * FEATURES];
static int32_t y[N];

static void make_data(void) {
    uint64_t r = 42;
    for (int i = 0; i < N * FEATURES; i++) {
        r = r * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((r >> 40) % 2000) / 1000.0f - 1.0f;
    }
    for (int i = 0; i < N; i++) {
        float s = 0;
        for (int j = 0; j < 16; j++) s += x[i * FEATURES + j] * (j % 3 == 0 ? 1.0f : -0.5f);
        y[i] = s > 0;
    }
}

static sw_engine *engine(const char *policy, double density, const char *extra) {
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "model: {name: mlp, hidden: [32]}\nepochs: 2\nbatch_size: 16\nthreads: 1\nseed: 5\n"
             "optimizer: {lr: 0.05, momentum: 0.9}\npolicy: %s\ndensity: %g\n%s", policy, density, extra ? extra : "");
    sw_engine *e = NULL;
    CHECK(sw_engine_create(cfg, &e) == SW_OK && e, "create engine for %s", policy);
    OK(sw_engine_set_data(e, x, y, N, x, y, 64, 1, 8, 8, 2));
    return e;
}

static uint64_t kept(sw_engine *e, uint32_t layer, uint64_t *count) {
    sw_layer_density d = {.struct_size = sizeof d};
    OK(sw_engine_layer_density(e, layer, &d));
    if (count) *count = d.count;
    return d.kept;
}

/* ---- a stateful host-callback policy: keeps the top-k of |w| + a per-weight "age" it counts ---- */

typedef struct aging {
    const sw_host *host;
    uint32_t n;
    uint64_t counts[4];
    float *age[4];
} aging;

static int32_t aging_create(void *user, const sw_host *host, const char *o, double d, void **state) {
    (void)user; (void)o; (void)d;
    aging *a = calloc(1, sizeof *a);
    a->host = host;
    *state = a;
    return SW_PLUGIN_OK;
}
static void aging_destroy(void *state) {
    aging *a = state;
    for (uint32_t i = 0; i < a->n; i++) free(a->age[i]);
    free(a);
}
static int32_t aging_prepare(void *state, sw_layer *const *layers, uint32_t n) {
    aging *a = state;
    a->n = n;
    for (uint32_t i = 0; i < n; i++) {
        a->counts[i] = layers[i]->count;
        a->age[i] = calloc(layers[i]->count, sizeof(float));
    }
    return SW_PLUGIN_OK;
}
/* The mask depends on the state: rank |w| − 0.001·age, where age counts steps a weight was out. */
static int32_t aging_update(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    aging *a = state;
    if (!step->training) return SW_PLUGIN_OK;
    for (uint32_t i = 0; i < n; i++) {
        sw_layer *l = layers[i];
        float *c = malloc(l->count * sizeof *c);
        for (uint64_t j = 0; j < l->count; j++) c[j] = fabsf(l->weights[j]) - 0.001f * a->age[i][j];
        a->host->topk_mask(c, l->count, l->keep_count, l->mask);
        for (uint64_t j = 0; j < l->count; j++) a->age[i][j] = l->mask[j] != 0 ? 0 : a->age[i][j] + 1;
        free(c);
    }
    return SW_PLUGIN_OK;
}
static int32_t aging_save(void *state, uint8_t *buf, uint64_t capacity, uint64_t *needed) {
    aging *a = state;
    uint64_t size = 0;
    for (uint32_t i = 0; i < a->n; i++) size += a->counts[i] * sizeof(float);
    *needed = size;
    if (buf && capacity >= size)
        for (uint32_t i = 0; i < a->n; i++, buf += a->counts[i - 1] * sizeof(float))
            memcpy(buf, a->age[i], a->counts[i] * sizeof(float));
    return SW_PLUGIN_OK;
}
static int32_t aging_load(void *state, const uint8_t *bytes, uint64_t size) {
    aging *a = state;
    uint64_t want = 0;
    for (uint32_t i = 0; i < a->n; i++) want += a->counts[i] * sizeof(float);
    if (size != want) { a->host->set_error(a->host->context, "aging: state of the wrong size"); return SW_PLUGIN_FAILED; }
    for (uint32_t i = 0; i < a->n; i++, bytes += a->counts[i - 1] * sizeof(float))
        memcpy(a->age[i], bytes, a->counts[i] * sizeof(float));
    return SW_PLUGIN_OK;
}

static void register_aging(void) {
    sw_policy_def def = {.struct_size = sizeof def, .name = "aging", .summary = "test: stateful top-k",
                         .routing = SW_ROUTE_MASKED_WEIGHTS, .flags = SW_POLICY_FIXED_DENSITY,
                         .create = aging_create, .destroy = aging_destroy, .prepare = aging_prepare,
                         .update_masks = aging_update, .save_state = aging_save, .load_state = aging_load};
    OK(sw_register_policy(&def));
}

/* Loss of the test set and a digest of every mask: what must match across a resume. */
static void report(sw_engine *e) {
    double loss, accuracy;
    OK(sw_engine_evaluate(e, &loss, &accuracy));
    uint32_t layers;
    OK(sw_engine_layer_count(e, &layers));
    uint64_t digest = 1469598103934665603ULL;
    for (uint32_t i = 0; i < layers; i++) {
        sw_layer_density d = {.struct_size = sizeof d};
        OK(sw_engine_layer_density(e, i, &d));
        float *m = malloc(d.count * sizeof *m);
        uint64_t needed;
        OK(sw_engine_get_tensor(e, d.name, SW_TENSOR_MASK, m, d.count, &needed));
        for (uint64_t j = 0; j < d.count; j++) digest = (digest ^ (m[j] != 0)) * 1099511628211ULL;
        free(m);
    }
    printf("result loss %.17g accuracy %.17g masks %016llx\n", loss, accuracy, (unsigned long long)digest);
}

/* ---- groups of checks -------------------------------------------------------------------- */

static void versions(const char *v1, const char *future, const char *gmp) {
    uint32_t added = 0;
    OK(sw_load_plugin(v1, &added));
    CHECK(added == 1, "the 1.0 plugin registered %u policies", added);
    sw_engine *e = engine("v1-topk", 0.25, "policy_options: {bias: 0.5}\n");
    for (int i = 0; i < 5; i++) OK(sw_engine_train_step(e, NULL, NULL));
    uint64_t count, k = kept(e, 0, &count);
    CHECK(k == (uint64_t)llround(0.25 * (double)count), "1.0 plugin keeps %llu of %llu", (unsigned long long)k, (unsigned long long)count);
    sw_engine_destroy(e);
    /* A wrong option type read by a 1.0 plugin is the config's fault: SW_ERR_CONFIG naming it. */
    e = engine("v1-topk", 0.25, "policy_options: {bias: lots}\n");
    FAILS(sw_engine_train_step(e, NULL, NULL), SW_ERR_CONFIG, "option 'bias' has the wrong type");
    sw_engine_destroy(e);
    FAILS(sw_load_plugin(future, NULL), SW_ERR_PLUGIN, "newer than this host's 1.2");
    /* gmp (1.1) declares typed options: the type is checked when the policy is built. */
    OK(sw_load_plugin(gmp, NULL));
    e = engine("gmp", 0.25, "policy_options: {frequency: 2.5}\n");
    FAILS(sw_engine_build(e), SW_ERR_CONFIG, "option 'frequency' expects an integer");
    sw_engine_destroy(e);
    printf("ok   versions: a 1.0 plugin loads and trains, a newer minor is refused, option types are config errors\n");
}

static int log_lines = 0, log_from_gmp = 0;
static void on_log(int32_t level, const char *source, const char *message, void *user) {
    (void)level;
    CHECK(user == &log_lines, "log user_data");
    log_lines++;
    if (strcmp(source, "gmp") == 0 && strstr(message, "gmp: 2 layers")) log_from_gmp++;
}

static void c_abi_additions(void) {
    /* last error: kept until cleared */
    sw_engine *bad = NULL;
    CHECK(sw_engine_create("epochs: [", &bad) != SW_OK, "bad config refused");
    CHECK(sw_last_error()[0] != 0, "a failure sets the last error");
    CHECK(sw_abi_version() == SW_ABI_VERSION, "abi version");
    CHECK(sw_last_error()[0] != 0, "a success leaves it");
    sw_clear_last_error();
    CHECK(sw_last_error()[0] == 0, "sw_clear_last_error clears it");

    /* explicit life cycle and the input query */
    sw_engine *e = NULL;
    OK(sw_engine_create("model: {name: mlp, hidden: [32]}\nepochs: 2\nbatch_size: 16\nthreads: 1\npolicy: rigl\ndensity: 0.5\n", &e));
    uint32_t c = 0, h = 0, w = 0, classes = 0;
    int32_t built = -1;
    FAILS(sw_engine_input_shape(e, &c, &h, &w, &classes), SW_ERR_STATE, "call sw_engine_load_dataset or sw_engine_set_data first");
    FAILS(sw_engine_build(e), SW_ERR_STATE, "needs data");
    OK(sw_engine_set_data(e, x, y, N, x, y, 64, 1, 8, 8, 2));
    OK(sw_engine_input_shape(e, &c, &h, &w, &classes));
    CHECK(c == 1 && h == 8 && w == 8 && classes == 2, "input %ux%ux%u, %u classes", c, h, w, classes);
    OK(sw_engine_is_built(e, &built));
    CHECK(built == 0, "not built before build");
    OK(sw_engine_build(e));
    OK(sw_engine_is_built(e, &built));
    CHECK(built == 1, "built after build");
    OK(sw_engine_build(e));  /* a no-op */
    FAILS(sw_engine_set(e, "optimizer.lr", "0.1"), SW_ERR_STATE, "already built");

    /* train_epochs / train_to_end and the callback's stop */
    int32_t stopped = -1;
    FAILS(sw_engine_train_epochs(e, 0, NULL, NULL, &stopped), SW_ERR_INVALID_ARGUMENT, "epochs must be ≥ 1");
    OK(sw_engine_train_epochs(e, 1, NULL, NULL, &stopped));
    CHECK(stopped == 0, "no stop: stopped = %d", stopped);
    int64_t epochs, steps;
    OK(sw_engine_progress(e, &epochs, &steps));
    CHECK(epochs == 1 && steps == 16, "one epoch of 16 steps: %lld / %lld", (long long)epochs, (long long)steps);
    OK(sw_engine_train_to_end(e, NULL, NULL, &stopped));
    OK(sw_engine_progress(e, &epochs, &steps));
    CHECK(epochs == 2 && stopped == 0, "to the config's end: %lld epochs", (long long)epochs);
    OK(sw_engine_train_to_end(e, NULL, NULL, &stopped));
    OK(sw_engine_progress(e, &epochs, &steps));
    CHECK(epochs == 2, "nothing left to train: %lld epochs", (long long)epochs);
    OK(sw_engine_train_epochs(e, 1, (sw_progress_fn)(void *)0, NULL, NULL));  /* beyond the config, stopped may be NULL */
    OK(sw_engine_progress(e, &epochs, &steps));
    CHECK(epochs == 3, "train_epochs goes beyond the config: %lld", (long long)epochs);

    /* policies: explicit density, name query */
    double half = 0.5, zero = 0.0;
    FAILS(sw_engine_set_policy_v2(e, "dnw-no-update", NULL, &zero), SW_ERR_CONFIG, "density must be in (0, 1]");
    OK(sw_engine_set_policy_v2(e, "dnw-no-update", NULL, NULL));
    uint64_t count, k = kept(e, 0, &count);
    CHECK(k == count / 2, "NULL density keeps 0.5: %llu of %llu", (unsigned long long)k, (unsigned long long)count);
    OK(sw_engine_set_policy_v2(e, "dnw", NULL, &half));
    char name[32];
    uint64_t needed = 0;
    FAILS(sw_engine_policy_name(e, name, 2, &needed), SW_ERR_BUFFER_TOO_SMALL, "needed");
    CHECK(needed == 4, "two-call: needed %llu", (unsigned long long)needed);
    OK(sw_engine_policy_name(e, name, sizeof name, &needed));
    CHECK(strcmp(name, "dnw") == 0, "policy name %s", name);

    /* set_tensor: masks must be 0/1 for a top-k policy, may be soft for supermask */
    float *m = malloc(count * sizeof *m);
    OK(sw_engine_get_tensor(e, "fc1.weight", SW_TENSOR_MASK, m, count, &needed));
    m[3] = 0.5f;
    FAILS(sw_engine_set_tensor(e, "fc1.weight", SW_TENSOR_MASK, m, count), SW_ERR_DATA, "hold 0 or 1");
    sw_engine_destroy(e);
    e = engine("supermask", 0.5, NULL);
    OK(sw_engine_build(e));
    OK(sw_engine_set_tensor(e, "fc1.weight", SW_TENSOR_MASK, m, count));
    m[4] = -1;
    FAILS(sw_engine_set_tensor(e, "fc1.weight", SW_TENSOR_MASK, m, count), SW_ERR_DATA, "are ≥ 0");
    free(m);
    sw_engine_destroy(e);

    /* the log callback receives plugin lines */
    FAILS(sw_set_log_callback(on_log, &log_lines, 7), SW_ERR_INVALID_ARGUMENT, "min_level is 7");
    OK(sw_set_log_callback(on_log, &log_lines, SW_LOG_INFO));
    e = engine("gmp", 0.25, NULL);
    OK(sw_engine_build(e));
    OK(sw_set_log_callback(NULL, NULL, SW_LOG_WARNING));
    CHECK(log_from_gmp == 1 && log_lines >= 1, "gmp's prepare line reached the callback (%d lines, %d from gmp)", log_lines, log_from_gmp);
    sw_engine_destroy(e);
    printf("ok   C ABI additions: last error cleared, build/is_built/input_shape, train_epochs/train_to_end, "
           "stopped_by_callback, set_policy_v2, policy_name, mask validation, log callback\n");
}

static int32_t stop_at_3(const sw_progress *p, void *user) {
    (void)user;
    return !p->epoch_end && p->step == 3;
}

static void stop_status(void) {
    sw_engine *e = engine("rigl", 0.5, NULL);
    int32_t stopped = -1;
    OK(sw_engine_train_epochs(e, 2, stop_at_3, NULL, &stopped));
    CHECK(stopped == 1, "the callback's stop is reported: %d", stopped);
    int64_t epochs, steps;
    OK(sw_engine_progress(e, &epochs, &steps));
    CHECK(epochs == 1 && steps == 3, "stopped after step 3 of epoch 1: %lld epochs, %lld steps", (long long)epochs, (long long)steps);
    sw_engine_destroy(e);
    printf("ok   a progress callback's stop: SW_OK with stopped_by_callback = 1\n");
}

/* ---- density contract ---------------------------------------------------------------------- */

static int32_t all_ones(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    (void)state; (void)step;
    for (uint32_t i = 0; i < n; i++)
        for (uint64_t j = 0; j < layers[i]->count; j++) layers[i]->mask[j] = 1;
    return SW_PLUGIN_OK;
}
static int32_t halves(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    (void)state; (void)step;
    for (uint32_t i = 0; i < n; i++)
        for (uint64_t j = 0; j < layers[i]->count; j++) layers[i]->mask[j] = 0.5f;
    return SW_PLUGIN_OK;
}
static int32_t null_create(void *u, const sw_host *h, const char *o, double d, void **s) {
    (void)u; (void)h; (void)o; (void)d;
    *s = NULL;
    return SW_PLUGIN_OK;
}

static void density_contract(void) {
    sw_policy_def def = {.struct_size = sizeof def, .name = "liar", .routing = SW_ROUTE_MASKED_WEIGHTS,
                         .flags = SW_POLICY_FIXED_DENSITY, .create = null_create, .update_masks = all_ones};
    OK(sw_register_policy(&def));
    def.name = "learned-ones"; def.flags = SW_POLICY_LEARNED_DENSITY;
    OK(sw_register_policy(&def));
    def.name = "halver"; def.update_masks = halves;
    OK(sw_register_policy(&def));
    def.name = "both"; def.flags = SW_POLICY_FIXED_DENSITY | SW_POLICY_LEARNED_DENSITY;
    FAILS(sw_register_policy(&def), SW_ERR_PLUGIN, "sets both SW_POLICY_FIXED_DENSITY and SW_POLICY_LEARNED_DENSITY");
    def.name = "half-state"; def.flags = 0; def.save_state = aging_save;
    FAILS(sw_register_policy(&def), SW_ERR_PLUGIN, "save_state without load_state");
    /* A struct_size that ends inside load_state: the host reads whole fields only (found by the
     * plugin fuzz target: half a pointer was called). */
    def.load_state = aging_load;
    def.struct_size = (uint32_t)(offsetof(sw_policy_def, load_state) + 4);
    FAILS(sw_register_policy(&def), SW_ERR_PLUGIN, "save_state without load_state");
    def.struct_size = sizeof def; def.save_state = NULL; def.load_state = NULL;

    sw_engine *e = engine("liar", 0.1, NULL);
    FAILS(sw_engine_train_step(e, NULL, NULL), SW_ERR_PLUGIN, "after update_masks layer 'fc1.weight' keeps 2048 of 2048 weights; its keep_count is 205");
    sw_engine_destroy(e);
    e = engine("liar", 0.1, "masking: {scope: global}\n");
    FAILS(sw_engine_train_step(e, NULL, NULL), SW_ERR_PLUGIN, "under masking.scope global");
    sw_engine_destroy(e);
    e = engine("learned-ones", 0.1, NULL);
    OK(sw_engine_train_step(e, NULL, NULL));  /* learned: not counted */
    sw_engine_destroy(e);
    e = engine("halver", 0.1, NULL);
    FAILS(sw_engine_train_step(e, NULL, NULL), SW_ERR_PLUGIN, "holds 0.5 at index 0; masks must be 0 or 1");
    sw_engine_destroy(e);
    printf("ok   density contract: a fixed policy keeping too much fails naming the layer and counts; learned is not counted\n");
}

/* ---- unregister and destroy_user_data -------------------------------------------------------- */

static int user_data_destroyed = 0;
static void destroy_user(void *user) {
    CHECK(user == &user_data_destroyed, "destroy_user_data gets user_data");
    user_data_destroyed++;
}
static int32_t first_k(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    (void)state; (void)step;
    for (uint32_t i = 0; i < n; i++)
        for (uint64_t j = 0; j < layers[i]->count; j++) layers[i]->mask[j] = j < layers[i]->keep_count;
    return SW_PLUGIN_OK;
}

static void unregistering(void) {
    sw_policy_def def = {.struct_size = sizeof def, .name = "temporary", .routing = SW_ROUTE_MASKED_WEIGHTS,
                         .flags = SW_POLICY_FIXED_DENSITY, .user_data = &user_data_destroyed,
                         .create = null_create, .update_masks = first_k, .destroy_user_data = destroy_user};
    OK(sw_register_policy(&def));
    sw_engine *e = engine("temporary", 0.5, NULL);
    OK(sw_engine_train_step(e, NULL, NULL));
    OK(sw_unregister_policy("temporary"));
    sw_engine *later = NULL;
    FAILS(sw_engine_create("policy: temporary\ndensity: 0.5\n", &later), SW_ERR_CONFIG, "unknown policy 'temporary'");
    OK(sw_engine_train_step(e, NULL, NULL));  /* the running instance keeps working */
    CHECK(user_data_destroyed == 0, "user_data outlives the running instance");
    sw_engine_destroy(e);
    CHECK(user_data_destroyed == 1, "destroy_user_data ran once after the last instance: %d", user_data_destroyed);
    OK(sw_register_policy(&def));  /* the name is free again */
    OK(sw_unregister_policy("temporary"));
    CHECK(user_data_destroyed == 2, "no instance: destroyed at unregister");
    FAILS(sw_unregister_policy("dnw"), SW_ERR_PLUGIN, "built in");
    FAILS(sw_unregister_policy("gmp"), SW_ERR_PLUGIN, "from a plugin");
    FAILS(sw_unregister_policy("no-such"), SW_ERR_CONFIG, "unknown policy 'no-such'");
    printf("ok   sw_unregister_policy: running instances keep working, destroy_user_data once at the end\n");
}

/* ---- mask-only: pointer-array calls with a larger struct, optimizer resets -------------------- */

typedef struct future_buffers {   /* what a host built against a later header might pass */
    sw_layer_buffers base;
    double added_later[3];
} future_buffers;

static void mask_only(void) {
    const char *cfg = "density: 0.25\nseed: 3\npolicy_options: {delta_t: 2, alpha: 0.5}\n";
    sw_policy *a = NULL, *b = NULL;
    OK(sw_policy_create("rigl", cfg, &a));
    OK(sw_policy_create("rigl", cfg, &b));
    int64_t shape[2] = {16, 32};
    OK(sw_policy_add_layer(a, "w", shape, 2));
    OK(sw_policy_add_layer(b, "w", shape, 2));
    enum { C = 16 * 32 };
    static float wa[C], wb[C], ma[C], mb[C], g[C], before[C];
    for (int i = 0; i < C; i++) { wa[i] = wb[i] = sinf((float)i); g[i] = cosf((float)i * 0.7f); }
    sw_layer_buffers la = {.struct_size = sizeof la, .weights = wa, .mask = ma, .grad = g};
    future_buffers fb = {.base = {.struct_size = sizeof fb, .weights = wb, .mask = mb, .grad = g}, .added_later = {1, 2, 3}};
    const sw_layer_buffers *pointers[1] = {&fb.base};
    uint64_t resets_seen = 0;
    for (int64_t t = 0; t < 6; t++) {
        int32_t skip_a = -1, skip_b = -1;
        OK(sw_policy_before_forward(a, t, 20, &la, 1));
        OK(sw_policy_before_forward_v2(b, t, 20, pointers, 1));
        memcpy(before, ma, sizeof before);
        OK(sw_policy_after_backward(a, t, 20, &la, 1, &skip_a));
        OK(sw_policy_after_backward_v2(b, t, 20, pointers, 1, &skip_b));
        CHECK(skip_a == skip_b, "skip %d / %d at step %lld", skip_a, skip_b, (long long)t);
        CHECK(memcmp(ma, mb, sizeof ma) == 0 && memcmp(wa, wb, sizeof wa) == 0, "v2 with a larger struct = v1, step %lld", (long long)t);
        uint64_t needed = 0;
        OK(sw_policy_optimizer_resets(a, 0, NULL, 0, &needed));
        if (skip_a) {
            uint64_t *idx = malloc((needed ? needed : 1) * sizeof *idx);
            OK(sw_policy_optimizer_resets(a, 0, idx, needed, &needed));
            /* Every weight that came in (0 → 1) was reset; every reset one is in and at 0 (a weight
             * dropped and regrown in the same update is reset too). */
            uint64_t grown = 0, r = 0;
            for (int i = 0; i < C; i++) {
                while (r < needed && idx[r] < (uint64_t)i) r++;
                if (before[i] == 0 && ma[i] == 1) {
                    grown++;
                    CHECK(r < needed && idx[r] == (uint64_t)i, "grown weight %d was not reset", i);
                }
            }
            CHECK(needed > 0 && needed >= grown, "resets %llu ≥ grown %llu at step %lld", (unsigned long long)needed,
                  (unsigned long long)grown, (long long)t);
            for (uint64_t i = 0; i < needed; i++) {
                CHECK(ma[idx[i]] == 1 && wa[idx[i]] == 0, "reset index %llu is a regrown weight at 0", (unsigned long long)idx[i]);
                CHECK(i == 0 || idx[i] > idx[i - 1], "ascending");
            }
            if (needed > 1) FAILS(sw_policy_optimizer_resets(a, 0, idx, needed - 1, &needed), SW_ERR_BUFFER_TOO_SMALL, "capacity");
            free(idx);
            resets_seen += needed;
        } else {
            CHECK(needed == 0, "no resets without a mask update (%llu at step %lld)", (unsigned long long)needed, (long long)t);
        }
        for (int i = 0; i < C; i++) { wa[i] -= 0.01f * g[i] * ma[i]; wb[i] -= 0.01f * g[i] * mb[i]; }
    }
    CHECK(resets_seen > 0, "rigl regrew weights");
    FAILS(sw_policy_optimizer_resets(a, 1, NULL, 0, NULL), SW_ERR_NOT_FOUND, "layer 1 out of range");
    fb.base.struct_size = 8;
    FAILS(sw_policy_before_forward_v2(b, 6, 20, pointers, 1), SW_ERR_INVALID_ARGUMENT, "struct_size is 8");
    const sw_layer_buffers *nulls[1] = {NULL};
    FAILS(sw_policy_before_forward_v2(b, 6, 20, nulls, 1), SW_ERR_INVALID_ARGUMENT, "layers[0] is NULL");
    sw_policy_destroy(a);
    sw_policy_destroy(b);
    printf("ok   mask-only _v2 calls with a larger host struct equal the v1 calls; optimizer resets = grown weights (%llu)\n",
           (unsigned long long)resets_seen);
}

/* ---- masking.structure through the host's select_topk and in mask-only use ------------------- */

static int32_t select_by_weights(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    const sw_host *host = state;
    (void)step;
    const float *criteria[8];
    for (uint32_t i = 0; i < n && i < 8; i++) criteria[i] = layers[i]->weights;
    return host->select_topk(host->context, layers, n, criteria);
}
static int32_t keep_host(void *u, const sw_host *h, const char *o, double d, void **s) {
    (void)u; (void)o; (void)d;
    *s = (void *)h;
    return SW_PLUGIN_OK;
}

/* Every group of m consecutive mask entries keeps exactly n. */
static void check_nm(const float *m, uint64_t count, int n, int group, const char *what) {
    for (uint64_t g = 0; g < count; g += (uint64_t)group) {
        int kept = 0;
        for (int j = 0; j < group; j++) kept += m[g + (uint64_t)j] == 1;
        CHECK(kept == n, "%s: group at %llu keeps %d, expected %d", what, (unsigned long long)g, kept, n);
    }
}

static void structures(void) {
    sw_policy_def def = {.struct_size = sizeof def, .name = "c-selects", .routing = SW_ROUTE_MASKED_WEIGHTS,
                         .flags = SW_POLICY_FIXED_DENSITY | SW_POLICY_HONOURS_STRUCTURE, .create = keep_host,
                         .update_masks = select_by_weights};
    OK(sw_register_policy(&def));
    sw_engine *e = engine("c-selects", 0.5, "masking: {structure: {type: nm, n: 2, m: 4}}\n");
    for (int i = 0; i < 3; i++) OK(sw_engine_train_step(e, NULL, NULL));
    uint64_t count, needed;
    kept(e, 0, &count);
    float *m = malloc(count * sizeof *m);
    OK(sw_engine_get_tensor(e, "fc1.weight", SW_TENSOR_MASK, m, count, &needed));
    check_nm(m, count, 2, 4, "plugin select_topk under 2:4");
    free(m);
    sw_engine_destroy(e);
    /* first_k (above) claims SW_POLICY_HONOURS_STRUCTURE below but keeps the first keep_count weights. */
    sw_policy_def liar = {.struct_size = sizeof liar, .name = "c-claims-structure", .routing = SW_ROUTE_MASKED_WEIGHTS,
                          .flags = SW_POLICY_FIXED_DENSITY | SW_POLICY_HONOURS_STRUCTURE, .create = keep_host, .update_masks = first_k};
    OK(sw_register_policy(&liar));
    e = engine("c-claims-structure", 0.5, "masking: {structure: {type: nm, n: 2, m: 4}}\n");
    FAILS(sw_engine_train_step(e, NULL, NULL), SW_ERR_PLUGIN, "breaks masking.structure 2:4: the group of 4 at row 0, columns 0…3 keeps 4");
    sw_engine_destroy(e);
    e = engine("c-claims-structure", 0.5, "masking: {structure: {type: block, rows: 2, cols: 4}}\n");
    FAILS(sw_engine_train_step(e, NULL, NULL), SW_ERR_PLUGIN, "tile at row 0, column 0 is partly kept");  /* fc2: 2 rows, 1 kept */
    sw_engine_destroy(e);
    e = engine("c-claims-structure", 0.5, "masking: {structure: {type: fanin}}\n");
    FAILS(sw_engine_train_step(e, NULL, NULL), SW_ERR_PLUGIN, "fanin keeps");
    sw_engine_destroy(e);
    sw_engine *refused = NULL;
    FAILS(sw_engine_create("policy: l1-anneal\ndensity: 0.5\nmasking: {structure: {type: nm}}", &refused), SW_ERR_CONFIG,
          "policy 'l1-anneal' cannot honour masking.structure 2:4");
    FAILS(sw_engine_create("policy: gmp\ndensity: 0.5\nmasking: {structure: {type: nm}}", &refused), SW_ERR_CONFIG,
          "policy 'gmp' cannot honour");  /* gmp ranks with topk_mask: no SW_POLICY_HONOURS_STRUCTURE */

    sw_policy *p = NULL;
    OK(sw_policy_create("dnw", "density: 0.25\nmasking: {structure: {type: nm, n: 1, m: 4}}", &p));
    int64_t shape[2] = {8, 16};
    OK(sw_policy_add_layer(p, "w", shape, 2));
    float w[128], mask[128];
    for (int i = 0; i < 128; i++) w[i] = sinf((float)i * 1.3f);
    sw_layer_buffers b = {.struct_size = sizeof b, .weights = w, .mask = mask};
    const sw_layer_buffers *layers[1] = {&b};
    OK(sw_policy_before_forward_v2(p, 0, 10, layers, 1));
    check_nm(mask, 128, 1, 4, "mask-only dnw under 1:4");
    uint32_t flags = 0;
    OK(sw_policy_info(p, NULL, &flags));
    CHECK(flags & SW_POLICY_HONOURS_STRUCTURE, "dnw reports SW_POLICY_HONOURS_STRUCTURE (flags %u)", flags);
    sw_policy_destroy(p);
    FAILS(sw_policy_create("dnw", "density: 0.3\nmasking: {structure: {type: nm, n: 1, m: 4}}", &p), SW_ERR_CONFIG, "set density: 0.25");
    printf("ok   masking.structure: a plugin selecting through select_topk and a mask-only policy keep N:M groups\n");
}

/* ---- momentum-regrow: flags, and same results as the built-in snfs --------------------------- */

static void momentum_regrow(const char *path) {
    OK(sw_load_plugin(path, NULL));
    sw_policy *p = NULL;
    OK(sw_policy_create("momentum-regrow", "density: 0.2", &p));
    uint32_t routing = 0, flags = 0;
    OK(sw_policy_info(p, &routing, &flags));
    CHECK(routing == SW_ROUTE_MASKED_WEIGHTS && (flags & SW_POLICY_FIXED_DENSITY) && (flags & SW_POLICY_PREFERS_ERK),
          "momentum-regrow info: routing %u flags %u", routing, flags);
    sw_policy_destroy(p);
    const char *opts = "policy_options: {delta_t: 3, alpha: 0.4}\n";
    sw_engine *a = engine("momentum-regrow", 0.2, opts), *b = engine("snfs", 0.2, opts);
    OK(sw_engine_train_to_end(a, NULL, NULL, NULL));
    OK(sw_engine_train_to_end(b, NULL, NULL, NULL));
    double la, aa, lb, ab;
    OK(sw_engine_evaluate(a, &la, &aa));
    OK(sw_engine_evaluate(b, &lb, &ab));
    CHECK(la == lb && aa == ab, "momentum-regrow %.17g / %.4f vs snfs %.17g / %.4f", la, aa, lb, ab);
    sw_engine *bad = engine("momentum-regrow", 0.2, "policy_options: {delta_t: soon}\n");
    FAILS(sw_engine_build(bad), SW_ERR_CONFIG, "option 'delta_t' expects an integer");
    sw_engine_destroy(bad);
    sw_engine_destroy(a);
    sw_engine_destroy(b);
    printf("ok   momentum-regrow: FIXED_DENSITY | PREFERS_ERK, bit-identical to snfs with the same options (loss %.6f)\n", la);
}

int main(int argc, char **argv) {
    make_data();
    register_aging();
    if (argc == 2 && strcmp(argv[1], "straight") == 0) {
        sw_engine *e = engine("aging", 0.3, NULL);
        OK(sw_engine_train_to_end(e, NULL, NULL, NULL));
        report(e);
        sw_engine_destroy(e);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "save") == 0) {
        sw_engine *e = engine("aging", 0.3, NULL);
        OK(sw_engine_train_epochs(e, 1, NULL, NULL, NULL));
        OK(sw_engine_save(e, argv[2]));
        sw_engine_destroy(e);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "resume") == 0) {
        sw_engine *e = engine("aging", 0.3, NULL);
        OK(sw_engine_load(e, argv[2]));
        OK(sw_engine_train_to_end(e, NULL, NULL, NULL));
        report(e);
        sw_engine_destroy(e);
        return 0;
    }
    if (argc != 6 || strcmp(argv[1], "checks") != 0) {
        fprintf(stderr, "usage: test_plugin_abi checks V1.so FUTURE.so GMP.so MOMENTUM_REGROW.so | save|resume PATH | straight\n");
        return 2;
    }
    versions(argv[2], argv[3], argv[4]);
    c_abi_additions();
    stop_status();
    density_contract();
    unregistering();
    mask_only();
    structures();
    momentum_regrow(argv[5]);
    printf("test_plugin_abi: all %d checks passed\n", checks);
    return 0;
}
