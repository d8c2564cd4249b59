/* A plugin that claims a newer minor version than the host: refused with a clear message. */
#include "sparsewire_plugin.h"

static int32_t create(void *u, const sw_host *h, const char *o, double d, void **s) { (void)u; (void)h; (void)o; (void)d; *s = 0; return 0; }
static int32_t update(void *s, sw_layer *const *l, uint32_t n, const sw_step_info *i) { (void)s; (void)l; (void)n; (void)i; return 0; }
static const sw_policy_def def = {.struct_size = sizeof def, .name = "from-the-future", .routing = SW_ROUTE_MASKED_WEIGHTS,
                                  .create = create, .update_masks = update};
static const sw_policy_def *const defs[] = {&def};
static const sw_plugin plugin = {.struct_size = sizeof plugin, .abi_version = SW_PLUGIN_ABI_VERSION, .name = "future",
                                 .version = "9.9", .policy_count = 1, .policies = defs, .abi_minor = SW_PLUGIN_ABI_MINOR + 1};
SW_PLUGIN_EXPORT const sw_plugin *sw_plugin_entry(void) { return &plugin; }
