// sparsewire.hpp — header-only C++17 RAII wrapper of the SparseWire C ABI (Include/sparsewire.h).
//
//   sparsewire::Engine e("model: {name: mlp}\npolicy: rigl\ndensity: 0.1\n");
//   e.load_dataset("fashion-mnist");
//   e.train(1, [](const sw_progress &p) { return true; });   // false stops
//   auto masks = e.mask("fc1.weight");                         // std::vector<float>
//
// Every failing call throws sparsewire::Error carrying the status and sw_last_error().
// Handles are move-only and released by the destructor. Link with -lsparsewire.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#if __cplusplus >= 202002L
#include <span>
#endif

#include "sparsewire.h"

namespace sparsewire {

/// A failed call: `status()` is the sw_status, `what()` the library's message.
class Error : public std::runtime_error {
  public:
    Error(sw_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    sw_status status() const noexcept { return status_; }
    const char *status_name() const noexcept { return sw_status_name(status_); }

  private:
    sw_status status_;
};

/// Throws Error unless `s` is SW_OK.
inline void check(sw_status s) {
    if (s != SW_OK) throw Error(s, sw_last_error());
}

inline std::vector<std::string> split_lines(const std::string &text) {
    std::vector<std::string> out;
    std::string::size_type start = 0;
    while (start <= text.size() && !text.empty()) {
        auto end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        out.push_back(text.substr(start, end - start));
        start = end + 1;
    }
    return out;
}

/// The two-call pattern for a string result.
template <class F> std::string two_call_string(F &&fill) {
    uint64_t needed = 0;
    check(fill(nullptr, 0, &needed));
    std::string buf(needed, '\0');
    check(fill(buf.data(), needed, &needed));
    buf.resize(needed ? needed - 1 : 0);
    return buf;
}

inline std::string version() { return sw_version_string(); }
inline uint32_t abi_version() { return sw_abi_version(); }

/// Removes a policy registered from host callbacks (running instances keep it).
inline void unregister_policy(const std::string &name) { check(sw_unregister_policy(name.c_str())); }

/// Sends engine and plugin log lines at or above `min_level` (SW_LOG_*) to `fn`; nullptr: stderr.
inline void set_log_callback(sw_log_fn fn, void *user_data = nullptr, int32_t min_level = SW_LOG_WARNING) {
    check(sw_set_log_callback(fn, user_data, min_level));
}

/// Names of every registered policy (built-ins, plugins, callbacks).
inline std::vector<std::string> policies() {
    return split_lines(two_call_string([](char *b, uint64_t c, uint64_t *n) { return sw_policy_names(b, c, n); }));
}

/// Loads a plugin; returns how many policies it added (0 if it was already loaded).
inline uint32_t load_plugin(const std::string &path) {
    uint32_t added = 0;
    check(sw_load_plugin(path.c_str(), &added));
    return added;
}

struct LayerDensity {
    std::string name;
    uint64_t count, kept;
    double target_density;
};

struct EpochResult {
    int epoch;
    double train_loss, train_accuracy, test_loss, test_accuracy, seconds, ms_per_step;
};

/// A training engine. Move-only; one thread at a time.
class Engine {
  public:
    explicit Engine(const std::string &config = "") { check(sw_engine_create(config.c_str(), &h_)); }
    ~Engine() { sw_engine_destroy(h_); }
    Engine(const Engine &) = delete;
    Engine &operator=(const Engine &) = delete;
    Engine(Engine &&o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
    Engine &operator=(Engine &&o) noexcept {
        if (this != &o) { sw_engine_destroy(h_); h_ = std::exchange(o.h_, nullptr); }
        return *this;
    }
    sw_engine *handle() const noexcept { return h_; }

    void set(const std::string &key, const std::string &value) { check(sw_engine_set(h_, key.c_str(), value.c_str())); }

    /// name/path empty = the config's data.dataset / data.path.
    void load_dataset(const std::string &name = "", const std::string &path = "") {
        check(sw_engine_load_dataset(h_, name.empty() ? nullptr : name.c_str(), path.empty() ? nullptr : path.c_str()));
    }
    void set_data(const std::vector<float> &train_x, const std::vector<int32_t> &train_y, const std::vector<float> &test_x,
                  const std::vector<int32_t> &test_y, uint32_t channels, uint32_t height, uint32_t width, uint32_t classes) {
        const uint64_t per = uint64_t(channels) * height * width;
        if (per == 0 || train_x.size() != train_y.size() * per || test_x.size() != test_y.size() * per)
            throw Error(SW_ERR_SHAPE, "set_data: x sizes must be labels × channels × height × width");
        check(sw_engine_set_data(h_, train_x.data(), train_y.data(), train_y.size(), test_x.data(), test_y.data(),
                                 test_y.size(), channels, height, width, classes));
    }

    /// Called per step and per epoch end; return false to stop.
    using Progress = std::function<bool(const sw_progress &)>;

    std::pair<double, int64_t> step() {
        double loss = 0;
        int64_t correct = 0;
        check(sw_engine_train_step(h_, &loss, &correct));
        return {loss, correct};
    }

    EpochResult train_epoch(const Progress &progress = nullptr) {
        sw_epoch_result r{};
        r.struct_size = sizeof r;
        Call call{progress, nullptr};
        check(sw_engine_train_epoch(h_, progress ? &Engine::trampoline : nullptr, &call, &r));
        call.rethrow();
        return {r.epoch, r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy, r.seconds, r.ms_per_step};
    }

    /// `epochs` more epochs (≤ 0: until the config's epochs are done). Returns true when the
    /// progress callback stopped it (false after completion).
    bool train(int epochs = 0, const Progress &progress = nullptr) {
        Call call{progress, nullptr};
        int32_t stopped = 0;
        auto fn = progress ? &Engine::trampoline : nullptr;
        check(epochs > 0 ? sw_engine_train_epochs(h_, uint32_t(epochs), fn, &call, &stopped)
                         : sw_engine_train_to_end(h_, fn, &call, &stopped));
        call.rethrow();
        return stopped != 0;
    }

    /// Builds the network, policy and optimizer now (config errors surface here).
    void build() { check(sw_engine_build(h_)); }
    bool built() const {
        int32_t b = 0;
        check(sw_engine_is_built(h_, &b));
        return b != 0;
    }
    struct InputShape { uint32_t channels, height, width, classes; };
    /// The loaded data's example shape and class count.
    InputShape input_shape() const {
        InputShape s{};
        check(sw_engine_input_shape(h_, &s.channels, &s.height, &s.width, &s.classes));
        return s;
    }

    std::pair<int64_t, int64_t> progress() const {
        int64_t e = 0, s = 0;
        check(sw_engine_progress(h_, &e, &s));
        return {e, s};
    }

    /// {loss, accuracy} on the test set.
    std::pair<double, double> evaluate() {
        double loss = 0, acc = 0;
        check(sw_engine_evaluate(h_, &loss, &acc));
        return {loss, acc};
    }

    std::vector<float> predict(const std::vector<float> &x, uint64_t n, uint64_t classes) {
        std::vector<float> out(n * classes);
        check(sw_engine_predict(h_, x.data(), n, x.size(), out.data(), out.size()));
        return out;
    }

    std::vector<std::string> parameter_names() {
        return split_lines(two_call_string([this](char *b, uint64_t c, uint64_t *n) {
            return sw_engine_parameter_names(h_, b, c, n);
        }));
    }

    std::vector<int64_t> shape(const std::string &name, sw_tensor_kind kind = SW_TENSOR_VALUE) {
        uint32_t rank = 0;
        check(sw_engine_tensor_shape(h_, name.c_str(), kind, nullptr, 0, &rank));
        std::vector<int64_t> dims(rank);
        check(sw_engine_tensor_shape(h_, name.c_str(), kind, dims.data(), rank, &rank));
        return dims;
    }

    std::vector<float> get(const std::string &name, sw_tensor_kind kind = SW_TENSOR_VALUE) {
        uint64_t n = 0;
        check(sw_engine_get_tensor(h_, name.c_str(), kind, nullptr, 0, &n));
        std::vector<float> out(n);
        check(sw_engine_get_tensor(h_, name.c_str(), kind, out.data(), n, &n));
        return out;
    }

    void set(const std::string &name, const std::vector<float> &values, sw_tensor_kind kind = SW_TENSOR_VALUE) {
        check(sw_engine_set_tensor(h_, name.c_str(), kind, values.data(), values.size()));
    }
#if __cplusplus >= 202002L
    void set(const std::string &name, std::span<const float> values, sw_tensor_kind kind = SW_TENSOR_VALUE) {
        check(sw_engine_set_tensor(h_, name.c_str(), kind, values.data(), values.size()));
    }
#endif

    std::vector<float> mask(const std::string &name) { return get(name, SW_TENSOR_MASK); }

    std::vector<LayerDensity> density() {
        uint32_t n = 0;
        check(sw_engine_layer_count(h_, &n));
        std::vector<LayerDensity> out;
        for (uint32_t i = 0; i < n; i++) {
            sw_layer_density d{};
            d.struct_size = sizeof d;
            check(sw_engine_layer_density(h_, i, &d));
            out.push_back({d.name, d.count, d.kept, d.target_density});
        }
        return out;
    }

    std::pair<uint64_t, uint64_t> parameter_counts() {
        uint64_t total = 0, kept = 0;
        check(sw_engine_parameter_counts(h_, &total, &kept));
        return {total, kept};
    }

    std::string policy() const {
        return two_call_string([this](char *b, uint64_t c, uint64_t *n) { return sw_engine_policy_name(h_, b, c, n); });
    }
    /// options: YAML/JSON mapping or ""; density: std::nullopt keeps the current one.
    void set_policy(const std::string &name, const std::string &options = "", std::optional<double> density = std::nullopt) {
        check(sw_engine_set_policy_v2(h_, name.c_str(), options.empty() ? nullptr : options.c_str(),
                                      density ? &*density : nullptr));
    }
    void save(const std::string &path) { check(sw_engine_save(h_, path.c_str())); }
    void load(const std::string &path) { check(sw_engine_load(h_, path.c_str())); }
    /// Writes the network as ONNX (masks baked in, docs/ONNX.md); returns {zeros, entries} of
    /// the exported weights.
    std::pair<uint64_t, uint64_t> export_onnx(const std::string &path) {
        uint64_t zeros = 0, count = 0;
        check(sw_engine_export_onnx(h_, path.c_str(), &zeros, &count));
        return {zeros, count};
    }

  private:
    struct Call {
        const Progress &fn;
        std::exception_ptr error;
        void rethrow() { if (error) std::rethrow_exception(error); }
    };
    static int32_t trampoline(const sw_progress *p, void *user) {
        auto *call = static_cast<Call *>(user);
        try {
            return call->fn(*p) ? 0 : 1;
        } catch (...) {  // never unwind through C
            call->error = std::current_exception();
            return 1;
        }
    }
    sw_engine *h_ = nullptr;
};

/// A stand-alone policy over host-owned buffers (mask-only use).
class Policy {
  public:
    Policy(const std::string &name, const std::string &config = "") { check(sw_policy_create(name.c_str(), config.c_str(), &h_)); }
    ~Policy() { sw_policy_destroy(h_); }
    Policy(const Policy &) = delete;
    Policy &operator=(const Policy &) = delete;
    Policy(Policy &&o) noexcept : h_(std::exchange(o.h_, nullptr)), counts_(std::move(o.counts_)) {}

    void add_layer(const std::string &name, const std::vector<int64_t> &shape) {
        check(sw_policy_add_layer(h_, name.c_str(), shape.data(), uint32_t(shape.size())));
        uint64_t n = 1;
        for (auto d : shape) n *= uint64_t(d);
        counts_.push_back(n);
    }
    /// weights[i] is read and written back; masks[i] is written. Sizes are checked here.
    void before_forward(int64_t step, int64_t total, std::vector<std::vector<float>> &weights,
                        std::vector<std::vector<float>> &masks) {
        auto b = buffers(weights, masks);
        auto p = pointers(b);
        check(sw_policy_before_forward_v2(h_, step, total, p.data(), uint32_t(p.size())));
    }
    /// Which step calls do work at `step` (SW_HOOK_* bits); a host may skip the others.
    uint32_t active_hooks(int64_t step, int64_t total) const {
        uint32_t h = 0;
        check(sw_policy_active_hooks(h_, step, total, &h));
        return h;
    }
    /// The policy's state (masks, its own state, RNG) as bytes for the host's checkpoint.
    std::vector<uint8_t> save_state() const {
        uint64_t n = 0;
        check(sw_policy_save_state(h_, nullptr, 0, &n));
        std::vector<uint8_t> out(n);
        check(sw_policy_save_state(h_, out.data(), n, &n));
        return out;
    }
    /// Restores `save_state()` bytes (same policy and layers, before the first step call).
    void load_state(const std::vector<uint8_t> &bytes) { check(sw_policy_load_state(h_, bytes.data(), bytes.size())); }
    /// Flat indices of layer `layer` whose optimizer state the last call asked to reset
    /// (regrown weights of rigl, snfs, momentum-regrow): reset them in your optimizer.
    std::vector<uint64_t> optimizer_resets(uint32_t layer) const {
        uint64_t n = 0;
        check(sw_policy_optimizer_resets(h_, layer, nullptr, 0, &n));
        std::vector<uint64_t> out(n);
        if (n) check(sw_policy_optimizer_resets(h_, layer, out.data(), n, &n));
        return out;
    }
    bool after_backward(int64_t step, int64_t total, std::vector<std::vector<float>> &weights,
                        const std::vector<std::vector<float>> &grads, std::vector<std::vector<float>> &masks) {
        auto b = buffers(weights, masks);
        if (grads.size() != b.size()) throw Error(SW_ERR_SHAPE, "after_backward: one gradient per layer");
        for (size_t i = 0; i < b.size(); i++) {
            if (grads[i].size() != counts_[i]) throw Error(SW_ERR_SHAPE, "after_backward: gradient size mismatch");
            b[i].grad = grads[i].data();
        }
        int32_t skip = 0;
        auto p = pointers(b);
        check(sw_policy_after_backward_v2(h_, step, total, p.data(), uint32_t(p.size()), &skip));
        return skip != 0;
    }
    bool needs_gradient(int64_t step, int64_t total) {
        int32_t need = 0;
        check(sw_policy_needs_gradient(h_, step, total, &need));
        return need != 0;
    }

  private:
    static std::vector<const sw_layer_buffers *> pointers(const std::vector<sw_layer_buffers> &b) {
        std::vector<const sw_layer_buffers *> p(b.size());
        for (size_t i = 0; i < b.size(); i++) p[i] = &b[i];
        return p;
    }
    std::vector<sw_layer_buffers> buffers(std::vector<std::vector<float>> &weights, std::vector<std::vector<float>> &masks) {
        if (weights.size() != counts_.size()) throw Error(SW_ERR_SHAPE, "one weight buffer per declared layer");
        masks.resize(counts_.size());
        std::vector<sw_layer_buffers> b(counts_.size());
        for (size_t i = 0; i < counts_.size(); i++) {
            if (weights[i].size() != counts_[i]) throw Error(SW_ERR_SHAPE, "weight buffer size mismatch");
            masks[i].resize(counts_[i]);
            b[i] = sw_layer_buffers{};
            b[i].struct_size = sizeof(sw_layer_buffers);
            b[i].weights = weights[i].data();
            b[i].mask = masks[i].data();
        }
        return b;
    }
    sw_policy *h_ = nullptr;
    std::vector<uint64_t> counts_;
};

}  // namespace sparsewire
