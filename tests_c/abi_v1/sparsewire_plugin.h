/*
 * sparsewire_plugin.h — the plugin ABI of SparseWire: mask policies written in C (or anything
 * that can export a C function) and loaded at run time.
 *
 * A plugin is a shared library that exports ONE symbol:
 *
 *     SW_PLUGIN_EXPORT const sw_plugin *sw_plugin_entry(void);
 *
 * returning a pointer to a descriptor that stays valid (and unchanged) for the life of the
 * process. The host loads it with dlopen(RTLD_NOW | RTLD_LOCAL), never unloads it, checks
 * `abi_version == SW_PLUGIN_ABI_VERSION`, and registers each policy by name (a name already
 * registered, built in or from another plugin, is refused).
 *
 * The same `sw_policy_def` also registers a policy from host callbacks at run time
 * (`sw_register_policy` in sparsewire.h) — that is how the Python binding adds policies
 * written in Python.
 *
 * Life cycle of one policy instance (one per training run or stand-alone policy object):
 *
 *   create → prepare(all layers) → per training step:
 *       update_masks → forward/backward (routing decides where gradients go)
 *       → after_backward (may ask to skip the optimizer update) → optimizer → after_step
 *   → evaluation_masks before each evaluation → destroy.
 *
 * All callbacks of one instance are called from one thread at a time (the thread that drives
 * training); different instances may run on different threads. Callbacks return SW_PLUGIN_OK
 * (0) or, after calling host->set_error, any other value; the host turns that into an error
 * naming the policy. Callbacks must not longjmp or throw across this boundary.
 *
 * Rules that keep the ABI stable: every struct starts with `uint32_t struct_size`
 * (sizeof as the writer compiled it) and only grows at the end; readers check struct_size
 * before touching a field. Arrays of structs are passed as arrays of POINTERS, so a struct
 * that grows never changes an array's stride.
 */
#ifndef SPARSEWIRE_PLUGIN_H
#define SPARSEWIRE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this plugin ABI. A host refuses a plugin built against another version. */
#define SW_PLUGIN_ABI_VERSION 1u

/** The name of the one symbol a plugin exports. */
#define SW_PLUGIN_ENTRY_SYMBOL "sw_plugin_entry"

#if defined(_WIN32)
#define SW_PLUGIN_EXPORT __declspec(dllexport)
#else
#define SW_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/** Callback results. */
#define SW_PLUGIN_OK 0
#define SW_PLUGIN_FAILED 1

/* Gradient routing: where dL/dŵ of the effective weight ŵ = w ⊙ m goes. */
/** No mask (dense). */
#define SW_ROUTE_NONE 0u
/** dL/dw = dL/dŵ for every weight, masked or not (DNW's straight-through update). */
#define SW_ROUTE_STRAIGHT_THROUGH 1u
/** dL/dw = dL/dŵ ⊙ m: only kept weights learn (RigL, GMP, SNIP, …). */
#define SW_ROUTE_MASKED_WEIGHTS 2u
/** Frozen weights; dL/ds = dL/dŵ ⊙ w (needs SW_POLICY_USES_SCORES). */
#define SW_ROUTE_SCORES 3u
/** As SW_ROUTE_SCORES, times sign(s): for masks ranked by |s| (edge-popup). */
#define SW_ROUTE_ABS_SCORES 4u
/** Frozen weights; dL/ds = dL/dŵ ⊙ w ⊙ σ(s)(1 − σ(s)) (Bernoulli supermask). */
#define SW_ROUTE_SIGMOID_SCORES 5u

/* Policy flags (bitwise or). */
/** The optimizer must not change the weights and biases (edge-popup, supermask). */
#define SW_POLICY_FROZEN_WEIGHTS 1u
/** The host gives every layer a score tensor (zero-filled; `prepare` initialises it) that the
 *  optimizer trains; `sw_layer.scores` is then non-NULL. */
#define SW_POLICY_USES_SCORES 2u
/** Spread the density with Erdős–Rényi-Kernel when `masking.distribution` is `auto`. */
#define SW_POLICY_PREFERS_ERK 4u

/* Log levels for sw_host.log. */
#define SW_LOG_DEBUG 0
#define SW_LOG_INFO 1
#define SW_LOG_WARNING 2

/** Where training is. Read-only for the plugin. */
typedef struct sw_step_info {
    uint32_t struct_size;
    int32_t training;          /**< 1 in training, 0 in evaluation */
    int64_t step;              /**< optimisation steps done before this one (0-based) */
    int64_t epoch;             /**< 0-based epoch of this step */
    int64_t steps_per_epoch;
    int64_t total_steps;       /**< steps of the configured run; 0 when unknown */
} sw_step_info;

/** One masked tensor (a conv or linear weight). Pointers are valid only during the callback. */
typedef struct sw_layer {
    uint32_t struct_size;
    uint32_t index;            /**< position among the masked layers, 0 = first */
    const char *name;          /**< e.g. "conv1.weight"; UTF-8 */
    const int64_t *shape;      /**< `rank` dimensions, e.g. [out, in, kh, kw] */
    uint32_t rank;
    uint64_t count;            /**< number of weights = product of shape */
    uint64_t keep_count;       /**< round(density · count), ≥ 1: what a top-k policy keeps */
    double density;            /**< this layer's target fraction kept (uniform/ERK allocation) */
    const float *weights;      /**< `count` weights, read-only */
    float *scores;             /**< `count` scores, writable; NULL unless SW_POLICY_USES_SCORES */
    const float *grad;         /**< dL/dŵ of this step; NULL unless needs_gradient said yes */
    float *mask;               /**< `count` floats, writable: the forward mask (0/1 or a sample) */
} sw_layer;

/**
 * Services the host offers a policy instance. Given to `create`; valid until `destroy`.
 * Pass `context` as the first argument of every function that takes one. Check
 * `struct_size` before using a field added after version 1.
 */
typedef struct sw_host {
    uint32_t struct_size;
    uint32_t abi_version;      /**< SW_PLUGIN_ABI_VERSION of the host */
    void *context;
    /** A line in the host's log (the CLI prints it on stderr at -v). */
    void (*log)(void *context, int32_t level, const char *message);
    /** Sets the message of the error the failing callback is about to return. Copied. */
    void (*set_error)(void *context, const char *message);
    /** The engine's seeded random stream for this instance (same seed ⇒ same numbers). */
    uint64_t (*random_u64)(void *context);
    float (*random_uniform)(void *context);   /**< uniform in [0, 1) */
    float (*random_normal)(void *context);    /**< standard normal */
    /** Writes a 0/1 mask with exactly k ones at the k largest of values[0..n) (ties: lower
     *  index wins). k is clamped to [0, n]. Needs no context; O(n) expected. */
    void (*topk_mask)(const float *values, uint64_t n, uint64_t k, float *mask);
    /** Top-k over all `n` layers with the configured `masking.scope`: per layer (each keeps
     *  its keep_count) or global (one threshold, total of the keep_counts). criteria[i] holds
     *  layers[i]->count values; the masks of the layers are written. */
    int32_t (*select_topk)(void *context, sw_layer *const *layers, uint32_t n, const float *const *criteria);
    /** Reads a numeric option of `policy_options` (validated against sw_policy_def.options).
     *  Returns 1 and sets *value if given, 0 if absent, −1 (error set) if not a number. */
    int32_t (*option_double)(void *context, const char *name, double *value);
    /** As option_double for an integer option (a number with a fractional part is an error). */
    int32_t (*option_int)(void *context, const char *name, int64_t *value);
} sw_host;

/** A policy option: its name in `policy_options` and a one-line help. */
typedef struct sw_option {
    const char *name;
    const char *help;
} sw_option;

/**
 * A mask policy. Only `create` and `update_masks` are required; NULL callbacks do nothing
 * (needs_gradient NULL = never).
 */
typedef struct sw_policy_def {
    uint32_t struct_size;
    const char *name;          /**< [a-z0-9_-]+, unique in the process */
    const char *summary;       /**< one line for `sparsewire policies` */
    uint32_t routing;          /**< SW_ROUTE_* */
    uint32_t flags;            /**< SW_POLICY_* */
    const sw_option *options;  /**< `option_count` options; unknown options are refused */
    uint32_t option_count;
    void *user_data;           /**< handed to create (host-callback policies) */

    /** Makes the state of one instance. `options_json` is a JSON object of the given options
     *  (also readable through host->option_*); `density` is the global fraction kept.
     *  `host` stays valid until destroy. */
    int32_t (*create)(void *user_data, const sw_host *host, const char *options_json, double density, void **state);
    /** Frees the state (may be NULL). */
    void (*destroy)(void *state);
    /** Once, before the first step: initialise scores and masks (masks start all ones). */
    int32_t (*prepare)(void *state, sw_layer *const *layers, uint32_t n);
    /** Nonzero if `grad` must be kept for after_backward of this step. */
    int32_t (*needs_gradient)(void *state, const sw_step_info *step);
    /** Before each training forward pass: write the masks. */
    int32_t (*update_masks)(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step);
    /** After backward, before the optimizer. Set *skip_update = 1 to skip this step's update. */
    int32_t (*after_backward)(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step,
                              int32_t *skip_update);
    /** After the optimizer update. */
    int32_t (*after_step)(void *state, sw_layer *const *layers, uint32_t n, const sw_step_info *step);
    /** Before evaluation: write the masks evaluation uses (NULL: keep the training masks). */
    int32_t (*evaluation_masks)(void *state, sw_layer *const *layers, uint32_t n);
} sw_policy_def;

/** What sw_plugin_entry returns. */
typedef struct sw_plugin {
    uint32_t struct_size;
    uint32_t abi_version;      /**< must be SW_PLUGIN_ABI_VERSION */
    const char *name;          /**< the plugin's name, e.g. "gmp" */
    const char *version;       /**< the plugin's own version, e.g. "1.0.0" */
    uint32_t policy_count;
    const sw_policy_def *const *policies;
} sw_plugin;

/** The entry point a plugin defines (declared here so its definition is type-checked). */
SW_PLUGIN_EXPORT const sw_plugin *sw_plugin_entry(void);

typedef const sw_plugin *(*sw_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* SPARSEWIRE_PLUGIN_H */
