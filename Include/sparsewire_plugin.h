/*
 * sparsewire_plugin.h — the plugin ABI of SparseWire: mask policies written in C (or anything
 * that can export a C function) and loaded at run time.
 *
 * A plugin is a shared library that exports ONE symbol:
 *
 *     SW_PLUGIN_EXPORT const sw_plugin *sw_plugin_entry(void);
 *
 * returning a pointer to a descriptor that stays valid (and unchanged) for the life of the
 * process. The host loads it with dlopen(RTLD_NOW | RTLD_LOCAL), never unloads it, checks the
 * version (below), and registers each policy by name (a name already registered, built in or
 * from another plugin, is refused).
 *
 * Versions: `abi_version` is the MAJOR version (SW_PLUGIN_ABI_VERSION, 1) and must match;
 * `abi_minor` (ABI 1.1; absent = 0 in plugins built against 1.0) must be ≤ the host's
 * SW_PLUGIN_ABI_MINOR. Minor versions only add: fields at the end of structs (readers check
 * `struct_size`), flags, callbacks. A plugin built against 1.0 loads and runs unchanged.
 *
 * New in 1.1 (each marked "(1.1)" below): writable weights (sw_layer.writable_weights), an
 * optimizer-state reset service (sw_host.reset_optimizer_state), state save/restore hooks that
 * go into checkpoints (save_state / load_state), a destroy callback for `user_data`, options
 * with types (sw_option_info), and a declared density contract (SW_POLICY_FIXED_DENSITY: the
 * host checks the kept counts after every hook; SW_POLICY_LEARNED_DENSITY: not checked).
 *
 * New in 1.2: the flag SW_POLICY_INERT_DEAD_WEIGHTS (a host may keep weights outside the mask
 * at zero and skip the product w ⊙ m).
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

/** Major version of this plugin ABI. A host refuses a plugin of another major version. */
#define SW_PLUGIN_ABI_VERSION 1u
/** (1.1) Minor version: additions only. A host accepts a plugin whose minor is ≤ its own. */
#define SW_PLUGIN_ABI_MINOR 2u

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
/** (1.1) Density contract "fixed": after every hook that writes masks (update_masks,
 *  after_backward, after_step, evaluation_masks) the host checks that every mask is 0/1 with
 *  exactly keep_count ones per layer (with `masking.scope: global`, the sum of the keep_counts
 *  over all layers) and fails naming the layer, the hook and the counts. For top-k policies. */
#define SW_POLICY_FIXED_DENSITY 8u
/** (1.1) Density contract "learned": the policy decides how many weights it keeps (pruning
 *  schedules, thresholds, learned gates); the host does not check kept counts. Set neither
 *  flag and nothing is checked either (what a 1.0 plugin gets). At most one of the two. */
#define SW_POLICY_LEARNED_DENSITY 16u
/** (1.1) Masks may hold values in [0, 1] other than 0 and 1 (soft or expected masks), and a
 *  host may set such masks with sw_engine_set_tensor. Without it masks must be 0/1. */
#define SW_POLICY_SOFT_MASKS 32u
/** (1.1) The policy writes its masks through host->select_topk only, so it keeps any
 *  `masking.structure` (N:M, blocks, channels, constant fan-in); a policy without this flag
 *  refuses a structured config with a config error naming it. */
#define SW_POLICY_HONOURS_STRUCTURE 64u
/** (1.2) Weights outside the mask are inert: no hook reads a weight while it is outside the
 *  mask (values or magnitudes), and every weight a hook brings into the mask gets a value the
 *  policy writes (RigL's zero, a rewind) — so the policy's results do not depend on what masked
 *  weights hold. A host may then keep them, and their optimizer state, at zero and train the
 *  plain weights with masked gradients instead of computing ŵ = w ⊙ m (sparsewire.torch does).
 *  Needs routing SW_ROUTE_MASKED_WEIGHTS and 0/1 masks (not SW_POLICY_SOFT_MASKS). */
#define SW_POLICY_INERT_DEAD_WEIGHTS 128u

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
    const float *weights;      /**< `count` weights, read-only (see writable_weights) */
    float *scores;             /**< `count` scores, writable; NULL unless SW_POLICY_USES_SCORES */
    const float *grad;         /**< dL/dŵ of this step; NULL unless needs_gradient said yes */
    float *mask;               /**< `count` floats, writable: the forward mask (0/1 or a sample) */
    /** (1.1) The same `count` weights, writable in every callback that gets layers (prepare,
     *  update_masks, after_backward, after_step; evaluation_masks must not write them): the
     *  live parameter the optimizer updates next, e.g. zero regrown weights here. Check
     *  `struct_size > offsetof(sw_layer, writable_weights)` before use (a 1.0 host lacks it). */
    float *writable_weights;
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
     *  layers[i]->count values; the masks of the layers are written. With `masking.structure`
     *  (N:M, blocks, channels, constant fan-in) the masks keep that structure: a policy that
     *  selects through this service honours it with no code of its own. */
    int32_t (*select_topk)(void *context, sw_layer *const *layers, uint32_t n, const float *const *criteria);
    /** Reads a numeric option of `policy_options` (validated against sw_policy_def.options).
     *  Returns 1 and sets *value if given, 0 if absent, −1 (error set) if not a number. */
    int32_t (*option_double)(void *context, const char *name, double *value);
    /** As option_double for an integer option (a number with a fractional part is an error). */
    int32_t (*option_int)(void *context, const char *name, int64_t *value);
    /* ---- (1.1): check struct_size > offsetof(sw_host, abi_minor) before using these ---- */
    uint32_t abi_minor;        /**< (1.1) SW_PLUGIN_ABI_MINOR of the host */
    /** (1.1) Forgets the optimizer state (SGD momentum, Adam moments) of weights `indices`
     *  (flat, row-major, each < count) of masked layer `layer` — what regrown weights need. In
     *  mask-only use (sw_policy_*) the host owns the optimizer: the indices are recorded and
     *  read back with sw_policy_optimizer_resets. Returns SW_PLUGIN_OK, or SW_PLUGIN_FAILED
     *  with the error set (layer or index out of range). */
    int32_t (*reset_optimizer_state)(void *context, uint32_t layer, const uint64_t *indices, uint64_t n);
} sw_host;

/** A policy option: its name in `policy_options` and a one-line help (1.0; see sw_option_info). */
typedef struct sw_option {
    const char *name;
    const char *help;
} sw_option;

/* (1.1) Option types: the host checks a given option's value before the policy is created, and
 * a wrong one is a config error naming the option (not a plugin failure). */
#define SW_OPTION_NUMBER 0u    /**< any finite number (read with option_double) */
#define SW_OPTION_INTEGER 1u   /**< a whole number (read with option_int) */
#define SW_OPTION_ANY 2u       /**< any JSON value (read from options_json) */

/** (1.1) A typed policy option; passed as an array of POINTERS, so it can grow. */
typedef struct sw_option_info {
    uint32_t struct_size;
    uint32_t type;             /**< SW_OPTION_* */
    const char *name;
    const char *help;
} sw_option_info;

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

    /* ---- (1.1): a 1.0 table ends above; the host reads these only when struct_size covers them ---- */
    /** (1.1) Serialises the instance's state into a checkpoint, two-call: *needed = the byte
     *  count; bytes are written only when buf is non-NULL and capacity ≥ *needed. State kept
     *  only in scores, masks and weights needs no hook (those are saved anyway). NULL: the
     *  policy has no other state. */
    int32_t (*save_state)(void *state, uint8_t *buf, uint64_t capacity, uint64_t *needed);
    /** (1.1) Restores what save_state wrote (called after prepare, when a checkpoint is
     *  loaded). Required when save_state is set. */
    int32_t (*load_state)(void *state, const uint8_t *bytes, uint64_t size);
    /** (1.1) Called once with `user_data` when the policy is unregistered and its last
     *  instance destroyed (never for a plugin's table, which lives as long as the process). */
    void (*destroy_user_data)(void *user_data);
    /** (1.1) Typed options, an array of `option_info_count` POINTERS; when set, `options` must
     *  be NULL with option_count 0. */
    const sw_option_info *const *option_infos;
    uint32_t option_info_count;
} sw_policy_def;

/** What sw_plugin_entry returns. */
typedef struct sw_plugin {
    uint32_t struct_size;
    uint32_t abi_version;      /**< must be SW_PLUGIN_ABI_VERSION (the major version) */
    const char *name;          /**< the plugin's name, e.g. "gmp" */
    const char *version;       /**< the plugin's own version, e.g. "1.0.0" */
    uint32_t policy_count;
    const sw_policy_def *const *policies;
    uint32_t abi_minor;        /**< (1.1) SW_PLUGIN_ABI_MINOR it was built against */
} sw_plugin;

/** The entry point a plugin defines (declared here so its definition is type-checked). */
SW_PLUGIN_EXPORT const sw_plugin *sw_plugin_entry(void);

typedef const sw_plugin *(*sw_plugin_entry_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* SPARSEWIRE_PLUGIN_H */
