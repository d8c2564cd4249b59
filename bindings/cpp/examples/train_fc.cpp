// Train LeNet-300-100 on Fashion-MNIST with RigL at 10 % density from C++.
//   g++ -std=c++17 -I Include -I bindings/cpp bindings/cpp/examples/train_fc.cpp
//       -L .build/release -lsparsewire -Wl,-rpath,$PWD/.build/release -o train_fc   (one line)
//   OPENBLAS_CORETYPE=SkylakeX ./train_fc [policy] [density] [epochs]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "sparsewire.hpp"

int main(int argc, char **argv) {
    const std::string policy = argc > 1 ? argv[1] : "rigl";
    const std::string density = argc > 2 ? argv[2] : "0.1";
    const std::string epochs = argc > 3 ? argv[3] : "1";
    try {
        sparsewire::Engine engine("model: {name: mlp, hidden: [300, 100]}\noptimizer: {lr: 0.05}\n"
                                  "policy: " + policy + "\ndensity: " + density + "\nepochs: " + epochs + "\n");
        engine.load_dataset("fashion-mnist");
        engine.train(0, [](const sw_progress &p) {
            if (p.epoch_end) std::printf("epoch %d: test accuracy %.4f\n", p.epoch, p.test_accuracy);
            return true;
        });
        for (const auto &d : engine.density())
            std::printf("%-12s kept %7llu of %7llu\n", d.name.c_str(), (unsigned long long)d.kept, (unsigned long long)d.count);
        auto [loss, accuracy] = engine.evaluate();
        std::printf("{\"policy\": \"%s\", \"test_accuracy\": %.4f, \"test_loss\": %.4f}\n", policy.c_str(), accuracy, loss);
    } catch (const sparsewire::Error &e) {
        std::fprintf(stderr, "sparsewire: %s (%s)\n", e.what(), e.status_name());
        return 1;
    }
    return 0;
}
