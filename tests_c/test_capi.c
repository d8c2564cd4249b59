/*
 * The C ABI test: compiled with `cc` against Include/ only, linked to libsparsewire.so.
 *
 *   test_capi <plugin> [<plugin> ...] -- <bad-abi.so> <no-entry.so> <gmp-copy.so>
 *
 * Trains the FC net on Fashion-MNIST for one epoch with every registered policy (built-ins,
 * the plugins given, a policy registered from host callbacks), reads the masks back and checks
 * the kept counts, then walks every error path. Environment: SW_TEST_TRAIN_LIMIT (default
 * 60000) and SW_TEST_POLICIES (comma list, default all) shrink the run, e.g. under valgrind.
 * Prints one line per check; exits 1 on the first failure.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparsewire.h"

#define SW_CHECK_PRINT_ERRORS
#include "check.h"

static const char *train_limit(void) {
    const char *v = getenv("SW_TEST_TRAIN_LIMIT");
    return v ? v : "60000";
}

static int selected(const char *policy) {
    const char *list = getenv("SW_TEST_POLICIES");
    if (!list || !*list) return 1;
    size_t n = strlen(policy);
    for (const char *p = list; (p = strstr(p, policy)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return 1;
    return 0;
}

static sw_engine *fc_engine(const char *policy, double density) {
    int frozen = strcmp(policy, "supermask") == 0 || strcmp(policy, "edge-popup") == 0;
    char cfg[512];
    snprintf(cfg, sizeof cfg,
             "model: {name: mlp, hidden: [300, 100], init: %s}\n"
             "data: {dataset: fashion-mnist, train_limit: %s, test_limit: 2000}\n"
             "optimizer: {lr: %s, weight_decay: %s}\nepochs: 1\nbatch_size: 128\nseed: 1\nthreads: 2\n"
             "policy: %s\ndensity: %g\n",
             frozen ? "signed_constant" : "kaiming_normal", train_limit(),
             strcmp(policy, "supermask") == 0 ? "50" : "0.05", frozen ? "0" : "0.0005", policy, density);
    sw_engine *e = NULL;
    sw_status rc = sw_engine_create(cfg, &e);
    CHECK(rc == SW_OK && e, "create engine for %s", policy);
    OK(sw_engine_load_dataset(e, NULL, NULL));
    return e;
}

/* Counts of one masked layer, from the density report and from the mask itself. */
static void check_layer(sw_engine *e, uint32_t i, const char *policy, int exact) {
    sw_layer_density d = {.struct_size = sizeof d};
    OK(sw_engine_layer_density(e, i, &d));
    uint64_t needed = 0;
    OK(sw_engine_get_tensor(e, d.name, SW_TENSOR_MASK, NULL, 0, &needed));
    CHECK(needed == d.count, "%s: mask of %s has %llu elements, layer %llu", policy, d.name,
          (unsigned long long)needed, (unsigned long long)d.count);
    float *mask = malloc(needed * sizeof *mask);
    OK(sw_engine_get_tensor(e, d.name, SW_TENSOR_MASK, mask, needed, &needed));
    uint64_t kept = 0;
    for (uint64_t j = 0; j < needed; j++) kept += mask[j] != 0;
    free(mask);
    CHECK(kept == d.kept, "%s: %s mask keeps %llu, report says %llu", policy, d.name,
          (unsigned long long)kept, (unsigned long long)d.kept);
    uint64_t target = (uint64_t)llround(d.target_density * (double)d.count);
    if (target < 1) target = 1;
    if (exact)
        CHECK(kept == target, "%s: %s keeps %llu, target %llu", policy, d.name,
              (unsigned long long)kept, (unsigned long long)target);
    else
        CHECK(kept >= 1 && kept <= d.count, "%s: %s keeps %llu of %llu", policy, d.name,
              (unsigned long long)kept, (unsigned long long)d.count);
    printf("       %-12s %-11s kept %7llu / %7llu (target %7llu)\n", policy, d.name,
           (unsigned long long)kept, (unsigned long long)d.count, (unsigned long long)target);
}

static int32_t count_steps(const sw_progress *p, void *user) {
    if (!p->epoch_end) ++*(int64_t *)user;
    return 0;
}

static void train_policy(const char *policy) {
    int dense = strcmp(policy, "dense") == 0;
    /* Sampled masks (supermask) and a prune epoch after the first (lottery) have no exact count. */
    int exact = strcmp(policy, "supermask") != 0 && strcmp(policy, "lottery-one-shot") != 0;
    /* gmp reaches its final density at 75 % of the run: not within a 2-step (valgrind) run. */
    if (strcmp(policy, "gmp") == 0 && atoi(train_limit()) < 5000) exact = 0;
    sw_engine *e = fc_engine(policy, dense ? 1.0 : 0.1);
    int64_t steps = 0;
    sw_epoch_result r = {.struct_size = sizeof r};
    OK(sw_engine_train_epoch(e, count_steps, &steps, &r));
    int64_t epochs = 0, done = 0;
    OK(sw_engine_progress(e, &epochs, &done));
    CHECK(epochs == 1 && done == steps && steps > 0, "%s: %lld epochs, %lld steps, callback saw %lld",
          policy, (long long)epochs, (long long)done, (long long)steps);
    /* Better than chance (0.1) on real data; a tiny run (valgrind) only has to finish. */
    double floor = atoi(train_limit()) >= 5000 ? 0.1 : 0.0;
    CHECK(r.epoch == 1 && r.test_accuracy > floor && isfinite(r.train_loss),
          "%s: epoch %d test accuracy %.4f", policy, r.epoch, r.test_accuracy);
    printf("ok   %-18s 1 epoch: test accuracy %.4f, %.2f ms/step\n", policy, r.test_accuracy, r.ms_per_step);
    uint32_t layers = 0;
    OK(sw_engine_layer_count(e, &layers));
    CHECK(dense ? layers == 0 : layers == 3, "%s: %u masked layers", policy, layers);
    for (uint32_t i = 0; i < layers; i++) check_layer(e, i, policy, exact);
    uint64_t total = 0, kept = 0;
    OK(sw_engine_parameter_counts(e, &total, &kept));
    CHECK(total == 266610 && (dense ? kept == total : kept < total / 4 || !exact),
          "%s: %llu of %llu parameters in use", policy, (unsigned long long)kept, (unsigned long long)total);
    CHECK(strcmp(sw_engine_policy(e), policy) == 0, "engine policy is %s", sw_engine_policy(e));
    sw_engine_destroy(e);
}

/* ---- a policy defined by host callbacks: keep the first keep_count weights of each layer -- */

static int host_created = 0, host_destroyed = 0;

static int32_t first_create(void *user, const sw_host *host, const char *options, double density, void **state) {
    (void)options; (void)density;
    CHECK(host && host->struct_size >= sizeof(sw_host) && host->abi_version == SW_PLUGIN_ABI_VERSION, "host table");
    host_created++;
    *state = user;
    return SW_PLUGIN_OK;
}
static void first_destroy(void *state) { (void)state; host_destroyed++; }
static int32_t first_update(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    (void)state; (void)step;
    for (uint32_t i = 0; i < n; i++)
        for (uint64_t j = 0; j < layers[i]->count; j++) layers[i]->mask[j] = j < layers[i]->keep_count;
    return SW_PLUGIN_OK;
}
static int32_t failing_update(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    (void)layers; (void)n;
    const sw_host *host = state;
    if (step->step == 3) {
        host->set_error(host->context, "refusing step 3 on purpose");
        return SW_PLUGIN_FAILED;
    }
    return SW_PLUGIN_OK;
}
static int32_t failing_create(void *user, const sw_host *host, const char *options, double density, void **state) {
    (void)user; (void)options; (void)density;
    *state = (void *)host;
    return SW_PLUGIN_OK;
}

static void callback_policies(void) {
    static int token;
    sw_policy_def def = {
        .struct_size = sizeof def, .name = "keep-first", .summary = "test: keeps the first k weights",
        .routing = SW_ROUTE_MASKED_WEIGHTS, .user_data = &token,
        .create = first_create, .destroy = first_destroy, .update_masks = first_update,
    };
    OK(sw_register_policy(&def));
    def.name = "fails-at-step-3";
    def.create = failing_create;
    def.destroy = NULL;
    def.update_masks = failing_update;
    OK(sw_register_policy(&def));

    sw_engine *e = fc_engine("keep-first", 0.2);
    for (int i = 0; i < 5; i++) OK(sw_engine_train_step(e, NULL, NULL));
    for (uint32_t i = 0; i < 3; i++) check_layer(e, i, "keep-first", 1);
    sw_layer_density d = {.struct_size = sizeof d};
    OK(sw_engine_layer_density(e, 0, &d));
    float *mask = malloc(d.count * sizeof *mask);
    uint64_t needed;
    OK(sw_engine_get_tensor(e, d.name, SW_TENSOR_MASK, mask, d.count, &needed));
    CHECK(mask[0] == 1 && mask[d.count - 1] == 0, "keep-first mask shape");
    free(mask);
    sw_engine_destroy(e);
    CHECK(host_created == 1 && host_destroyed == 1, "callback create %d / destroy %d", host_created, host_destroyed);
    printf("ok   policy from host callbacks trains; create/destroy called once each\n");

    e = fc_engine("fails-at-step-3", 0.2);
    for (int i = 0; i < 3; i++) OK(sw_engine_train_step(e, NULL, NULL));
    FAILS(sw_engine_train_step(e, NULL, NULL), SW_ERR_PLUGIN, "refusing step 3 on purpose");
    sw_engine_destroy(e);
}

/* ---- mask-only use: a policy over host-owned buffers, no engine -------------------------- */

static void mask_only(void) {
    sw_policy *p = NULL;
    OK(sw_policy_create("dnw", "density: 0.25\nseed: 3\n", &p));
    int64_t s1[2] = {8, 16}, s2[4] = {4, 2, 3, 3};
    OK(sw_policy_add_layer(p, "a", s1, 2));
    OK(sw_policy_add_layer(p, "b", s2, 4));
    float wa[128], wb[72], ma[128], mb[72];
    for (int i = 0; i < 128; i++) wa[i] = (float)((i * 37) % 128) - 64.0f;
    for (int i = 0; i < 72; i++) wb[i] = (float)i / 72.0f;
    sw_layer_buffers bufs[2] = {
        {.struct_size = sizeof(sw_layer_buffers), .weights = wa, .mask = ma},
        {.struct_size = sizeof(sw_layer_buffers), .weights = wb, .mask = mb},
    };
    uint32_t routing = 99, flags = 99;
    OK(sw_policy_info(p, &routing, &flags));
    CHECK(routing == SW_ROUTE_STRAIGHT_THROUGH && flags == SW_POLICY_HONOURS_STRUCTURE, "dnw routing %u flags %u", routing, flags);
    OK(sw_policy_before_forward(p, 0, 100, bufs, 2));
    int ka = 0, kb = 0;
    for (int i = 0; i < 128; i++) ka += ma[i] != 0;
    for (int i = 0; i < 72; i++) kb += mb[i] != 0;
    CHECK(ka == 32 && kb == 18, "dnw keeps %d / %d", ka, kb);
    for (int i = 0; i < 72; i++) CHECK((mb[i] != 0) == (i >= 54), "dnw keeps the largest |w| of b");
    FAILS(sw_policy_before_forward(p, 0, 100, bufs, 1), SW_ERR_SHAPE, "2 layers are declared");
    FAILS(sw_policy_add_layer(p, "c", s1, 2), SW_ERR_STATE, "already started");
    sw_policy_destroy(p);

    /* edge-popup initialises the host's scores and keeps the top-|s| half per layer. */
    OK(sw_policy_create("edge-popup", "density: 0.5\n", &p));
    OK(sw_policy_add_layer(p, "a", s1, 2));
    float sa[128] = {0};
    sw_layer_buffers eb = {.struct_size = sizeof eb, .weights = wa, .mask = ma};
    FAILS(sw_policy_before_forward(p, 0, 10, &eb, 1), SW_ERR_INVALID_ARGUMENT, "scores is NULL");
    eb.scores = sa;
    OK(sw_policy_before_forward(p, 0, 10, &eb, 1));
    int nonzero = 0;
    ka = 0;
    for (int i = 0; i < 128; i++) { nonzero += sa[i] != 0; ka += ma[i] != 0; }
    CHECK(nonzero > 100 && ka == 64, "edge-popup: %d scores set, %d kept", nonzero, ka);
    sw_policy_destroy(p);
    printf("ok   mask-only policies over host buffers (dnw, edge-popup)\n");
}

/* ---- checkpoints, predict, tensors, policy switch, stop from the callback ---------------- */

static int32_t stop_after_10(const sw_progress *p, void *user) {
    (void)user;
    return !p->epoch_end && p->step >= 10;
}

static void engine_features(void) {
    sw_engine *e = fc_engine("rigl", 0.2);
    OK(sw_engine_train_epoch(e, stop_after_10, NULL, NULL));
    int64_t epochs, steps, per_epoch = (atoi(train_limit()) + 127) / 128;
    int64_t expect = per_epoch < 10 ? per_epoch : 10;
    OK(sw_engine_progress(e, &epochs, &steps));
    CHECK(steps == expect && epochs == 1, "stopped after %lld steps, %lld epochs", (long long)steps, (long long)epochs);

    uint64_t len = 0;
    OK(sw_engine_parameter_names(e, NULL, 0, &len));
    char *names = malloc(len);
    FAILS(sw_engine_parameter_names(e, names, len - 1, &len), SW_ERR_BUFFER_TOO_SMALL, "needed");
    OK(sw_engine_parameter_names(e, names, len, &len));
    CHECK(strstr(names, "fc1.weight\n") == names, "names start with fc1.weight: %s", names);
    free(names);

    int64_t shape[4];
    uint32_t rank = 0;
    OK(sw_engine_tensor_shape(e, "fc1.weight", SW_TENSOR_VALUE, shape, 4, &rank));
    CHECK(rank == 2 && shape[0] == 300 && shape[1] == 784, "fc1 shape");
    float *w = malloc(235200 * sizeof *w), *w2 = malloc(235200 * sizeof *w2);
    uint64_t n;
    OK(sw_engine_get_tensor(e, "fc1.weight", SW_TENSOR_VALUE, w, 235200, &n));
    double loss0, acc0, loss1, acc1;
    OK(sw_engine_evaluate(e, &loss0, &acc0));

    const char *ckpt = "test_capi_checkpoint.safetensors";
    OK(sw_engine_save(e, ckpt));
    for (int i = 0; i < 235200; i++) w2[i] = 0.5f;
    OK(sw_engine_set_tensor(e, "fc1.weight", SW_TENSOR_VALUE, w2, 235200));
    OK(sw_engine_evaluate(e, &loss1, &acc1));
    CHECK(loss1 != loss0, "overwriting fc1 changes the loss");
    OK(sw_engine_load(e, ckpt));
    OK(sw_engine_get_tensor(e, "fc1.weight", SW_TENSOR_VALUE, w2, 235200, &n));
    CHECK(memcmp(w, w2, 235200 * sizeof *w) == 0, "checkpoint restores fc1.weight exactly");
    OK(sw_engine_evaluate(e, &loss1, &acc1));
    CHECK(loss1 == loss0 && acc1 == acc0, "checkpoint restores the loss: %g vs %g", loss1, loss0);
    OK(sw_engine_progress(e, &epochs, &steps));
    CHECK(steps == expect, "checkpoint restores the step counter");
    printf("ok   checkpoint round trip (loss %.6f, accuracy %.4f)\n", loss0, acc0);

    /* predict: logits for 3 images of zeros; wrong sizes are refused */
    float x[3 * 784] = {0}, logits[30];
    OK(sw_engine_predict(e, x, 3, 3 * 784, logits, 30));
    CHECK(memcmp(logits, logits + 10, 10 * sizeof(float)) == 0, "same input, same logits");
    FAILS(sw_engine_predict(e, x, 3, 3 * 783, logits, 30), SW_ERR_SHAPE, "x_count is 2349");
    FAILS(sw_engine_predict(e, x, 3, 3 * 784, logits, 29), SW_ERR_SHAPE, "logits_count is 29");

    /* switch policy between epochs: dense → masks dropped; dnw at 0.05 → exact counts */
    OK(sw_engine_set_policy(e, "dnw", NULL, 0.05));
    OK(sw_engine_train_step(e, NULL, NULL));
    for (uint32_t i = 0; i < 3; i++) check_layer(e, i, "dnw(switched)", 1);
    FAILS(sw_engine_set_policy(e, "no-such-policy", NULL, -1), SW_ERR_CONFIG, "no-such-policy");
    CHECK(strcmp(sw_engine_policy(e), "dnw") == 0, "failed switch keeps dnw");
    FAILS(sw_engine_load(e, ckpt), SW_ERR_STATE, "saved with policy 'rigl'");
    remove(ckpt);
    FAILS(sw_engine_load(e, "does-not-exist.safetensors"), SW_ERR_IO, "does-not-exist.safetensors");
    printf("ok   policy switch between epochs (rigl -> dnw)\n");

    FAILS(sw_engine_get_tensor(e, "fc1.weight", SW_TENSOR_VALUE, w, 100, &n), SW_ERR_BUFFER_TOO_SMALL, "235200");
    FAILS(sw_engine_set_tensor(e, "fc1.weight", SW_TENSOR_VALUE, w, 100), SW_ERR_SHAPE, "count is 100");
    FAILS(sw_engine_get_tensor(e, "fc9.weight", SW_TENSOR_VALUE, w, 235200, &n), SW_ERR_NOT_FOUND, "fc9.weight");
    FAILS(sw_engine_get_tensor(e, "fc1.bias", SW_TENSOR_MASK, w, 235200, &n), SW_ERR_NOT_FOUND, "has no mask");
    FAILS(sw_engine_get_tensor(e, "fc1.weight", 7, w, 235200, &n), SW_ERR_INVALID_ARGUMENT, "tensor kind 7");
    w[5] = NAN;
    FAILS(sw_engine_set_tensor(e, "fc1.weight", SW_TENSOR_VALUE, w, 235200), SW_ERR_NUMERIC, "element 5");
    free(w);
    free(w2);
    FAILS(sw_engine_set(e, "optimizer.lr", "0.1"), SW_ERR_STATE, "already built");
    sw_engine_destroy(e);
}

static void raw_data(void) {
    enum { N = 64, T = 32 };
    static float x[N * 16], tx[T * 16];
    int32_t y[N], ty[T];
    for (int i = 0; i < N; i++) { y[i] = i % 2; for (int j = 0; j < 16; j++) x[i * 16 + j] = (float)(y[i] * 2 - 1) + 0.01f * j; }
    for (int i = 0; i < T; i++) { ty[i] = i % 2; for (int j = 0; j < 16; j++) tx[i * 16 + j] = (float)(ty[i] * 2 - 1); }
    sw_engine *e = NULL;
    OK(sw_engine_create("{\"model\": {\"name\": \"mlp\", \"hidden\": [8]}, \"batch_size\": 16, \"epochs\": 3,"
                        " \"optimizer\": {\"lr\": 0.1}}", &e));
    FAILS(sw_engine_train_step(e, NULL, NULL), SW_ERR_STATE, "needs data");
    y[7] = 5;
    FAILS(sw_engine_set_data(e, x, y, N, tx, ty, T, 1, 4, 4, 2), SW_ERR_DATA, "label 5 at index 7");
    y[7] = 1;
    FAILS(sw_engine_set_data(e, x, y, N, tx, NULL, T, 1, 4, 4, 2), SW_ERR_INVALID_ARGUMENT, "test_y is NULL");
    OK(sw_engine_set_data(e, x, y, N, tx, ty, T, 1, 4, 4, 2));
    OK(sw_engine_train(e, 0, NULL, NULL));
    double acc = 0;
    OK(sw_engine_evaluate(e, NULL, &acc));
    CHECK(acc == 1.0, "separable raw data: accuracy %.3f", acc);
    int64_t epochs;
    OK(sw_engine_progress(e, &epochs, NULL));
    CHECK(epochs == 3, "sw_engine_train(0) runs the configured 3 epochs, ran %lld", (long long)epochs);
    sw_engine_destroy(e);
    printf("ok   raw float/label buffers train to 100%% on separable data\n");
}

/* The papers' networks (ResNets, Wide ResNet, MobileNetV1, MobileNetV1 with DNW graphs), narrow,
 * on 256 Fashion-MNIST images: create, two steps, evaluation and prediction through the C ABI. */
static void papers_networks(void) {
    static const char *models[] = {
        "model: {name: resnet20, width: 0.25, norm: affine}\npolicy: rigl\ndensity: 0.2\n",
        "model: {name: resnet18, width: 0.125, norm: nonaffine}\npolicy: edge-popup\ndensity: 0.5\n",
        "model: {name: wrn, depth: 10, width: 1, norm: affine}\npolicy: set\ndensity: 0.3\n",
        "model: {name: mobilenetv1, width: 0.25, norm: affine}\npolicy: dense\n",
        "model: {name: mobilenetv1-dnw, width: 0.25, norm: affine}\npolicy: dnw\n",
    };
    static float x[2 * 28 * 28], logits[2 * 10];
    for (size_t i = 0; i < sizeof models / sizeof *models; i++) {
        char cfg[512];
        snprintf(cfg, sizeof cfg, "%sdata: {dataset: fashion-mnist, train_limit: 256, test_limit: 128}\nbatch_size: 64\nseed: 1\n"
                 "optimizer: {lr: 0.05}\n", models[i]);
        sw_engine *e = NULL;
        OK(sw_engine_create(cfg, &e));
        OK(sw_engine_load_dataset(e, NULL, NULL));
        double loss = 0, acc = -1;
        for (int s = 0; s < 2; s++) OK(sw_engine_train_step(e, &loss, NULL));
        CHECK(isfinite(loss) && loss > 0, "%.40s: finite training loss %g", models[i], loss);
        OK(sw_engine_evaluate(e, &loss, &acc));
        CHECK(acc >= 0 && acc <= 1 && isfinite(loss), "%.40s: evaluation accuracy %g loss %g", models[i], acc, loss);
        for (int j = 0; j < 2 * 28 * 28; j++) x[j] = (float)((j % 17) - 8) / 8.0f;
        OK(sw_engine_predict(e, x, 2, 2 * 28 * 28, logits, 2 * 10));
        int finite = 1;
        for (int j = 0; j < 20; j++) finite &= isfinite(logits[j]) != 0;
        CHECK(finite, "%.40s: finite logits", models[i]);
        sw_engine_destroy(e);
    }
    printf("ok   ResNet-20/18, WRN, MobileNetV1 and MobileNetV1-DNW train, evaluate and predict\n");
}

static void error_paths(const char *bad_abi, const char *no_entry, const char *gmp_copy) {
    sw_engine *e = NULL;
    FAILS(sw_engine_train_epoch(NULL, NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT, "sw_engine handle is NULL");
    FAILS(sw_engine_evaluate(NULL, NULL, NULL), SW_ERR_INVALID_ARGUMENT, "NULL");
    FAILS(sw_engine_create("optimizer: {learning_rate: 0.1}", &e), SW_ERR_CONFIG, "optimizer.learning_rate");
    CHECK(e == NULL, "failed create leaves *out NULL");
    FAILS(sw_engine_create("epochs: [1, 2", &e), SW_ERR_CONFIG, "not valid YAML");
    FAILS(sw_engine_create("policy: rigll", &e), SW_ERR_CONFIG, "did you mean 'rigl'");
    FAILS(sw_engine_create("density: 1.5\npolicy: dnw", &e), SW_ERR_CONFIG, "density must be in (0, 1]");
    FAILS(sw_engine_create("policy: dnw\npolicy_options: {bogus: 1}", &e), SW_ERR_CONFIG, "no option 'bogus'");
    FAILS(sw_engine_create(NULL, NULL), SW_ERR_INVALID_ARGUMENT, "out is NULL");
    const char bad_utf8[] = {'p', 'o', 'l', 'i', 'c', 'y', ':', ' ', (char)0xff, 0};
    FAILS(sw_engine_create(bad_utf8, &e), SW_ERR_INVALID_ARGUMENT, "not valid UTF-8");
    FAILS(sw_policy_create("nope", NULL, (sw_policy **)&e), SW_ERR_CONFIG, "unknown policy 'nope'");

    OK(sw_engine_create(NULL, &e));
    sw_engine *stale = e;
    sw_engine_destroy(e);
    sw_engine_destroy(NULL);
    FAILS(sw_engine_evaluate(stale, NULL, NULL), SW_ERR_INVALID_ARGUMENT, "not live");

    OK(sw_engine_create("policy: dense", &e));
    FAILS(sw_engine_load_dataset(e, "fashion-mnist", "/no/such/dir"), SW_ERR_IO, "/no/such/dir");
    FAILS(sw_engine_set(e, "optimizer.lrr", "0.1"), SW_ERR_CONFIG, "optimizer.lrr");
    FAILS(sw_engine_set_policy(e, "dnw", "{frobnicate: 2}", 0.5), SW_ERR_CONFIG, "no option 'frobnicate'");
    sw_engine_destroy(e);

    uint32_t added = 7;
    FAILS(sw_load_plugin("/no/such/plugin.so", &added), SW_ERR_IO, "/no/such/plugin.so");
    CHECK(added == 0, "nothing added");
    FAILS(sw_load_plugin(bad_abi, &added), SW_ERR_PLUGIN, "plugin ABI 2.0");
    FAILS(sw_load_plugin(no_entry, &added), SW_ERR_PLUGIN, "does not export 'sw_plugin_entry'");
    FAILS(sw_load_plugin(gmp_copy, &added), SW_ERR_PLUGIN, "'gmp' is already registered");
    FAILS(sw_load_plugin(NULL, &added), SW_ERR_INVALID_ARGUMENT, "path is NULL");

    sw_policy_def dup = {.struct_size = sizeof dup, .name = "dnw", .routing = SW_ROUTE_MASKED_WEIGHTS,
                         .create = first_create, .update_masks = first_update};
    FAILS(sw_register_policy(&dup), SW_ERR_PLUGIN, "'dnw' is already registered");
    dup.name = "Bad Name";
    FAILS(sw_register_policy(&dup), SW_ERR_PLUGIN, "must be 1–64 characters");
    dup.name = "no-update";
    dup.update_masks = NULL;
    FAILS(sw_register_policy(&dup), SW_ERR_PLUGIN, "no update_masks callback");
    dup.update_masks = first_update;
    dup.struct_size = 8;
    FAILS(sw_register_policy(&dup), SW_ERR_PLUGIN, "struct_size is 8");
    dup.struct_size = sizeof dup;
    dup.routing = SW_ROUTE_SCORES;
    FAILS(sw_register_policy(&dup), SW_ERR_PLUGIN, "SW_POLICY_USES_SCORES");

    char small[4];
    uint64_t needed = 0;
    FAILS(sw_policy_names(small, sizeof small, &needed), SW_ERR_BUFFER_TOO_SMALL, "4 bytes");
    CHECK(needed > 50, "policy names need %llu bytes", (unsigned long long)needed);
    CHECK(strcmp(sw_status_name(SW_ERR_PLUGIN), "SW_ERR_PLUGIN") == 0, "status names");
    CHECK(strcmp(sw_status_name(12345), "SW_UNKNOWN_STATUS") == 0, "unknown status name");
}

int main(int argc, char **argv) {
    CHECK(sw_abi_version() == SW_ABI_VERSION, "ABI %u vs header %u", sw_abi_version(), SW_ABI_VERSION);
    printf("sparsewire %s, C ABI %u, OpenBLAS core %s\n", sw_version_string(), sw_abi_version(), sw_blas_core());
    int sep = 1;
    while (sep < argc && strcmp(argv[sep], "--") != 0) sep++;
    CHECK(argc - sep == 4,
          "usage: test_capi PLUGIN... -- BAD_ABI.so NO_ENTRY.so GMP_COPY.so");

    /* The built-ins first (names before any plugin), then the plugins. */
    uint64_t len = 0;
    OK(sw_policy_names(NULL, 0, &len));
    char *builtins = malloc(len);
    OK(sw_policy_names(builtins, len, &len));
    for (int i = 1; i < sep; i++) {
        uint32_t added = 0;
        OK(sw_load_plugin(argv[i], &added));
        CHECK(added == 1, "plugin %s adds one policy, added %u", argv[i], added);
        OK(sw_load_plugin(argv[i], &added));
        CHECK(added == 0, "loading %s again is a no-op", argv[i]);
    }
    uint64_t all_len = 0;
    OK(sw_policy_names(NULL, 0, &all_len));
    char *all = malloc(all_len);
    OK(sw_policy_names(all, all_len, &all_len));
    CHECK(strstr(all, "\ngmp") && strstr(all, "\nsnip"), "plugins listed: %s", all);

    int trained = 0;
    for (char *name = strtok(all, "\n"); name; name = strtok(NULL, "\n"))
        if (selected(name)) { train_policy(name); trained++; }
    printf("ok   %d policies trained one epoch each\n", trained);
    free(builtins);
    free(all);

    callback_policies();
    mask_only();
    engine_features();
    raw_data();
    papers_networks();
    error_paths(argv[sep + 1], argv[sep + 2], argv[sep + 3]);
    printf("all %d checks passed\n", checks);
    return 0;
}
