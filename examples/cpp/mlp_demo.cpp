// mlp_demo (C++): opens a classifier written by the C mlp_demo and prints
// its predictions for a fixed input, using the RAII wrapper mle.hpp.
//
// Usage: mlp_demo_cpp MODEL.mle
#include <cstdio>
#include <exception>
#include <vector>

#include "mle.hpp"

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s MODEL.mle\n", argv[0]);
        return 2;
    }
    try {
        mle::Model model = mle::Model::open(argv[1], mle::OpenOptions{/*verify=*/true});
        mle::IoInfo in = model.inputs().at(0);
        std::printf("MLE %s: %s takes \"%s\" with %lld features\n", mle::version().c_str(), argv[1], in.name.c_str(),
                    static_cast<long long>(in.shape.at(1)));

        // Two fixed rows: a ramp and its mirror image.
        const int64_t rows = 2, features = in.shape.at(1);
        std::vector<float> x(static_cast<size_t>(rows * features));
        for (int64_t c = 0; c < features; c++) {
            x[c] = 0.25f * static_cast<float>(c);
            x[features + c] = -0.25f * static_cast<float>(c);
        }

        mle::Session session(model);
        std::vector<mle::Tensor> out = session.run({mle::TensorView(x.data(), {rows, features}, in.name)});
        const mle::Tensor &probs = out.at(0), &label = out.at(1);
        const int64_t classes = probs.shape().at(1);
        for (int64_t r = 0; r < rows; r++) {
            std::printf("row %lld: %s =", static_cast<long long>(r), probs.name().c_str());
            for (int64_t k = 0; k < classes; k++) std::printf(" %.4f", probs.data<float>()[r * classes + k]);
            std::printf("  %s = %lld\n", label.name().c_str(), static_cast<long long>(label.data<int64_t>()[r]));
        }
    } catch (const mle::Error &e) {
        std::fprintf(stderr, "mlp_demo_cpp: %s (%s)\n", e.what(), mle::status_string(e.status()));
        return 1;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "mlp_demo_cpp: %s\n", e.what());
        return 1;
    }
    return 0;
}
