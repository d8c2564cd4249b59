/*
 * A plugin written against plugin ABI 1.0: compiled with -Itests_c/abi_v1 (the frozen 1.0
 * header) and never changed, it must keep loading and running on every later host
 * (tests_cli/test_plugin_abi.py). Policy `v1-topk`: each layer keeps its keep_count largest
 * |w| (DNW-style), option `bias` (a number, default 0) is added to |w| before ranking.
 */
#include <math.h>
#include <stdlib.h>

#include "sparsewire_plugin.h"

#if SW_PLUGIN_ABI_VERSION != 1u
#error "this plugin must be built against the frozen 1.0 header in tests_c/abi_v1"
#endif

typedef struct v1_state {
    const sw_host *host;
    double bias;
    float *scratch;
    uint64_t scratch_count;
} v1_state;

static int32_t v1_create(void *user_data, const sw_host *host, const char *options_json, double density, void **state) {
    (void)user_data; (void)options_json; (void)density;
    v1_state *s = calloc(1, sizeof *s);
    if (!s) return SW_PLUGIN_FAILED;
    s->host = host;
    if (host->option_double(host->context, "bias", &s->bias) < 0) { free(s); return SW_PLUGIN_FAILED; }
    *state = s;
    host->log(host->context, SW_LOG_INFO, "v1-topk: created by a 1.0 plugin");
    return SW_PLUGIN_OK;
}

static void v1_destroy(void *state) {
    v1_state *s = state;
    if (s) free(s->scratch);
    free(s);
}

static int32_t v1_update(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step) {
    (void)step;
    v1_state *s = state;
    for (uint32_t i = 0; i < n; i++) {
        const sw_layer *l = layers[i];
        if (s->scratch_count < l->count) {
            float *p = realloc(s->scratch, l->count * sizeof *p);
            if (!p) return SW_PLUGIN_FAILED;
            s->scratch = p;
            s->scratch_count = l->count;
        }
        for (uint64_t j = 0; j < l->count; j++) s->scratch[j] = fabsf(l->weights[j]) + (float)s->bias;
        s->host->topk_mask(s->scratch, l->count, l->keep_count, l->mask);
    }
    return SW_PLUGIN_OK;
}

static const sw_option v1_options[] = {{"bias", "added to |w| before ranking (default 0)"}};

static const sw_policy_def v1_policy = {
    .struct_size = sizeof(sw_policy_def),
    .name = "v1-topk",
    .summary = "test: a plugin built against plugin ABI 1.0",
    .routing = SW_ROUTE_STRAIGHT_THROUGH,
    .options = v1_options,
    .option_count = 1,
    .create = v1_create,
    .destroy = v1_destroy,
    .update_masks = v1_update,
};

static const sw_policy_def *const v1_policies[] = {&v1_policy};

static const sw_plugin v1_plugin = {
    .struct_size = sizeof(sw_plugin),
    .abi_version = SW_PLUGIN_ABI_VERSION,
    .name = "v1",
    .version = "1.0.0",
    .policy_count = 1,
    .policies = v1_policies,
};

SW_PLUGIN_EXPORT const sw_plugin *sw_plugin_entry(void) { return &v1_plugin; }
