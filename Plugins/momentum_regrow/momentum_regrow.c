/*
 * momentum_regrow — dynamic sparse training with gradient-momentum regrowth, a SparseWire
 * policy plugin in C written against Include/sparsewire_plugin.h (plugin ABI 1.1). It is the
 * worked example of a regrowth policy in docs/PLUGINS.md.
 *
 * Every layer keeps exactly keep_count weights (SW_POLICY_FIXED_DENSITY: the host checks it).
 * The mask starts random (from the host's seeded stream) and weights outside it are zeroed.
 * Every training step the policy keeps an exponential moving average of the dense gradient,
 *
 *     e ← β·e + (1 − β)·dL/dŵ          (β = ema_decay, 0.9),
 *
 * and every ΔT steps (delta_t, 100) while t < T_end = round(end_fraction · T) it rewires each
 * layer: with nnz active weights and the cosine drop fraction f(t) = α/2·(1 + cos(π t / T_end)),
 * it drops the k = round(f · nnz) active weights of smallest |w| and grows the k inactive ones
 * of largest |e|. Regrown weights start at 0 (written through sw_layer.writable_weights), their
 * optimizer state (momentum, Adam moments) is reset (host->reset_optimizer_state), and the
 * optimizer skips that step's update. Only active weights learn (SW_ROUTE_MASKED_WEIGHTS).
 *
 * The EMA is the one piece of state outside the host's tensors: save_state / load_state put it
 * into checkpoints, so a resumed run continues bit-identically.
 *
 * Options: alpha (0.3), delta_t (100), end_fraction (0.75), ema_decay (0.9) — those of the
 * built-in `snfs`, which does the same in Swift.
 *
 * Build: swift build -c release --product sw_momentum_regrow → .build/release/libsw_momentum_regrow.so,
 * or by hand: cc -shared -fPIC -O2 -IInclude Plugins/momentum_regrow/momentum_regrow.c -lm -o libsw_momentum_regrow.so
 */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparsewire_plugin.h"

typedef struct layer_state {
    uint64_t count;
    float *ema;          /* EMA of dL/dŵ, count floats */
} layer_state;

typedef struct regrow_state {
    const sw_host *host;
    double alpha, end_fraction;
    float ema_decay;
    int64_t delta_t;
    uint32_t n;          /* layers, known at prepare */
    layer_state *layers;
    float *scratch;      /* criterion, count of the largest layer */
    float *kept;         /* 0/1 after the drop */
    uint64_t scratch_count;
} regrow_state;

static int fail(const sw_host *host, const char *message) {
    host->set_error(host->context, message);
    return SW_PLUGIN_FAILED;
}

static int option(const sw_host *host, const char *name, double lo, double hi, double *value) {
    if (host->option_double(host->context, name, value) < 0) return -1;
    if (!(*value >= lo && *value <= hi)) {
        char msg[160];
        snprintf(msg, sizeof msg, "option '%s' must be in [%g, %g], got %g", name, lo, hi, *value);
        host->set_error(host->context, msg);
        return -1;
    }
    return 0;
}

static int32_t regrow_create(void *user_data, const sw_host *host, const char *options_json, double density, void **state) {
    (void)user_data; (void)options_json; (void)density;
    if (host->struct_size <= offsetof(sw_host, reset_optimizer_state) || host->abi_minor < 1)
        return fail(host, "momentum-regrow needs a host of plugin ABI 1.1 (writable weights, optimizer resets)");
    regrow_state *s = calloc(1, sizeof *s);
    if (!s) return fail(host, "out of memory");
    s->host = host;
    s->alpha = 0.3; s->end_fraction = 0.75; s->delta_t = 100;
    double decay = 0.9;
    if (option(host, "alpha", 0, 1, &s->alpha) || option(host, "end_fraction", 0, 1, &s->end_fraction) ||
        option(host, "ema_decay", 0, 1, &decay) || host->option_int(host->context, "delta_t", &s->delta_t) < 0) {
        free(s);
        return SW_PLUGIN_FAILED;
    }
    if (s->delta_t < 1) { free(s); return fail(host, "option 'delta_t' must be ≥ 1"); }
    s->ema_decay = (float)decay;
    *state = s;
    return SW_PLUGIN_OK;
}

static void regrow_destroy(void *state) {
    regrow_state *s = state;
    if (!s) return;
    for (uint32_t i = 0; i < s->n; i++) free(s->layers[i].ema);
    free(s->layers);
    free(s->scratch);
    free(s->kept);
    free(s);
}

static int32_t regrow_prepare(void *state, sw_layer *const *layers, uint32_t n) {
    regrow_state *s = state;
    s->layers = calloc(n ? n : 1, sizeof *s->layers);
    if (!s->layers) return fail(s->host, "out of memory");
    s->n = n;
    uint64_t largest = 0;
    for (uint32_t i = 0; i < n; i++) {
        const sw_layer *l = layers[i];
        if (l->struct_size <= offsetof(sw_layer, writable_weights) || !l->writable_weights)
            return fail(s->host, "the host gives no writable weights");
        s->layers[i].count = l->count;
        s->layers[i].ema = calloc(l->count, sizeof(float));
        if (!s->layers[i].ema) return fail(s->host, "out of memory");
        if (l->count > largest) largest = l->count;
    }
    s->scratch = malloc(largest * sizeof(float));
    s->kept = malloc(largest * sizeof(float));
    if (!s->scratch || !s->kept) return fail(s->host, "out of memory");
    s->scratch_count = largest;
    /* A random mask of exactly keep_count per layer; weights outside it start at 0. */
    for (uint32_t i = 0; i < n; i++) {
        sw_layer *l = layers[i];
        for (uint64_t j = 0; j < l->count; j++) s->scratch[j] = s->host->random_uniform(s->host->context);
        s->host->topk_mask(s->scratch, l->count, l->keep_count, l->mask);
        for (uint64_t j = 0; j < l->count; j++)
            if (l->mask[j] == 0) l->writable_weights[j] = 0;
    }
    return SW_PLUGIN_OK;
}

static int32_t regrow_needs_gradient(void *state, const sw_step_info *step) {
    (void)state;
    return step->training != 0;  /* the EMA sees every training step */
}

static int32_t regrow_update_masks(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    (void)state; (void)layers; (void)n; (void)step;
    return SW_PLUGIN_OK;  /* the mask changes only in after_backward */
}

static int64_t end_step(const regrow_state *s, const sw_step_info *step) {
    return llround(s->end_fraction * (double)step->total_steps);
}

static int is_update_step(const regrow_state *s, const sw_step_info *step) {
    return step->training && step->step > 0 && step->step % s->delta_t == 0 && step->step < end_step(s, step);
}

/* Drop the k smallest |w| among the active weights, grow the k largest |ema| among the rest. */
static int rewire(regrow_state *s, sw_layer *l, const float *ema, double fraction, uint32_t index) {
    uint64_t n = l->count, nnz = 0;
    for (uint64_t j = 0; j < n; j++) nnz += l->mask[j] != 0;
    uint64_t k = (uint64_t)llround(fraction * (double)nnz);
    if (k == 0) return SW_PLUGIN_OK;
    float *c = s->scratch, *kept = s->kept;
    for (uint64_t j = 0; j < n; j++) c[j] = l->mask[j] != 0 ? fabsf(l->weights[j]) : -INFINITY;
    s->host->topk_mask(c, n, nnz - k, kept);
    for (uint64_t j = 0; j < n; j++) c[j] = kept[j] != 0 ? -INFINITY : fabsf(ema[j]);
    s->host->topk_mask(c, n, k, l->mask);            /* the grown ones */
    uint64_t *grown = malloc(k * sizeof *grown);
    if (!grown) return fail(s->host, "out of memory");
    uint64_t g = 0;
    for (uint64_t j = 0; j < n; j++) {
        if (l->mask[j] != 0 && g < k) { grown[g++] = j; l->writable_weights[j] = 0; }
        if (kept[j] != 0) l->mask[j] = 1;
    }
    int32_t rc = s->host->reset_optimizer_state(s->host->context, index, grown, g);
    free(grown);
    return rc;
}

static int32_t regrow_after_backward(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step,
                                     int32_t *skip_update) {
    regrow_state *s = state;
    if (n != s->n) return fail(s->host, "layer count changed since prepare");
    const float d = s->ema_decay;
    for (uint32_t i = 0; i < n; i++) {
        const float *g = layers[i]->grad;
        if (!g) continue;
        float *e = s->layers[i].ema;
        for (uint64_t j = 0; j < layers[i]->count; j++) e[j] = d * e[j] + (1 - d) * g[j];
    }
    if (!is_update_step(s, step)) return SW_PLUGIN_OK;
    double f = s->alpha / 2 * (1 + cos(3.14159265358979323846 * (double)step->step / (double)(end_step(s, step) > 1 ? end_step(s, step) : 1)));
    for (uint32_t i = 0; i < n; i++)
        if (rewire(s, layers[i], s->layers[i].ema, f, i) != SW_PLUGIN_OK) return SW_PLUGIN_FAILED;
    *skip_update = 1;
    return SW_PLUGIN_OK;
}

/* State: "MRG1", layer count (u32), then per layer its count (u64) and count floats of EMA. */
static int32_t regrow_save_state(void *state, uint8_t *buf, uint64_t capacity, uint64_t *needed) {
    const regrow_state *s = state;
    uint64_t size = 8;
    for (uint32_t i = 0; i < s->n; i++) size += 8 + s->layers[i].count * sizeof(float);
    *needed = size;
    if (!buf || capacity < size) return SW_PLUGIN_OK;
    memcpy(buf, "MRG1", 4);
    memcpy(buf + 4, &s->n, 4);
    uint8_t *p = buf + 8;
    for (uint32_t i = 0; i < s->n; i++) {
        memcpy(p, &s->layers[i].count, 8);
        memcpy(p + 8, s->layers[i].ema, s->layers[i].count * sizeof(float));
        p += 8 + s->layers[i].count * sizeof(float);
    }
    return SW_PLUGIN_OK;
}

static int32_t regrow_load_state(void *state, const uint8_t *bytes, uint64_t size) {
    regrow_state *s = state;
    uint32_t n;
    if (size < 8 || memcmp(bytes, "MRG1", 4) != 0) return fail(s->host, "load_state: not a momentum-regrow state (no MRG1 header)");
    memcpy(&n, bytes + 4, 4);
    if (n != s->n) return fail(s->host, "load_state: the state is for another number of layers");
    const uint8_t *p = bytes + 8, *end = bytes + size;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t count;
        if (end - p < 8) return fail(s->host, "load_state: truncated");
        memcpy(&count, p, 8);
        if (count != s->layers[i].count || (uint64_t)(end - p - 8) < count * sizeof(float))
            return fail(s->host, "load_state: a layer's size differs or the state is truncated");
        memcpy(s->layers[i].ema, p + 8, count * sizeof(float));
        p += 8 + count * sizeof(float);
    }
    if (p != end) return fail(s->host, "load_state: trailing bytes");
    return SW_PLUGIN_OK;
}

static const sw_option_info opt_alpha = {sizeof(sw_option_info), SW_OPTION_NUMBER, "alpha",
                                         "initial drop fraction α (0.3), decayed by a cosine to 0 at T_end"};
static const sw_option_info opt_delta_t = {sizeof(sw_option_info), SW_OPTION_INTEGER, "delta_t",
                                           "steps between rewirings ΔT (100)"};
static const sw_option_info opt_end = {sizeof(sw_option_info), SW_OPTION_NUMBER, "end_fraction",
                                       "fraction of the run after which the topology is fixed (0.75)"};
static const sw_option_info opt_decay = {sizeof(sw_option_info), SW_OPTION_NUMBER, "ema_decay",
                                         "decay β of the gradient's moving average (0.9)"};
static const sw_option_info *const regrow_options[] = {&opt_alpha, &opt_delta_t, &opt_end, &opt_decay};

static const sw_policy_def regrow_policy = {
    .struct_size = sizeof(sw_policy_def),
    .name = "momentum-regrow",
    .summary = "drop smallest |w|, regrow largest |EMA of dL/dw| at 0 with momentum reset [C plugin, ABI 1.1]",
    .routing = SW_ROUTE_MASKED_WEIGHTS,
    .flags = SW_POLICY_FIXED_DENSITY | SW_POLICY_PREFERS_ERK,
    .create = regrow_create,
    .destroy = regrow_destroy,
    .prepare = regrow_prepare,
    .needs_gradient = regrow_needs_gradient,
    .update_masks = regrow_update_masks,
    .after_backward = regrow_after_backward,
    .save_state = regrow_save_state,
    .load_state = regrow_load_state,
    .option_infos = regrow_options,
    .option_info_count = sizeof regrow_options / sizeof regrow_options[0],
};

static const sw_policy_def *const regrow_policies[] = {&regrow_policy};

static const sw_plugin regrow_plugin = {
    .struct_size = sizeof(sw_plugin),
    .abi_version = SW_PLUGIN_ABI_VERSION,
    .name = "momentum_regrow",
    .version = "1.0.0",
    .policy_count = 1,
    .policies = regrow_policies,
    .abi_minor = SW_PLUGIN_ABI_MINOR,
};

SW_PLUGIN_EXPORT const sw_plugin *sw_plugin_entry(void) { return &regrow_plugin; }
