/*
 * sparsewire.h — the stable C ABI of SparseWire (libsparsewire.so).
 *
 * Conventions (they hold for every function below unless its comment says otherwise):
 *
 * - Status: every function that can fail returns an sw_status; SW_OK (0) is success. On
 *   failure sw_last_error() returns a message naming the offending input. Nothing throws,
 *   traps or exits across this boundary: NULL pointers, sizes, names, UTF-8 and shapes are
 *   checked first.
 * - Handles: opaque (sw_engine, sw_policy), made through an out-parameter and released by the
 *   matching *_destroy, which accepts NULL. A failed create leaves *out = NULL.
 * - Buffers are BORROWED for the duration of the call and copied if kept.
 * - Variable-size outputs use the two-call pattern: call with buf = NULL (or too small) to
 *   learn the size in *needed (status SW_ERR_BUFFER_TOO_SMALL when buf is non-NULL and too
 *   small, SW_OK when buf is NULL), then call again with a buffer of that size.
 * - Strings are UTF-8, NUL-terminated. Returned `const char *` are owned by the library.
 * - Threads: one engine or policy object must be used by one thread at a time (the host
 *   serialises calls); different objects may be used from different threads. Each engine
 *   owns its compute threads (`threads` in the config) and worker pool: two engines on two
 *   host threads run at their own counts. Callbacks are called on the thread that made the call.
 *   Re-entrancy: while a mutating call runs on a handle (training, evaluation, prediction, set,
 *   set_data, set_policy, set_tensor, save, load; sw_policy_add_layer and the sw_policy step
 *   calls), another mutating call on the same handle — from inside one of its callbacks
 *   (progress, host-callback or plugin policy) or from a second thread — returns SW_ERR_STATE
 *   naming the running call; it never deadlocks and the running call finishes normally.
 *   Read-only calls (sw_engine_progress, sw_engine_request_stop, sw_engine_policy, the tensor,
 *   name, shape, density and count getters; sw_policy_info, sw_policy_needs_gradient) are
 *   allowed meanwhile. sw_engine_destroy inside a callback invalidates the handle; the running
 *   call still finishes on its own references.
 * - Config: a YAML or JSON document with the same keys as `sparsewire train --config`
 *   (docs/CONFIG.md). Density means the fraction of weights KEPT.
 * - Growth: functions are added, never changed (a changed signature gets a `_v2` name);
 *   structs start with `struct_size` (set it to sizeof) and only grow at the end.
 *
 * OpenBLAS: set OPENBLAS_CORETYPE (SkylakeX on AVX-512, Haswell on AVX2) in the environment
 * BEFORE this library is loaded, or OpenBLAS 0.3.21 may pick a slow kernel on some CPUs; the
 * Python binding and the CLI do this for you. sw_blas_core() says what was picked.
 */
#ifndef SPARSEWIRE_H
#define SPARSEWIRE_H

#include <stddef.h>
#include <stdint.h>

#include "sparsewire_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Version of this C ABI; compare with sw_abi_version() at run time. */
#define SW_ABI_VERSION 1u

/** Status codes. */
typedef int32_t sw_status;
#define SW_OK 0
#define SW_ERR_INVALID_ARGUMENT 1   /**< NULL pointer, bad enum, not UTF-8 */
#define SW_ERR_CONFIG 2             /**< bad config key or value, unknown policy or option */
#define SW_ERR_SHAPE 3              /**< a size or shape does not match */
#define SW_ERR_DATA 4               /**< bad dataset content */
#define SW_ERR_IO 5                 /**< a file cannot be read or written */
#define SW_ERR_NUMERIC 6            /**< loss became NaN/inf */
#define SW_ERR_STATE 7              /**< call not valid now (e.g. training before data) */
#define SW_ERR_UNSUPPORTED 8
#define SW_ERR_NOT_FOUND 9          /**< no tensor / layer of that name */
#define SW_ERR_BUFFER_TOO_SMALL 10  /**< two-call pattern: *needed says how much */
#define SW_ERR_PLUGIN 11            /**< a plugin cannot be loaded or a plugin callback failed */
#define SW_ERR_INTERNAL 12
#define SW_STOPPED 13               /**< training stopped on request (sw_engine_request_stop) after a whole
                                         step, the epoch left open: save a checkpoint to resume exactly there,
                                         or train on. Added to ABI 1 by addition. */

/** Tensor kinds for the tensor accessors. */
typedef int32_t sw_tensor_kind;
#define SW_TENSOR_VALUE 0   /**< the parameter itself */
#define SW_TENSOR_MASK 1    /**< the forward mask (masked layers only) */
#define SW_TENSOR_SCORES 2  /**< learned scores (policies with scores only) */
#define SW_TENSOR_GRAD 3    /**< gradient of the last step (read only) */

typedef struct sw_engine sw_engine;
typedef struct sw_policy sw_policy;

/* ---------------------------------------------------------------- version and errors -- */

/** The ABI version the library implements (SW_ABI_VERSION it was built with). Any thread. */
uint32_t sw_abi_version(void);
/** The library version, e.g. "0.1.0". Static string. Any thread. */
const char *sw_version_string(void);
/** The message of the last failed call ON THIS THREAD ("" if none). A succeeding call does
 *  not clear it (sw_clear_last_error does). Valid until the next failing call or clear on
 *  this thread. Any thread. */
const char *sw_last_error(void);
/** Clears this thread's last error: sw_last_error() returns "" until a call fails again.
 *  Any thread. Added to ABI 1 by addition. */
void sw_clear_last_error(void);
/** A static name for a status code, e.g. "SW_ERR_CONFIG". Any thread. */
const char *sw_status_name(sw_status status);
/** The OpenBLAS core type in use (e.g. "SkylakeX"). Static string. Any thread. */
const char *sw_blas_core(void);

/** Bits of sw_cpu_features(). */
#define SW_CPU_AVX2 1u
#define SW_CPU_FMA 2u
#define SW_CPU_AVX512F 4u
#define SW_CPU_AVX512BW 8u
#define SW_CPU_AVX512VL 16u
/** The CPU's vector features (SW_CPU_* bits), from the one detector the kernels dispatch on
 *  (`sparsewire info` prints the same). Any thread. Added to ABI 1 by addition. */
uint32_t sw_cpu_features(void);
/** The OPENBLAS_CORETYPE this CPU should run with ("SkylakeX" with AVX-512, "Haswell" with
 *  AVX2+FMA), or "" when OpenBLAS's own detection is right. Static string. Any thread. Note that
 *  OpenBLAS reads the variable when it loads, which is before this call can be made: hosts that
 *  must choose before loading run `sparsewire info --blas-coretype`. Added to ABI 1 by addition. */
const char *sw_recommended_blas_core(void);

/* -------------------------------------------------------------------------------- log -- */

/** Receives one log line: its level (SW_LOG_* of sparsewire_plugin.h), its source (a policy
 *  name for plugin and policy lines) and the message, both valid during the call only.
 *  Called on the thread that logs, possibly inside a training call: it must not call back
 *  into the engine that is running. */
typedef void (*sw_log_fn)(int32_t level, const char *source, const char *message, void *user_data);
/** Sends engine and plugin log lines at or above `min_level` (SW_LOG_DEBUG … SW_LOG_WARNING)
 *  to `fn` instead of stderr; fn NULL restores stderr at that level. Process-wide, any thread;
 *  the default is stderr at SW_LOG_WARNING. Added to ABI 1 by addition. */
sw_status sw_set_log_callback(sw_log_fn fn, void *user_data, int32_t min_level);

/* ------------------------------------------------------------------------ engine life -- */

/** Creates an engine from a YAML/JSON config (NULL or "" = all defaults). The config is
 *  validated now (unknown keys, policy name and options, value ranges). No data is loaded. */
sw_status sw_engine_create(const char *config, sw_engine **out);
/** Destroys an engine and everything it owns. NULL is fine. */
void sw_engine_destroy(sw_engine *engine);
/** Overrides one config key before training starts, e.g. ("optimizer.lr", "0.05"). The value
 *  is parsed like `--set key=value`; the key and the value's type are checked now, how keys
 *  combine (policy, policy options, density) when the network is built (first train/evaluate
 *  call), so keys may be set in any order. SW_ERR_STATE once the network exists. */
sw_status sw_engine_set(sw_engine *engine, const char *key, const char *value);
/** Life cycle: create → set keys → load or set data → BUILD → train / evaluate / tensors →
 *  destroy. Building makes the network, the policy and the optimizer from the config and the
 *  data's shape, and freezes the config (sw_engine_set then returns SW_ERR_STATE). Every call
 *  that needs the network builds it implicitly if needed; sw_engine_build does it explicitly
 *  (errors of the config surface here, not in the first training call). SW_ERR_STATE without
 *  data; building a built engine is a no-op. Added to ABI 1 by addition. */
sw_status sw_engine_build(sw_engine *engine);
/** *built = 1 once the network exists (built explicitly or by a call that needs it), else 0.
 *  Read-only. Added to ABI 1 by addition. */
sw_status sw_engine_is_built(sw_engine *engine, int32_t *built);
/** The input one example has (channels × height × width) and the number of classes, from the
 *  loaded data; any pointer may be NULL. SW_ERR_STATE before data is loaded or set. Read-only.
 *  Added to ABI 1 by addition. */
sw_status sw_engine_input_shape(sw_engine *engine, uint32_t *channels, uint32_t *height, uint32_t *width,
                                uint32_t *classes);

/* ------------------------------------------------------------------------------- data -- */

/** Loads a dataset from files: name "fashion-mnist", "mnist" (IDX layout, .gz or plain) or
 *  "cifar10" (binary batches directory). NULL name / path = the config's data.dataset /
 *  data.path (fashion-mnist defaults to /usr/share/datasets/fashion-mnist). Applies the
 *  config's data.train_limit, data.test_limit and data.normalize. */
sw_status sw_engine_load_dataset(sw_engine *engine, const char *name, const char *path);

/** Hands over train and test data as raw buffers, COPIED before the call returns.
 *  x: n × channels × height × width floats (NCHW, row-major), y: n labels in [0, classes).
 *  Normalisation follows data.normalize (statistics of the train set). */
sw_status sw_engine_set_data(sw_engine *engine,
                             const float *train_x, const int32_t *train_y, uint64_t train_n,
                             const float *test_x, const int32_t *test_y, uint64_t test_n,
                             uint32_t channels, uint32_t height, uint32_t width, uint32_t classes);

/* --------------------------------------------------------------------------- training -- */

/** What a progress callback sees. */
typedef struct sw_progress {
    uint32_t struct_size;
    int32_t epoch_end;       /**< 1 on the event that closes an epoch (test metrics set) */
    int32_t epoch;           /**< 1-based epoch being trained */
    int64_t step;            /**< step within the epoch, 1-based */
    int64_t steps_in_epoch;
    double loss;             /**< running mean train loss of the epoch */
    double accuracy;         /**< running train accuracy of the epoch */
    double lr;
    double test_loss;        /**< only when epoch_end */
    double test_accuracy;    /**< only when epoch_end */
} sw_progress;

/** Called after every step and at the end of every epoch, on the calling thread. Return 0 to
 *  go on, nonzero to stop after this step (the epoch is then evaluated and counted). The
 *  sw_progress pointer is valid during the call only. */
typedef int32_t (*sw_progress_fn)(const sw_progress *progress, void *user_data);

/** Metrics of one epoch. */
typedef struct sw_epoch_result {
    uint32_t struct_size;
    int32_t epoch;           /**< 1-based */
    double train_loss;
    double train_accuracy;
    double test_loss;
    double test_accuracy;
    double seconds;
    double ms_per_step;
} sw_epoch_result;

/** One optimisation step on the next training batch (a shuffled pass over the train set that
 *  restarts when used up; independent of the passes sw_engine_train_epoch makes). Builds the
 *  network on first use. loss / correct may be NULL. */
sw_status sw_engine_train_step(sw_engine *engine, double *loss, int64_t *correct);
/** One epoch; progress may be NULL; result may be NULL (else set its struct_size). */
sw_status sw_engine_train_epoch(sw_engine *engine, sw_progress_fn progress, void *user_data,
                                sw_epoch_result *result);
/** `epochs` more epochs (epochs ≤ 0: until the config's `epochs` are done), stopping early
 *  when the callback asks. */
sw_status sw_engine_train(sw_engine *engine, int32_t epochs, sw_progress_fn progress, void *user_data);
/** Trains exactly `epochs` (≥ 1; 0 is SW_ERR_INVALID_ARGUMENT) more epochs, beyond the config's
 *  `epochs` if asked. *stopped_by_callback (may be NULL) = 1 when the progress callback returned
 *  nonzero (the status is then SW_OK; the stopped epoch is evaluated and counted), else 0. A
 *  stop request (sw_engine_request_stop) returns SW_STOPPED as for sw_engine_train. The explicit
 *  form of sw_engine_train with epochs > 0. Added to ABI 1 by addition. */
sw_status sw_engine_train_epochs(sw_engine *engine, uint32_t epochs, sw_progress_fn progress, void *user_data,
                                 int32_t *stopped_by_callback);
/** Trains until the config's `epochs` are done (nothing when they are; an epoch a stop left
 *  open is finished first); otherwise as sw_engine_train_epochs. The explicit form of
 *  sw_engine_train with epochs ≤ 0. Added to ABI 1 by addition. */
sw_status sw_engine_train_to_end(sw_engine *engine, sw_progress_fn progress, void *user_data,
                                 int32_t *stopped_by_callback);
/** Epochs and steps done so far. Either pointer may be NULL. */
sw_status sw_engine_progress(const sw_engine *engine, int64_t *epochs_done, int64_t *steps_done);
/** Asks training to stop after the step in progress (preemption): a running
 *  sw_engine_train / sw_engine_train_epoch returns SW_STOPPED then, leaving the epoch open, and a
 *  checkpoint saved now resumes bit-identically. Any thread, also while another thread is inside
 *  a training call (the only call that may overlap one); a request made between calls stops the
 *  next epoch after its first step. SW_ERR_STATE before the network is built. Added to ABI 1 by
 *  addition. */
sw_status sw_engine_request_stop(sw_engine *engine);

/* ------------------------------------------------------------------------- evaluation -- */

/** Loss and accuracy on the test set in evaluation mode. Either pointer may be NULL. */
sw_status sw_engine_evaluate(sw_engine *engine, double *loss, double *accuracy);
/** Logits for n inputs: x holds x_count = n·C·H·W floats (NCHW), logits must hold
 *  logits_count = n·classes floats. Evaluation mode. */
sw_status sw_engine_predict(sw_engine *engine, const float *x, uint64_t n, uint64_t x_count,
                            float *logits, uint64_t logits_count);

/* ---------------------------------------------------------------------------- tensors -- */

/** Parameter names separated by '\n', NUL-terminated; two-call pattern (*needed counts the
 *  NUL). Needs the network (data loaded). */
sw_status sw_engine_parameter_names(sw_engine *engine, char *buf, uint64_t capacity, uint64_t *needed);
/** Shape of a tensor: rank in *rank; dims written if shape has room for `capacity` dims. */
sw_status sw_engine_tensor_shape(sw_engine *engine, const char *name, sw_tensor_kind kind,
                                 int64_t *shape, uint32_t capacity, uint32_t *rank);
/** Copies a tensor out; two-call pattern on the element count. */
sw_status sw_engine_get_tensor(sw_engine *engine, const char *name, sw_tensor_kind kind,
                               float *out, uint64_t capacity, uint64_t *needed);
/** Overwrites a tensor (copy); count must equal its element count. Masks must be 0/1 (or in
 *  [0,1] for sampling policies); the policy may rewrite them on the next step. GRAD is read
 *  only. */
sw_status sw_engine_set_tensor(sw_engine *engine, const char *name, sw_tensor_kind kind,
                               const float *values, uint64_t count);

/** One masked layer in the density report. `name` is owned by the engine and valid until the
 *  engine is destroyed or its policy changed. */
typedef struct sw_layer_density {
    uint32_t struct_size;
    const char *name;
    uint64_t count;          /**< weights in the layer */
    uint64_t kept;           /**< nonzero mask entries now */
    double target_density;   /**< the layer's target fraction kept */
} sw_layer_density;

/** Number of masked layers (0 for the dense policy). */
sw_status sw_engine_layer_count(sw_engine *engine, uint32_t *count);
/** Density of masked layer `index`; set out->struct_size first. */
sw_status sw_engine_layer_density(sw_engine *engine, uint32_t index, sw_layer_density *out);
/** Parameters in total and in use (masked-out weights not counted). Either may be NULL. */
sw_status sw_engine_parameter_counts(sw_engine *engine, uint64_t *total, uint64_t *kept);

/* --------------------------------------------------------------------------- policies -- */

/** Registered policy names (built in, plugins, callbacks) separated by '\n'; two-call. */
sw_status sw_policy_names(char *buf, uint64_t capacity, uint64_t *needed);
/** Switches the engine's policy (options: YAML/JSON mapping or NULL). Before training this
 *  only changes the config; after, the masks are rebuilt on the trained weights and the
 *  optimizer state is reset — call it between epochs. density < 0 keeps the current one. */
sw_status sw_engine_set_policy(sw_engine *engine, const char *name, const char *options, double density);
/** As sw_engine_set_policy, with the density explicit: `density` NULL keeps the current one,
 *  otherwise *density must be in (0, 1]. Added to ABI 1 by addition. */
sw_status sw_engine_set_policy_v2(sw_engine *engine, const char *name, const char *options, const double *density);
/** The engine's current policy name (static until the next set_policy on this engine), or NULL
 *  for a bad handle (sw_last_error says why). Prefer sw_engine_policy_name. */
const char *sw_engine_policy(const sw_engine *engine);
/** The engine's current policy name, copied into buf; two-call pattern (*needed counts the
 *  NUL). Read-only. Added to ABI 1 by addition. */
sw_status sw_engine_policy_name(sw_engine *engine, char *buf, uint64_t capacity, uint64_t *needed);
/** Loads a plugin (dlopen RTLD_NOW|RTLD_LOCAL, never unloaded) and registers its policies,
 *  all or none. Loading the same file again is a no-op. *added (may be NULL) = policies
 *  registered by this call. Any thread; registration is process-wide. */
sw_status sw_load_plugin(const char *path, uint32_t *added);
/** Registers a policy defined by host callbacks (see sparsewire_plugin.h). The struct and
 *  strings are copied; the callbacks and user_data must stay valid until the policy is
 *  unregistered and its last instance destroyed (then destroy_user_data, if set, is called),
 *  or for the process life. */
sw_status sw_register_policy(const sw_policy_def *def);
/** Removes a policy registered with sw_register_policy: new engines and policies cannot use
 *  it; instances already running keep it until they are destroyed or switch policy, then
 *  destroy_user_data(user_data) runs once. SW_ERR_CONFIG for an unknown name, SW_ERR_PLUGIN
 *  for a built-in or plugin policy (those stay). Any thread. Added to ABI 1 by addition. */
sw_status sw_unregister_policy(const char *name);

/* ---------------------------------------------------------------- mask-only use -- */

/** Host-owned buffers of one layer for a stand-alone policy. */
typedef struct sw_layer_buffers {
    uint32_t struct_size;
    float *weights;          /**< `count` weights (required): read before each call and written
                                  back after it (edge-popup initialises them, RigL zeroes
                                  regrown ones) */
    float *scores;           /**< in/out for policies with scores: written by the first
                                  before_forward (initialisation), read by every later call;
                                  may be NULL otherwise */
    const float *grad;       /**< dL/dŵ (after_backward); may be NULL */
    float *mask;             /**< out: `count` floats (required) */
} sw_layer_buffers;

/** A stand-alone policy: masks for host-owned buffers, no engine, no network. `config` may
 *  set density, seed, policy_options, masking.scope and masking.distribution. */
sw_status sw_policy_create(const char *name, const char *config, sw_policy **out);
void sw_policy_destroy(sw_policy *policy);
/** Declares the next masked layer (in order) before the first step. */
sw_status sw_policy_add_layer(sw_policy *policy, const char *name, const int64_t *shape, uint32_t rank);
/** The policy's gradient routing (SW_ROUTE_*) and flags (SW_POLICY_*); either may be NULL. */
sw_status sw_policy_info(const sw_policy *policy, uint32_t *routing, uint32_t *flags);
/** Before the forward pass of step `step` (0-based) of `total_steps`: reads weights (and
 *  scores), runs the policy, writes every mask (and, the first time, the initial scores).
 *  `layers` has one entry per declared layer. */
sw_status sw_policy_before_forward(sw_policy *policy, int64_t step, int64_t total_steps,
                                   const sw_layer_buffers *layers, uint32_t n);
/** After backward: reads weights and grads, lets the policy update its topology, writes the
 *  masks. *skip_update (may be NULL) = 1 if the optimizer must skip this step. */
sw_status sw_policy_after_backward(sw_policy *policy, int64_t step, int64_t total_steps,
                                   const sw_layer_buffers *layers, uint32_t n, int32_t *skip_update);
/** After the host's optimizer update of step `step`; reads weights, writes masks. */
sw_status sw_policy_after_step(sw_policy *policy, int64_t step, int64_t total_steps,
                               const sw_layer_buffers *layers, uint32_t n);
/** Before evaluation: the masks evaluation uses (e.g. the supermask's expected mask). */
sw_status sw_policy_evaluation_masks(sw_policy *policy, const sw_layer_buffers *layers, uint32_t n);
/** Whether the policy wants grad at after_backward of this step (1/0 in *needed). */
sw_status sw_policy_needs_gradient(sw_policy *policy, int64_t step, int64_t total_steps, int32_t *needed);

/* The same four calls taking an array of POINTERS to layer buffers: a host compiled against a
 * later header, whose sw_layer_buffers is larger, passes its own structs (each struct_size is
 * checked to cover the fields read). Prefer these. Added to ABI 1 by addition. */
sw_status sw_policy_before_forward_v2(sw_policy *policy, int64_t step, int64_t total_steps,
                                      const sw_layer_buffers *const *layers, uint32_t n);
sw_status sw_policy_after_backward_v2(sw_policy *policy, int64_t step, int64_t total_steps,
                                      const sw_layer_buffers *const *layers, uint32_t n, int32_t *skip_update);
sw_status sw_policy_after_step_v2(sw_policy *policy, int64_t step, int64_t total_steps,
                                  const sw_layer_buffers *const *layers, uint32_t n);
sw_status sw_policy_evaluation_masks_v2(sw_policy *policy, const sw_layer_buffers *const *layers, uint32_t n);
/** The weights of declared layer `layer` whose optimizer state (momentum, Adam moments) the
 *  policy asked to reset during the last step call — regrown weights (rigl, snfs,
 *  momentum-regrow). The host owns the optimizer in mask-only use and must reset them. Flat
 *  indices, ascending, no repeats; two-call pattern on the count. Added to ABI 1 by addition. */
sw_status sw_policy_optimizer_resets(sw_policy *policy, uint32_t layer, uint64_t *indices, uint64_t capacity,
                                     uint64_t *needed);
/** Bits of sw_policy_active_hooks. */
#define SW_HOOK_UPDATE_MASKS 1u   /* sw_policy_before_forward does work at this step */
#define SW_HOOK_AFTER_BACKWARD 2u /* sw_policy_after_backward does work */
#define SW_HOOK_AFTER_STEP 4u     /* sw_policy_after_step does work */
#define SW_HOOK_DENSE_GRADIENT 8u /* after_backward wants dL/dŵ (as sw_policy_needs_gradient) */
/** Which step calls do work at `step` of `total_steps` (SW_HOOK_* bits), so that a host may skip
 *  the others and save their copies of every weight and mask: e.g. rigl only has after_backward,
 *  only on its update steps; dnw only before_forward. Always call before_forward for the first
 *  step after sw_policy_create or sw_policy_load_state (it starts the policy or hands the
 *  restored masks out), and evaluation_masks before evaluating. Claims are conservative (a
 *  policy that does not say reports every hook). Added to ABI 1 by addition. */
sw_status sw_policy_active_hooks(sw_policy *policy, int64_t step, int64_t total_steps, uint32_t *hooks);
/** The policy's state — masks, per-layer policy state, the policy's own state bytes, its RNG
 *  and whether it has started; not the host's weights or scores — as safetensors bytes, for a
 *  host's own checkpoint. Two-call pattern: `buffer` NULL sets `*needed`; a smaller `capacity`
 *  is SW_ERR_BUFFER_TOO_SMALL. Added to ABI 1 by addition. */
sw_status sw_policy_save_state(sw_policy *policy, uint8_t *buffer, uint64_t capacity, uint64_t *needed);
/** Restores state from sw_policy_save_state into a policy of the same name with the same layers
 *  declared (same names, shapes, order), before its first step call; the next step call then
 *  continues exactly. SW_ERR_DATA for bytes that are not such a state, SW_ERR_STATE for another
 *  policy, other layers or a policy that has started, SW_ERR_SHAPE for a misshapen tensor.
 *  Added to ABI 1 by addition. */
sw_status sw_policy_load_state(sw_policy *policy, const uint8_t *buffer, uint64_t size);

/* ------------------------------------------------------------------------- checkpoints -- */

/** Saves parameters, masks, scores, optimizer state, step counters and the config as a
 *  safetensors file (written to a temporary name, then renamed). */
sw_status sw_engine_save(sw_engine *engine, const char *path);
/** Writes the network as ONNX (opset 17) in evaluation mode: the policy's evaluation masks
 *  baked in (pruned weights are exact zeros), batch norms as BatchNormalization, input `input`
 *  [N, C, H, W], output `logits` [N, classes], N dynamic (docs/ONNX.md). `*zeros` / `*count`
 *  (either may be NULL): zero entries and all entries of the exported weights.
 *  Every built model exports (MLP, Conv2-8, RandWire, DNW graphs unrolled); SW_ERR_UNSUPPORTED
 *  names a module with no ONNX form or a policy that evaluates by averaging mask draws. Added
 *  to ABI 1 by addition. */
sw_status sw_engine_export_onnx(sw_engine *engine, const char *path, uint64_t *zeros, uint64_t *count);
/** Loads a checkpoint written by sw_engine_save into an engine whose network has the same
 *  tensors (same model config, data loaded). Every name and shape is checked before anything
 *  is changed. */
sw_status sw_engine_load(sw_engine *engine, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* SPARSEWIRE_H */
