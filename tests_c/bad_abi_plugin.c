/* A plugin built for a future plugin ABI: the host must refuse it. */
#include "sparsewire_plugin.h"

static int32_t create(void *u, const sw_host *h, const char *o, double d, void **s) {
    (void)u; (void)h; (void)o; (void)d; *s = 0; return SW_PLUGIN_OK;
}
static int32_t update(void *s, sw_layer *const *l, uint32_t n, const sw_step_info *i) {
    (void)s; (void)l; (void)n; (void)i; return SW_PLUGIN_OK;
}
static const sw_policy_def def = {
    .struct_size = sizeof(sw_policy_def), .name = "future-policy", .routing = SW_ROUTE_MASKED_WEIGHTS,
    .create = create, .update_masks = update,
};
static const sw_policy_def *const defs[] = {&def};
static const sw_plugin plugin = {
    .struct_size = sizeof(sw_plugin), .abi_version = SW_PLUGIN_ABI_VERSION + 1, .name = "future",
    .version = "9.9.9", .policy_count = 1, .policies = defs,
};
SW_PLUGIN_EXPORT const sw_plugin *sw_plugin_entry(void) { return &plugin; }
