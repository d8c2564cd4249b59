/*
 * gmp — gradual magnitude pruning (Zhu & Gupta 2017, "To prune, or not to prune"), a SparseWire
 * policy plugin written in C against Include/sparsewire_plugin.h only.
 *
 * Every layer starts dense (or at `initial_sparsity`) and is pruned by weight magnitude every
 * `frequency` steps between steps t0 = begin·T and t1 = end·T of a run of T steps, following
 * the cubic schedule
 *
 *     s(t) = s_f + (s_i − s_f) · (1 − (t − t0) / (t1 − t0))³,
 *
 * where s_f = 1 − (the layer's target density). From t1 on, each layer keeps exactly its
 * keep_count weights. Pruned weights never come back (the ranking gives masked weights −1), and
 * only kept weights learn (SW_ROUTE_MASKED_WEIGHTS).
 *
 * Plugin ABI 1.1: typed options (a non-numeric `frequency` is a config error before the policy
 * is created), the "learned" density contract (the kept count follows the schedule), and
 * save_state / load_state for the one flag that is not in the masks (the final sparsity was
 * applied), so a resumed run continues exactly.
 *
 * Build: swift build -c release --product sw_gmp → .build/release/libsw_gmp.so, or by hand:
 *     cc -shared -fPIC -O2 -IInclude Plugins/gmp/gmp.c -o libsw_gmp.so
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sparsewire_plugin.h"

typedef struct gmp_state {
    const sw_host *host;
    double begin, end, initial_sparsity;
    int64_t frequency;
    int finished;          /* the final sparsity has been applied */
    float *scratch;
    uint64_t scratch_count;
} gmp_state;

static int fail(const sw_host *host, const char *message) {
    host->set_error(host->context, message);
    return SW_PLUGIN_FAILED;
}

static int read_double(const sw_host *host, const char *name, double lo, double hi, double *value) {
    int32_t rc = host->option_double(host->context, name, value);
    if (rc < 0) return -1;
    if (*value < lo || *value > hi) {
        char msg[160];
        snprintf(msg, sizeof msg, "option '%s' must be in [%g, %g], got %g", name, lo, hi, *value);
        host->set_error(host->context, msg);
        return -1;
    }
    return 0;
}

static int32_t gmp_create(void *user_data, const sw_host *host, const char *options_json, double density, void **state) {
    (void)user_data; (void)options_json; (void)density;
    gmp_state *s = calloc(1, sizeof *s);
    if (!s) return fail(host, "out of memory");
    s->host = host;
    s->begin = 0.0; s->end = 0.75; s->initial_sparsity = 0.0;
    int64_t frequency = 100;
    if (read_double(host, "begin", 0.0, 1.0, &s->begin) || read_double(host, "end", 0.0, 1.0, &s->end) ||
        read_double(host, "initial_sparsity", 0.0, 0.999, &s->initial_sparsity) ||
        host->option_int(host->context, "frequency", &frequency) < 0) {
        free(s);
        return SW_PLUGIN_FAILED;
    }
    if (frequency < 1) { free(s); return fail(host, "option 'frequency' must be ≥ 1"); }
    if (s->end < s->begin) { free(s); return fail(host, "option 'end' must be ≥ 'begin'"); }
    s->frequency = frequency;
    *state = s;
    return SW_PLUGIN_OK;
}

static void gmp_destroy(void *state) {
    gmp_state *s = state;
    if (!s) return;
    free(s->scratch);
    free(s);
}

/* Kept count of a layer at step t of T. */
static uint64_t kept_at(const gmp_state *s, const sw_layer *l, int64_t t, int64_t t0, int64_t t1) {
    double sf = 1.0 - l->density;
    if (t >= t1) return l->keep_count;
    double progress = t1 > t0 ? (double)(t - t0) / (double)(t1 - t0) : 1.0;
    if (progress < 0) progress = 0;
    double r = 1.0 - progress;
    double sparsity = sf + (s->initial_sparsity - sf) * r * r * r;
    uint64_t keep = (uint64_t)llround((1.0 - sparsity) * (double)l->count);
    if (keep < l->keep_count) keep = l->keep_count;
    if (keep > l->count) keep = l->count;
    return keep;
}

static int prune(gmp_state *s, sw_layer *l, uint64_t keep) {
    if (s->scratch_count < l->count) {
        float *p = realloc(s->scratch, l->count * sizeof *p);
        if (!p) return fail(s->host, "out of memory");
        s->scratch = p;
        s->scratch_count = l->count;
    }
    for (uint64_t i = 0; i < l->count; i++)
        s->scratch[i] = l->mask[i] != 0 ? fabsf(l->weights[i]) : -1.0f;
    s->host->topk_mask(s->scratch, l->count, keep, l->mask);
    return SW_PLUGIN_OK;
}

static int32_t gmp_prepare(void *state, sw_layer *const *layers, uint32_t n) {
    gmp_state *s = state;
    char msg[96];
    snprintf(msg, sizeof msg, "gmp: %u layers, prune from %.2f to %.2f of the run every %lld steps",
             n, s->begin, s->end, (long long)s->frequency);
    s->host->log(s->host->context, SW_LOG_INFO, msg);
    if (s->initial_sparsity > 0)
        for (uint32_t i = 0; i < n; i++) {
            uint64_t keep = (uint64_t)llround((1.0 - s->initial_sparsity) * (double)layers[i]->count);
            if (keep < layers[i]->keep_count) keep = layers[i]->keep_count;
            if (prune(s, layers[i], keep)) return SW_PLUGIN_FAILED;
        }
    return SW_PLUGIN_OK;
}

static int32_t gmp_update(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    gmp_state *s = state;
    if (s->finished || !step->training) return SW_PLUGIN_OK;
    int64_t T = step->total_steps;
    int64_t t0 = (int64_t)llround(s->begin * (double)T), t1 = (int64_t)llround(s->end * (double)T);
    int64_t t = step->step;
    if (t < t0) return SW_PLUGIN_OK;
    if (t < t1 && (t - t0) % s->frequency != 0) return SW_PLUGIN_OK;
    for (uint32_t i = 0; i < n; i++)
        if (prune(s, layers[i], kept_at(s, layers[i], t, t0, t1))) return SW_PLUGIN_FAILED;
    if (t >= t1) s->finished = 1;
    return SW_PLUGIN_OK;
}

/* The state that is not in the masks: whether the final sparsity was applied (one byte). */
static int32_t gmp_save_state(void *state, uint8_t *buf, uint64_t capacity, uint64_t *needed) {
    const gmp_state *s = state;
    *needed = 1;
    if (buf && capacity >= 1) buf[0] = (uint8_t)s->finished;
    return SW_PLUGIN_OK;
}

static int32_t gmp_load_state(void *state, const uint8_t *bytes, uint64_t size) {
    gmp_state *s = state;
    if (size != 1 || bytes[0] > 1) return fail(s->host, "load_state: expected one byte, 0 or 1");
    s->finished = bytes[0];
    return SW_PLUGIN_OK;
}

static const sw_option_info opt_begin = {sizeof(sw_option_info), SW_OPTION_NUMBER, "begin",
                                         "fraction of the run where pruning starts (default 0)"};
static const sw_option_info opt_end = {sizeof(sw_option_info), SW_OPTION_NUMBER, "end",
                                       "fraction of the run where the final density is reached (default 0.75)"};
static const sw_option_info opt_frequency = {sizeof(sw_option_info), SW_OPTION_INTEGER, "frequency",
                                             "steps between pruning events (default 100)"};
static const sw_option_info opt_initial = {sizeof(sw_option_info), SW_OPTION_NUMBER, "initial_sparsity",
                                           "sparsity applied before training (default 0)"};
static const sw_option_info *const gmp_options[] = {&opt_begin, &opt_end, &opt_frequency, &opt_initial};

static const sw_policy_def gmp_policy = {
    .struct_size = sizeof(sw_policy_def),
    .name = "gmp",
    .summary = "gradual magnitude pruning, cubic schedule (Zhu & Gupta 2017) [C plugin]",
    .routing = SW_ROUTE_MASKED_WEIGHTS,
    .flags = SW_POLICY_LEARNED_DENSITY,
    .create = gmp_create,
    .destroy = gmp_destroy,
    .prepare = gmp_prepare,
    .update_masks = gmp_update,
    .save_state = gmp_save_state,
    .load_state = gmp_load_state,
    .option_infos = gmp_options,
    .option_info_count = sizeof gmp_options / sizeof gmp_options[0],
};

static const sw_policy_def *const gmp_policies[] = {&gmp_policy};

static const sw_plugin gmp_plugin = {
    .struct_size = sizeof(sw_plugin),
    .abi_version = SW_PLUGIN_ABI_VERSION,
    .name = "gmp",
    .version = "1.1.0",
    .policy_count = 1,
    .policies = gmp_policies,
    .abi_minor = SW_PLUGIN_ABI_MINOR,
};

SW_PLUGIN_EXPORT const sw_plugin *sw_plugin_entry(void) { return &gmp_plugin; }
