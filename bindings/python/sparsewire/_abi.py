"""ctypes mirrors of the structs and constants of Include/sparsewire.h and
Include/sparsewire_plugin.h (C ABI 1, plugin ABI 1.1). tests/test_abi_layout.py checks every
size and offset against the C compiler."""
import ctypes as C

ABI_VERSION = 1
PLUGIN_ABI_VERSION = 1
PLUGIN_ABI_MINOR = 1

# status codes
OK = 0
STATUS_NAMES = {
    0: "SW_OK", 1: "SW_ERR_INVALID_ARGUMENT", 2: "SW_ERR_CONFIG", 3: "SW_ERR_SHAPE", 4: "SW_ERR_DATA",
    5: "SW_ERR_IO", 6: "SW_ERR_NUMERIC", 7: "SW_ERR_STATE", 8: "SW_ERR_UNSUPPORTED", 9: "SW_ERR_NOT_FOUND",
    10: "SW_ERR_BUFFER_TOO_SMALL", 11: "SW_ERR_PLUGIN", 12: "SW_ERR_INTERNAL", 13: "SW_STOPPED",
}
ERR_BUFFER_TOO_SMALL = 10

# tensor kinds
TENSOR_KINDS = {"value": 0, "mask": 1, "scores": 2, "grad": 3}

# routing and flags
ROUTES = {"none": 0, "straight_through": 1, "masked_weights": 2, "scores": 3, "abs_scores": 4, "sigmoid_scores": 5}
ROUTE_NAMES = {v: k for k, v in ROUTES.items()}
FROZEN_WEIGHTS, USES_SCORES, PREFERS_ERK = 1, 2, 4
FIXED_DENSITY, LEARNED_DENSITY, SOFT_MASKS, HONOURS_STRUCTURE = 8, 16, 32, 64
INERT_DEAD_WEIGHTS = 128  # plugin ABI 1.2
HOOK_UPDATE_MASKS, HOOK_AFTER_BACKWARD, HOOK_AFTER_STEP, HOOK_DENSE_GRADIENT = 1, 2, 4, 8
OPTION_NUMBER, OPTION_INTEGER, OPTION_ANY = 0, 1, 2
LOG_DEBUG, LOG_INFO, LOG_WARNING = 0, 1, 2
PLUGIN_OK, PLUGIN_FAILED = 0, 1


class StepInfo(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("training", C.c_int32), ("step", C.c_int64), ("epoch", C.c_int64),
                ("steps_per_epoch", C.c_int64), ("total_steps", C.c_int64)]


class Layer(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("index", C.c_uint32), ("name", C.c_char_p),
                ("shape", C.POINTER(C.c_int64)), ("rank", C.c_uint32), ("count", C.c_uint64),
                ("keep_count", C.c_uint64), ("density", C.c_double), ("weights", C.POINTER(C.c_float)),
                ("scores", C.POINTER(C.c_float)), ("grad", C.POINTER(C.c_float)), ("mask", C.POINTER(C.c_float)),
                ("writable_weights", C.POINTER(C.c_float))]


LayerArray = C.POINTER(C.POINTER(Layer))


class Host(C.Structure):
    pass


Host._fields_ = [
    ("struct_size", C.c_uint32), ("abi_version", C.c_uint32), ("context", C.c_void_p),
    ("log", C.CFUNCTYPE(None, C.c_void_p, C.c_int32, C.c_char_p)),
    ("set_error", C.CFUNCTYPE(None, C.c_void_p, C.c_char_p)),
    ("random_u64", C.CFUNCTYPE(C.c_uint64, C.c_void_p)),
    ("random_uniform", C.CFUNCTYPE(C.c_float, C.c_void_p)),
    ("random_normal", C.CFUNCTYPE(C.c_float, C.c_void_p)),
    ("topk_mask", C.CFUNCTYPE(None, C.POINTER(C.c_float), C.c_uint64, C.c_uint64, C.POINTER(C.c_float))),
    ("select_topk", C.CFUNCTYPE(C.c_int32, C.c_void_p, LayerArray, C.c_uint32, C.POINTER(C.POINTER(C.c_float)))),
    ("option_double", C.CFUNCTYPE(C.c_int32, C.c_void_p, C.c_char_p, C.POINTER(C.c_double))),
    ("option_int", C.CFUNCTYPE(C.c_int32, C.c_void_p, C.c_char_p, C.POINTER(C.c_int64))),
    ("abi_minor", C.c_uint32),
    ("reset_optimizer_state", C.CFUNCTYPE(C.c_int32, C.c_void_p, C.c_uint32, C.POINTER(C.c_uint64), C.c_uint64)),
]


class Option(C.Structure):
    _fields_ = [("name", C.c_char_p), ("help", C.c_char_p)]


class OptionInfo(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("type", C.c_uint32), ("name", C.c_char_p), ("help", C.c_char_p)]


CREATE = C.CFUNCTYPE(C.c_int32, C.c_void_p, C.POINTER(Host), C.c_char_p, C.c_double, C.POINTER(C.c_void_p))
DESTROY = C.CFUNCTYPE(None, C.c_void_p)
PREPARE = C.CFUNCTYPE(C.c_int32, C.c_void_p, LayerArray, C.c_uint32)
NEEDS_GRADIENT = C.CFUNCTYPE(C.c_int32, C.c_void_p, C.POINTER(StepInfo))
UPDATE_MASKS = C.CFUNCTYPE(C.c_int32, C.c_void_p, LayerArray, C.c_uint32, C.POINTER(StepInfo))
AFTER_BACKWARD = C.CFUNCTYPE(C.c_int32, C.c_void_p, LayerArray, C.c_uint32, C.POINTER(StepInfo), C.POINTER(C.c_int32))
AFTER_STEP = UPDATE_MASKS
EVALUATION_MASKS = PREPARE
SAVE_STATE = C.CFUNCTYPE(C.c_int32, C.c_void_p, C.POINTER(C.c_uint8), C.c_uint64, C.POINTER(C.c_uint64))
LOAD_STATE = C.CFUNCTYPE(C.c_int32, C.c_void_p, C.POINTER(C.c_uint8), C.c_uint64)
DESTROY_USER_DATA = C.CFUNCTYPE(None, C.c_void_p)


class PolicyDef(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("name", C.c_char_p), ("summary", C.c_char_p), ("routing", C.c_uint32),
                ("flags", C.c_uint32), ("options", C.POINTER(Option)), ("option_count", C.c_uint32),
                ("user_data", C.c_void_p), ("create", CREATE), ("destroy", DESTROY), ("prepare", PREPARE),
                ("needs_gradient", NEEDS_GRADIENT), ("update_masks", UPDATE_MASKS), ("after_backward", AFTER_BACKWARD),
                ("after_step", AFTER_STEP), ("evaluation_masks", EVALUATION_MASKS),
                ("save_state", SAVE_STATE), ("load_state", LOAD_STATE), ("destroy_user_data", DESTROY_USER_DATA),
                ("option_infos", C.POINTER(C.POINTER(OptionInfo))), ("option_info_count", C.c_uint32)]


class Progress(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("epoch_end", C.c_int32), ("epoch", C.c_int32), ("step", C.c_int64),
                ("steps_in_epoch", C.c_int64), ("loss", C.c_double), ("accuracy", C.c_double), ("lr", C.c_double),
                ("test_loss", C.c_double), ("test_accuracy", C.c_double)]


PROGRESS_FN = C.CFUNCTYPE(C.c_int32, C.POINTER(Progress), C.c_void_p)
LOG_FN = C.CFUNCTYPE(None, C.c_int32, C.c_char_p, C.c_char_p, C.c_void_p)


class EpochResult(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("epoch", C.c_int32), ("train_loss", C.c_double),
                ("train_accuracy", C.c_double), ("test_loss", C.c_double), ("test_accuracy", C.c_double),
                ("seconds", C.c_double), ("ms_per_step", C.c_double)]


class LayerDensity(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("name", C.c_char_p), ("count", C.c_uint64), ("kept", C.c_uint64),
                ("target_density", C.c_double)]


class LayerBuffers(C.Structure):
    _fields_ = [("struct_size", C.c_uint32), ("weights", C.POINTER(C.c_float)), ("scores", C.POINTER(C.c_float)),
                ("grad", C.POINTER(C.c_float)), ("mask", C.POINTER(C.c_float))]


def sized(struct_type):
    """An instance with struct_size set."""
    s = struct_type()
    s.struct_size = C.sizeof(struct_type)
    return s


vp, u32, u64, i32, i64, f64 = C.c_void_p, C.c_uint32, C.c_uint64, C.c_int32, C.c_int64, C.c_double
cstr, fptr = C.c_char_p, C.POINTER(C.c_float)
P = C.POINTER

# (name, restype, argtypes) of every function of Include/sparsewire.h
FUNCTIONS = [
    ("sw_abi_version", u32, []),
    ("sw_version_string", cstr, []),
    ("sw_last_error", cstr, []),
    ("sw_status_name", cstr, [i32]),
    ("sw_blas_core", cstr, []),
    ("sw_cpu_features", u32, []),
    ("sw_recommended_blas_core", cstr, []),
    ("sw_engine_create", i32, [cstr, P(vp)]),
    ("sw_engine_destroy", None, [vp]),
    ("sw_engine_set", i32, [vp, cstr, cstr]),
    ("sw_engine_load_dataset", i32, [vp, cstr, cstr]),
    ("sw_engine_set_data", i32, [vp, fptr, P(i32), u64, fptr, P(i32), u64, u32, u32, u32, u32]),
    ("sw_engine_train_step", i32, [vp, P(f64), P(i64)]),
    ("sw_engine_train_epoch", i32, [vp, PROGRESS_FN, vp, P(EpochResult)]),
    ("sw_engine_train", i32, [vp, i32, PROGRESS_FN, vp]),
    ("sw_engine_progress", i32, [vp, P(i64), P(i64)]),
    ("sw_engine_request_stop", i32, [vp]),
    ("sw_engine_evaluate", i32, [vp, P(f64), P(f64)]),
    ("sw_engine_predict", i32, [vp, fptr, u64, u64, fptr, u64]),
    ("sw_engine_parameter_names", i32, [vp, C.c_char_p, u64, P(u64)]),
    ("sw_engine_tensor_shape", i32, [vp, cstr, i32, P(i64), u32, P(u32)]),
    ("sw_engine_get_tensor", i32, [vp, cstr, i32, fptr, u64, P(u64)]),
    ("sw_engine_set_tensor", i32, [vp, cstr, i32, fptr, u64]),
    ("sw_engine_layer_count", i32, [vp, P(u32)]),
    ("sw_engine_layer_density", i32, [vp, u32, P(LayerDensity)]),
    ("sw_engine_parameter_counts", i32, [vp, P(u64), P(u64)]),
    ("sw_policy_names", i32, [C.c_char_p, u64, P(u64)]),
    ("sw_engine_set_policy", i32, [vp, cstr, cstr, f64]),
    ("sw_engine_policy", cstr, [vp]),
    ("sw_load_plugin", i32, [cstr, P(u32)]),
    ("sw_register_policy", i32, [P(PolicyDef)]),
    ("sw_policy_create", i32, [cstr, cstr, P(vp)]),
    ("sw_policy_destroy", None, [vp]),
    ("sw_policy_add_layer", i32, [vp, cstr, P(i64), u32]),
    ("sw_policy_info", i32, [vp, P(u32), P(u32)]),
    ("sw_policy_before_forward", i32, [vp, i64, i64, P(LayerBuffers), u32]),
    ("sw_policy_after_backward", i32, [vp, i64, i64, P(LayerBuffers), u32, P(i32)]),
    ("sw_policy_after_step", i32, [vp, i64, i64, P(LayerBuffers), u32]),
    ("sw_policy_evaluation_masks", i32, [vp, P(LayerBuffers), u32]),
    ("sw_policy_needs_gradient", i32, [vp, i64, i64, P(i32)]),
    ("sw_engine_save", i32, [vp, cstr]),
    ("sw_engine_load", i32, [vp, cstr]),
    # additions to ABI 1 (issue 17)
    ("sw_clear_last_error", None, []),
    ("sw_set_log_callback", i32, [LOG_FN, vp, i32]),
    ("sw_engine_build", i32, [vp]),
    ("sw_engine_is_built", i32, [vp, P(i32)]),
    ("sw_engine_input_shape", i32, [vp, P(u32), P(u32), P(u32), P(u32)]),
    ("sw_engine_train_epochs", i32, [vp, u32, PROGRESS_FN, vp, P(i32)]),
    ("sw_engine_train_to_end", i32, [vp, PROGRESS_FN, vp, P(i32)]),
    ("sw_engine_set_policy_v2", i32, [vp, cstr, cstr, P(f64)]),
    ("sw_engine_policy_name", i32, [vp, C.c_char_p, u64, P(u64)]),
    ("sw_unregister_policy", i32, [cstr]),
    ("sw_policy_before_forward_v2", i32, [vp, i64, i64, P(P(LayerBuffers)), u32]),
    ("sw_policy_after_backward_v2", i32, [vp, i64, i64, P(P(LayerBuffers)), u32, P(i32)]),
    ("sw_policy_after_step_v2", i32, [vp, i64, i64, P(P(LayerBuffers)), u32]),
    ("sw_policy_evaluation_masks_v2", i32, [vp, P(P(LayerBuffers)), u32]),
    ("sw_policy_optimizer_resets", i32, [vp, u32, P(u64), u64, P(u64)]),
    ("sw_policy_active_hooks", i32, [vp, i64, i64, P(u32)]),
    ("sw_engine_export_onnx", i32, [vp, cstr, P(u64), P(u64)]),
    ("sw_policy_save_state", i32, [vp, vp, u64, P(u64)]),
    ("sw_policy_load_state", i32, [vp, vp, u64]),
]
