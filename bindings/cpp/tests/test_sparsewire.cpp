// The C++ wrapper: RAII, exceptions with the library's message, tensors as vectors, callbacks
// that throw, plugins, mask-only policies. Built and run by tests_cli/test_cpp.py.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "sparsewire.hpp"

static int checks = 0;
#define EXPECT(cond)                                                                   \
    do {                                                                               \
        ++checks;                                                                      \
        if (!(cond)) { std::fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); std::exit(1); } \
    } while (0)

template <class F> static std::string throws(F &&f, sw_status expected) {
    try {
        f();
    } catch (const sparsewire::Error &e) {
        EXPECT(e.status() == expected);
        std::printf("ok   throws %s: %s\n", e.status_name(), e.what());
        return e.what();
    }
    EXPECT(!"expected sparsewire::Error");
    return "";
}

int main(int argc, char **argv) {
    EXPECT(argc == 2);  // path of libsw_gmp.so
    EXPECT(sparsewire::abi_version() == SW_ABI_VERSION);
    const std::string cfg = "model: {name: mlp, hidden: [64]}\ndata: {train_limit: 4000, test_limit: 1000}\n"
                            "optimizer: {lr: 0.05}\nepochs: 1\n";
    {
        sparsewire::Engine e(cfg + "policy: dnw\ndensity: 0.2\n");
        e.load_dataset();
        int steps = 0;
        auto r = e.train_epoch([&](const sw_progress &p) { if (!p.epoch_end) ++steps; return true; });
        EXPECT(r.epoch == 1 && steps == 32 && r.test_accuracy > 0.5);
        auto names = e.parameter_names();
        EXPECT(names.size() == 4 && names[0] == "fc1.weight");
        auto m = e.mask("fc1.weight");
        size_t kept = 0;
        for (float v : m) kept += v != 0;
        EXPECT(m.size() == 64 * 784 && kept == size_t(std::lround(0.2 * 64 * 784)));
        auto dens = e.density();
        EXPECT(dens.size() == 2 && dens[0].kept == kept);
        EXPECT(e.shape("fc1.weight") == (std::vector<int64_t>{64, 784}));
        auto logits = e.predict(std::vector<float>(2 * 784, 0.f), 2, 10);
        EXPECT(logits.size() == 20 && logits[3] == logits[13]);
        std::printf("ok   dnw: accuracy %.4f, fc1 kept %zu\n", r.test_accuracy, kept);

        // a callback that throws: training stops, the exception comes back out of train()
        bool caught = false;
        try {
            e.train(1, [](const sw_progress &p) -> bool {
                if (p.step == 3) throw std::runtime_error("stop from C++");
                return true;
            });
        } catch (const std::runtime_error &ex) {
            caught = std::string(ex.what()) == "stop from C++";
        }
        EXPECT(caught);
        EXPECT(e.progress().second == 35);

        throws([&] { e.get("nope.weight"); }, SW_ERR_NOT_FOUND);
        throws([&] { e.set("fc1.weight", std::vector<float>(3, 0.f)); }, SW_ERR_SHAPE);
        throws([&] { e.set_policy("no-such"); }, SW_ERR_CONFIG);
        throws([&] { e.predict(std::vector<float>(783, 0.f), 1, 10); }, SW_ERR_SHAPE);
        sparsewire::Engine moved = std::move(e);
        EXPECT(moved.policy() == "dnw" && e.handle() == nullptr);
    }
    auto msg = throws([] { sparsewire::Engine bad("optimizer: {learning_rate: 1}"); }, SW_ERR_CONFIG);
    EXPECT(msg.find("optimizer.lr") != std::string::npos);
    throws([] { sparsewire::load_plugin("/no/such.so"); }, SW_ERR_IO);

    // a plugin policy
    EXPECT(sparsewire::load_plugin(argv[1]) <= 1);
    bool listed = false;
    for (auto &p : sparsewire::policies()) listed |= p == "gmp";
    EXPECT(listed);
    {
        sparsewire::Engine e(cfg + "policy: gmp\ndensity: 0.1\npolicy_options: {frequency: 5}\n");
        e.load_dataset();
        EXPECT(!e.built());
        auto shape = e.input_shape();
        EXPECT(shape.channels == 1 && shape.height == 28 && shape.width == 28 && shape.classes == 10);
        e.build();
        EXPECT(e.built() && e.policy() == "gmp");
        EXPECT(!e.train(0));  // ran to the end: not stopped by a callback
        for (auto &d : e.density()) EXPECT(d.kept == uint64_t(std::llround(0.1 * double(d.count))));
        const std::string onnx_path = "/tmp/sparsewire_cpp_test_" + std::to_string(getpid()) + ".onnx";
        auto onnx = e.export_onnx(onnx_path);  // masked weights are the file's zeros
        uint64_t masked = 0;
        for (auto &d : e.density()) masked += d.count - d.kept;
        EXPECT(onnx.first >= masked && masked > 0 && onnx.second > onnx.first);
        std::remove(onnx_path.c_str());
        std::printf("ok   gmp plugin trains to exact density; export_onnx holds its zeros\n");
    }
    {
        // the callback's stop is reported; set_policy keeps the density without a magic value
        sparsewire::Engine e(cfg + "policy: rigl\ndensity: 0.2\n");
        e.load_dataset();
        EXPECT(e.train(1, [](const sw_progress &p) { return p.epoch_end || p.step < 2; }));
        EXPECT(e.progress().second == 2);
        e.set_policy("dnw");
        auto counts = e.parameter_counts();
        EXPECT(e.policy() == "dnw" && counts.second < counts.first / 4);
        throws([&] { e.set_policy("dnw", "", 0.0); }, SW_ERR_CONFIG);
        std::printf("ok   train() reports a callback stop; set_policy keeps the density\n");
    }

    // mask-only
    sparsewire::Policy p("dnw", "density: 0.25\n");
    p.add_layer("w", {4, 8});
    std::vector<std::vector<float>> w{std::vector<float>(32)}, masks;
    for (int i = 0; i < 32; i++) w[0][i] = float(i % 7) - 3.f + 0.01f * i;
    p.before_forward(0, 10, w, masks);
    int k = 0;
    for (float v : masks[0]) k += v != 0;
    EXPECT(k == 8);
    EXPECT(p.optimizer_resets(0).empty());  // dnw regrows nothing
    std::vector<std::vector<float>> wrong{std::vector<float>(31)};
    throws([&] { p.before_forward(0, 10, wrong, masks); }, SW_ERR_SHAPE);
    EXPECT(p.active_hooks(3, 10) == SW_HOOK_UPDATE_MASKS);  // dnw: a new top-k every step, nothing else
    auto state = p.save_state();
    sparsewire::Policy q("dnw", "density: 0.25\n");
    q.add_layer("w", {4, 8});
    q.load_state(state);
    std::vector<std::vector<float>> masks2;
    q.before_forward(1, 10, w, masks2);
    p.before_forward(1, 10, w, masks);
    EXPECT(masks2 == masks);
    throws([&] { q.load_state(state); }, SW_ERR_STATE);  // q has started
    std::printf("ok   mask-only state round trip and active hooks\n");
    std::printf("all %d checks passed\n", checks);
    return 0;
}
