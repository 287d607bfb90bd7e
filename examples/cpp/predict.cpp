// predict (C++): opens any .mle model with mle.hpp and runs it on a small
// deterministic batch, printing its signature and outputs. String inputs
// get a few city names; string outputs are printed as text.
//
// Usage: predict_cpp MODEL.mle [ROWS]   (ROWS replaces dynamic dimensions; default 2)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mle.hpp"

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s MODEL.mle [ROWS]\n", argv[0]);
        return 2;
    }
    const int64_t rows = argc > 2 ? std::atoll(argv[2]) : 2;
    try {
        mle::Model model = mle::Model::open(argv[1]);
        mle::Session session(model);
        std::vector<std::vector<double>> f64;
        std::vector<std::vector<float>> f32;
        std::vector<mle::TensorView> inputs;
        const std::string_view words[] = {"Paris", "東京", "São Paulo", "other"};
        f64.reserve(model.inputs().size());
        f32.reserve(model.inputs().size());
        for (const mle::IoInfo &in : model.inputs()) {
            std::vector<int64_t> shape = in.shape;
            size_t count = 1;
            for (int64_t &d : shape) count *= static_cast<size_t>(d = d < 0 ? rows : d);
            std::vector<double> ramp(count);
            for (size_t k = 0; k < count; k++) ramp[k] = std::sin(static_cast<double>(k) * 0.7);
            if (in.dtype == MLE_DTYPE_STRING) {
                // The view packs the strings: this vector may go away.
                std::vector<std::string_view> text;
                for (size_t k = 0; k < count; k++) text.push_back(words[k % 4]);
                inputs.emplace_back(text, shape, in.name);
            } else if (in.dtype == MLE_DTYPE_FLOAT64) {
                f64.push_back(ramp);
                inputs.emplace_back(f64.back().data(), shape, in.name);
            } else if (in.dtype == MLE_DTYPE_FLOAT32) {
                f32.emplace_back(ramp.begin(), ramp.end());
                inputs.emplace_back(f32.back().data(), shape, in.name);
            } else {
                std::fprintf(stderr, "predict_cpp: input %s is not float32/float64/string\n", in.name.c_str());
                return 1;
            }
            std::printf("input  %-16s %zu %s\n", in.name.c_str(), count,
                        in.dtype == MLE_DTYPE_STRING ? "strings" : "values");
        }
        for (const mle::Tensor &t : session.run(inputs)) {
            std::printf("output %-16s [", t.name().c_str());
            for (size_t d = 0; d < t.shape().size(); d++) std::printf("%s%lld", d ? ", " : "", static_cast<long long>(t.shape()[d]));
            std::printf("]:");
            if (t.dtype() == MLE_DTYPE_STRING) {
                std::vector<std::string_view> text = t.string_views();
                for (size_t k = 0; k < text.size() && k < 8; k++)
                    std::printf(" \"%.*s\"", static_cast<int>(text[k].size()), text[k].data());
            }
            for (size_t k = 0; t.dtype() != MLE_DTYPE_STRING && k < t.size() && k < 8; k++) {
                double v = t.dtype() == MLE_DTYPE_FLOAT32   ? t.data<float>()[k]
                           : t.dtype() == MLE_DTYPE_FLOAT64 ? t.data<double>()[k]
                           : t.dtype() == MLE_DTYPE_INT64   ? static_cast<double>(t.data<int64_t>()[k])
                                                            : 0;
                std::printf(" %.6g", v);
            }
            std::printf("%s\n", t.size() > 8 ? " ..." : "");
        }
    } catch (const mle::Error &e) {
        std::fprintf(stderr, "predict_cpp: %s: %s\n", mle::status_string(e.status()), e.what());
        return 1;
    }
    return 0;
}
