// test_hpp: the C++ wrapper — building, opening, running (library-allocated
// and caller buffers), errors as exceptions with the right status, move
// semantics, serialize() + open_memory(), string tensors, stopping runs
// (timeout, cancel flag), the memory cap, Model::run from many threads
// through the library's session pool, and model and session options.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "mle.hpp"
#include "testutil.h"

namespace {

std::string kDir;  // scratch directory of this run

// The test MLP of tests/c/testutil.c, built through mle::Builder.
mle::Builder build_mlp() {
    mlp_weights w;
    mlp_make_weights(&w);
    mle::Builder b;
    b.set_metadata_json(R"({"name":"test-mlp-cpp","version":"2.0.0"})")
        .add_input("X", MLE_DTYPE_FLOAT32, {-1, MLP_IN})
        .add_tensor("W1", {MLP_IN, MLP_HIDDEN}, std::vector<float>(w.w1, w.w1 + MLP_IN * MLP_HIDDEN))
        .add_tensor("b1", MLE_DTYPE_FLOAT32, {MLP_HIDDEN}, w.b1, sizeof w.b1)
        .add_tensor("W2", {MLP_HIDDEN, MLP_OUT}, std::vector<float>(w.w2, w.w2 + MLP_HIDDEN * MLP_OUT))
        .add_tensor("b2", MLE_DTYPE_FLOAT32, {MLP_OUT}, w.b2, sizeof w.b2);
    b.add_node("Gemm", {"X", "W1", "b1"}, {"h"}, "fc1");
    b.add_node("Relu", {"h"}, {"r"});
    b.add_node("Gemm", {"r", "W2", "b2"}, {"logits"}, "fc2");
    b.set_attr_int(b.add_node("Softmax", {"logits"}, {"probs"}), "axis", -1);
    size_t argmax = b.add_node("ArgMax", {"probs"}, {"label"});
    b.set_attr_int(argmax, "axis", 1).set_attr_int(argmax, "keepdims", 0);
    b.add_output("probs").add_output("label");
    return b;
}

// Outputs of a run on rows x MLP_IN inputs must match the C reference.
void check_outputs(const std::vector<mle::Tensor> &out, const std::vector<float> &x, const char *what) {
    size_t rows = x.size() / MLP_IN;
    std::vector<float> ref(rows * MLP_OUT + 1);
    std::vector<int64_t> ref_labels(rows + 1);
    mlp_reference(x.data(), rows, ref.data(), ref_labels.data());
    CHECKF(out.size() == 2, "%s: %zu outputs", what, out.size());
    if (out.size() != 2) return;
    CHECKF(out[0].name() == "probs" && out[1].name() == "label", "%s: output names", what);
    CHECKF(out[0].shape() == (std::vector<int64_t>{(int64_t)rows, MLP_OUT}), "%s: probs shape", what);
    CHECKF(out[1].shape() == std::vector<int64_t>{(int64_t)rows} && out[1].dtype() == MLE_DTYPE_INT64,
           "%s: label shape/dtype", what);
    std::vector<float> probs = out[0].to_vector<float>();
    const int64_t *labels = out[1].data<int64_t>();
    for (size_t i = 0; i < rows * MLP_OUT; i++)
        CHECKF(std::fabs(probs[i] - ref[i]) <= 1e-5f, "%s: probs[%zu] %g vs %g", what, i, probs[i], ref[i]);
    for (size_t r = 0; r < rows; r++) CHECKF(labels[r] == ref_labels[r], "%s: label[%zu]", what, r);
}

// Runs fn, which must throw mle::Error with status want.
template <class Fn> void expect_error(Fn fn, mle_status want, const char *what) {
    try {
        fn();
        tu_fail(__FILE__, __LINE__, "%s: no exception, want %s", what, mle::status_string(want));
    } catch (const mle::Error &e) {
        CHECKF(e.status() == want, "%s: status %s (%s), want %s", what, mle::status_string(e.status()), e.what(),
               mle::status_string(want));
        CHECKF(e.primary() == MLE_STATUS_PRIMARY(want), "%s: primary %u", what, e.primary());
        CHECKF(std::string(e.what()).size() > 0, "%s: empty message", what);
    }
}

void test_build_open_run() {
    const std::string path = kDir + "/mlp.mle";
    uint64_t written = build_mlp().save(path);
    CHECK(written > 0);
    // Without the fsyncs: the same file.
    CHECK(build_mlp().save(kDir + "/nosync.mle", false) == written);
    CHECK(mle::Model::open(kDir + "/nosync.mle").inputs().size() == 1);

    mle::OpenOptions opts;
    opts.verify = true;
    mle::Model model = mle::Model::open(path, opts);
    std::string meta = model.metadata();
    CHECKF(meta.find("test-mlp-cpp") != std::string::npos, "metadata: %s", meta.c_str());

    auto inputs = model.inputs();
    auto outputs = model.outputs();
    CHECK(inputs.size() == 1 && inputs[0].name == "X" && inputs[0].dtype == MLE_DTYPE_FLOAT32);
    CHECK(inputs.size() == 1 && inputs[0].shape == (std::vector<int64_t>{-1, MLP_IN}));
    CHECK(outputs.size() == 2 && outputs[0].name == "probs" && outputs[1].name == "label");
    CHECK(outputs.size() == 2 && outputs[1].dtype == MLE_DTYPE_INT64 && outputs[1].shape == std::vector<int64_t>{-1});

    mle::Session session(model);
    for (size_t rows : {1, 5, 0}) {
        std::vector<float> x(rows * MLP_IN);
        mlp_make_input(x.data(), rows, 7);
        check_outputs(session.run({mle::TensorView(x.data(), {(int64_t)rows, MLP_IN}, "X")}), x, "run");
    }

    // Caller buffers: one too small first, then the size reported.
    std::vector<float> x(3 * MLP_IN), probs(1);
    std::vector<int64_t> labels(3);
    mlp_make_input(x.data(), 3, 8);
    std::vector<mle::OutputBuffer> out = {{probs.data(), probs.size()}, {labels.data(), labels.size()}};
    expect_error([&] { session.run({mle::TensorView(x.data(), {3, MLP_IN})}, out); }, MLE_ERR_BUFFER_TOO_SMALL,
                 "small buffer");
    CHECKF(out[0].nbytes == 3 * MLP_OUT * sizeof(float), "needed nbytes %zu", out[0].nbytes);
    probs.resize(out[0].nbytes / sizeof(float));
    out[0] = mle::OutputBuffer(probs.data(), probs.size());
    session.run({mle::TensorView(x.data(), {3, MLP_IN})}, out);
    std::vector<float> ref(3 * MLP_OUT);
    std::vector<int64_t> ref_labels(3);
    mlp_reference(x.data(), 3, ref.data(), ref_labels.data());
    CHECK(out[0].name == "probs" && out[0].shape == (std::vector<int64_t>{3, MLP_OUT}));
    for (size_t i = 0; i < ref.size(); i++) CHECKF(std::fabs(probs[i] - ref[i]) <= 1e-5f, "caller probs[%zu]", i);
    CHECK(labels == ref_labels);

    // Errors as exceptions.
    expect_error([] { mle::Model::open(kDir + "/missing.mle"); }, MLE_ERR_IO_OPEN, "missing file");
    try {
        mle::Model::open(kDir + "/missing.mle");
    } catch (const mle::Error &e) {  // the library's message, which names the file
        CHECKF(std::string(e.what()).find("missing.mle") != std::string::npos, "message: %s", e.what());
    }
    std::vector<double> xd(2 * MLP_IN);
    expect_error([&] { session.run({mle::TensorView(xd.data(), {2, MLP_IN})}); }, MLE_ERR_DTYPE, "float64 input");
    expect_error([&] { session.run({mle::TensorView(x.data(), {1, MLP_IN}, "nope")}); }, MLE_ERR_INVALID_NAME,
                 "unknown input");
    auto res = session.run({mle::TensorView(x.data(), {1, MLP_IN})});
    expect_error([&] { res[0].data<int64_t>(); }, MLE_ERR_DTYPE, "Tensor::data<int64_t> on float32");
    mle::Builder bad;
    bad.add_input("X", MLE_DTYPE_FLOAT32, {-1, MLP_IN}).add_output("Y");
    bad.add_node("NoSuchOp", {"X"}, {"Y"});
    expect_error([&] { bad.serialize(); }, MLE_ERR_GRAPH_UNKNOWN_OP, "unknown op");
}

void test_moves_and_memory() {
    std::vector<uint8_t> bytes = build_mlp().serialize();
    CHECK(bytes.size() > 0);
    mle::Model a = mle::Model::open_memory(bytes);
    bytes.assign(bytes.size(), 0);  // copied: the model must not need them

    mle::Model b = std::move(a);
    CHECK(a.get() == nullptr && b.get() != nullptr);
    // A moved-from object is empty: using it throws BAD_HANDLE, destroying it is fine.
    expect_error([&] { a.metadata(); }, MLE_ERR_BAD_HANDLE, "moved-from model");
    mle::Model c = mle::Model::open(kDir + "/mlp.mle");
    c = std::move(b);  // frees c's first model
    CHECK(b.get() == nullptr);

    mle::Session s1(c);
    mle::Session s2 = std::move(s1);
    CHECK(s1.get() == nullptr);
    { mle::Model gone = std::move(c); }  // the session keeps the model's data alive
    std::vector<float> x(2 * MLP_IN);
    mlp_make_input(x.data(), 2, 9);
    check_outputs(s2.run({mle::TensorView(x.data(), {2, MLP_IN})}), x, "open_memory, model freed first");
    expect_error([&] { s1.run({mle::TensorView(x.data(), {2, MLP_IN})}); }, MLE_ERR_BAD_HANDLE, "moved-from session");

    std::vector<mle::Tensor> outs = s2.run({mle::TensorView(x.data(), {2, MLP_IN})});
    mle::Tensor t = std::move(outs[0]);
    CHECK(t.raw() != nullptr && outs[0].raw() == nullptr);

    mle::Builder b1 = build_mlp();
    mle::Builder b2 = std::move(b1);
    CHECK(b1.get() == nullptr);
    expect_error([&] { b1.add_output("x"); }, MLE_ERR_BAD_HANDLE, "moved-from builder");
    CHECK(b2.serialize().size() > 0);
}

// ------------------------------------------------------- string tensors

// The MLP's outputs for one row (probs float32, label int64).
std::vector<mle::Tensor> build_mlp_run() {
    mle::Session s(mle::Model::open_memory(build_mlp().serialize()));
    std::vector<float> x(MLP_IN);
    mlp_make_input(x.data(), 1, 3);
    return s.run({mle::TensorView(x.data(), {1, MLP_IN})});
}

const std::vector<std::string> kClasses = {"setosa", "versicolor", "virginica ünï 東京"};

// scores float64 [-1, 3] -> ArgMax -> Gather(classes) -> "label" string
// [-1]; text string [-1] -> Identity -> "echo".
mle::Model build_strings_model() {
    mle::Builder b;
    b.set_metadata_json(R"({"name":"test-strings-cpp","version":"1.0.0"})")
        .add_input("scores", MLE_DTYPE_FLOAT64, {-1, 3})
        .add_input("text", MLE_DTYPE_STRING, {-1})
        .add_tensor("classes", {3}, kClasses);
    size_t argmax = b.add_node("ArgMax", {"scores"}, {"index"});
    b.set_attr_int(argmax, "axis", 1).set_attr_int(argmax, "keepdims", 0);
    b.add_node("Gather", {"classes", "index"}, {"label"});
    b.add_node("Identity", {"text"}, {"echo"});
    b.add_output("label").add_output("echo");
    mle::OpenOptions opts;
    opts.verify = true;
    return mle::Model::open_memory(b.serialize(), opts);
}

// Scores whose argmax in row r is pick[r].
std::vector<double> scores_for(const std::vector<int> &pick) {
    std::vector<double> s(pick.size() * 3);
    for (size_t r = 0; r < pick.size(); r++) s[r * 3 + static_cast<size_t>(pick[r])] = 1.0 + static_cast<double>(r);
    return s;
}

void test_strings() {
    mle::Model model = build_strings_model();
    auto ins = model.inputs();
    CHECK(ins.size() == 2 && ins[1].name == "text" && ins[1].dtype == MLE_DTYPE_STRING);
    CHECK(model.outputs().size() == 2 && model.outputs()[0].dtype == MLE_DTYPE_STRING);
    mle::Session session(model);

    // Round trip: labels gathered from the stored constant, text echoed back
    // (an empty string, a NUL, 4-byte UTF-8 included).
    std::vector<double> scores = scores_for({2, 0, 1, 2});
    const std::string nul("a\0b", 3);
    std::vector<std::string> text = {"", nul, "😀 ü", "plain"};
    std::vector<std::string_view> views(text.begin(), text.end());
    std::vector<mle::Tensor> out =
        session.run({mle::TensorView(scores.data(), {4, 3}, "scores"), mle::TensorView(views, {4}, "text")});
    CHECK(out.size() == 2 && out[0].name() == "label" && out[0].dtype() == MLE_DTYPE_STRING);
    CHECK(out.size() == 2 && out[0].shape() == std::vector<int64_t>{4} && out[0].size() == 4);
    std::vector<std::string> want_labels = {kClasses[2], kClasses[0], kClasses[1], kClasses[2]};
    CHECK(out.size() == 2 && out[0].strings() == want_labels);
    CHECK(out.size() == 2 && out[0].to_vector<std::string>() == want_labels);
    CHECK(out.size() == 2 && out[1].strings() == text);
    if (out.size() == 2) {
        std::vector<std::string_view> sv = out[1].string_views();
        CHECK(sv.size() == 4 && sv[1] == nul && sv[0].empty());
        expect_error([&] { out[0].data<int64_t>(); }, MLE_ERR_DTYPE, "Tensor::data<int64_t> on strings");
    }

    // The other ways to give the text: std::string, const char *, a braced
    // list, a pointer; a 2-D shape; a copied view whose original is gone.
    const char *cstrs[] = {"x", "y"};
    std::vector<const char *> cvec(cstrs, cstrs + 2);
    std::vector<double> one = scores_for({1});
    mle::TensorView copied = [] {
        std::vector<std::string> temp = {"kept", "alive"};
        mle::TensorView v(temp, {1, 2}, "text");
        return mle::TensorView(v);  // the packed bytes are shared, not the strings
    }();
    const std::vector<std::pair<mle::TensorView, std::vector<std::string>>> forms = {
        {mle::TensorView(text, {4}, "text"), text},
        {mle::TensorView(cvec, {2}, "text"), {"x", "y"}},
        {mle::TensorView({"p", "q", "r"}, {3}, "text"), {"p", "q", "r"}},
        {mle::TensorView(cstrs, {2}, "text"), {"x", "y"}},
        {mle::TensorView(text.data(), {2}, "text"), {text[0], text[1]}},
        {copied, {"kept", "alive"}},
    };
    for (const auto &form : forms) {
        CHECK(form.first.dtype == MLE_DTYPE_STRING);
        // The model's text input is 1-D: a 2-D view runs as its flat copy.
        mle::TensorView v = form.first;
        v.shape = {static_cast<int64_t>(form.second.size())};
        std::vector<mle::Tensor> o = session.run({mle::TensorView(one.data(), {1, 3}, "scores"), v});
        CHECKF(o.size() == 2 && o[1].strings() == form.second, "text form of %zu strings", form.second.size());
        CHECK(o.size() == 2 && o[0].strings() == std::vector<std::string>{kClasses[1]});
    }
    CHECK(copied.shape == (std::vector<int64_t>{1, 2}));
    CHECK(mle::unpack_strings(copied.data, copied.nbytes, 2) == (std::vector<std::string>{"kept", "alive"}));

    // No rows: an empty string tensor each way; Model::run as well.
    std::vector<std::string_view> none;
    out = model.run({mle::TensorView(scores.data(), {0, 3}, "scores"), mle::TensorView(none, {0}, "text")});
    CHECK(out.size() == 2 && out[0].strings().empty() && out[1].strings().empty() && out[0].nbytes() == 8);

    // Caller buffers: too small gives the size needed; then it fits.
    std::vector<uint8_t> small(40), exact;
    std::vector<mle::OutputBuffer> bufs = {{small.data(), small.size(), "label"}};
    auto inputs = std::vector<mle::TensorView>{mle::TensorView(scores.data(), {4, 3}, "scores"),
                                               mle::TensorView(text, {4}, "text")};
    expect_error([&] { session.run(inputs, bufs); }, MLE_ERR_BUFFER_TOO_SMALL, "small string buffer");
    size_t need = 8 * 5;
    for (const std::string &l : want_labels) need += l.size();
    CHECKF(bufs[0].nbytes == need, "needed %zu, want %zu", bufs[0].nbytes, need);
    expect_error([&] { bufs[0].strings(); }, MLE_ERR_BUFFER_TOO_SMALL, "strings() of a buffer too small");
    exact.resize(bufs[0].nbytes);
    bufs[0] = mle::OutputBuffer(exact.data(), exact.size(), "label");
    session.run(inputs, bufs);
    CHECK(bufs[0].dtype == MLE_DTYPE_STRING && bufs[0].strings() == want_labels);

    // Bad strings: the library refuses them, naming the input.
    const std::string too_long(MLE_MAX_STRING_BYTES + 1, 'x');
    const std::string longest(MLE_MAX_STRING_BYTES, 'x');
    auto run_text = [&](std::vector<std::string_view> t) {
        return session.run({mle::TensorView(one.data(), {1, 3}, "scores"),
                            mle::TensorView(t, {static_cast<int64_t>(t.size())}, "text")});
    };
    try {
        run_text({"ok", too_long});
        tu_fail(__FILE__, __LINE__, "over-long element: no exception");
    } catch (const mle::Error &e) {
        CHECKF(e.status() == MLE_ERR_INVALID_STRING && e.primary() == MLE_ERR_INVALID_ARGUMENT,
               "over-long element: %s", mle::status_string(e.status()));
        CHECKF(std::string(e.what()).find("text") != std::string::npos, "message does not name the input: %s",
               e.what());
    }
    CHECK(run_text({longest})[1].string_views().at(0).size() == MLE_MAX_STRING_BYTES);
    expect_error([&] { run_text({"\xff"}); }, MLE_ERR_INVALID_STRING, "invalid UTF-8");
    expect_error([&] { run_text({"ok", "\xed\xa0\x80"}); }, MLE_ERR_INVALID_STRING, "UTF-16 surrogate");
    CHECK(run_text({"still works"})[1].strings() == std::vector<std::string>{"still works"});

    // Wrapper checks: vector size against shape, dtype of the accessors.
    expect_error([&] { mle::TensorView(text, {3}, "text"); }, MLE_ERR_INVALID_VALUE, "4 strings for shape {3}");
    expect_error([&] { mle::TensorView(text, {2, 3}, "text"); }, MLE_ERR_INVALID_VALUE, "4 strings for shape {2, 3}");
    expect_error([&] { session.run({mle::TensorView(text, {4}, "scores"), mle::TensorView(text, {4}, "text")}); },
                 MLE_ERR_DTYPE, "strings for a float64 input");
    std::vector<mle::Tensor> nums = build_mlp_run();
    expect_error([&] { nums[1].strings(); }, MLE_ERR_DTYPE, "Tensor::strings on int64");

    // pack_strings / unpack_strings and their checks.
    std::vector<uint8_t> packed = mle::pack_strings(std::vector<std::string>{"ab", "", nul});
    CHECK(packed.size() == 8 * 4 + 5 && packed[8] == 2 && packed[16] == 2 && packed[24] == 5);
    CHECK(mle::unpack_strings(packed.data(), packed.size(), 3) == (std::vector<std::string>{"ab", "", nul}));
    expect_error([&] { mle::unpack_strings(packed.data(), packed.size() - 1, 3); }, MLE_ERR_INVALID_STRING,
                 "unpack: nbytes short");
    expect_error([&] { mle::unpack_strings(packed.data(), packed.size(), 4); }, MLE_ERR_INVALID_STRING,
                 "unpack: too many elements");
    std::vector<uint8_t> bad = packed;
    bad[8] = 9;  // offsets 0 9 2 5: out of order
    expect_error([&] { mle::unpack_strings(bad.data(), bad.size(), 3); }, MLE_ERR_INVALID_STRING, "unpack: offsets");
    CHECK(mle::pack_strings(std::vector<std::string>{}).size() == 8);
    mle::Builder b;
    expect_error([&] { b.add_tensor("c", {2}, std::vector<std::string>{"a"}); }, MLE_ERR_INVALID_VALUE,
                 "1 string constant for shape {2}");
    expect_error([&] { b.add_tensor("c", {1}, std::vector<std::string>{"\xff"}); }, MLE_ERR_INVALID_STRING,
                 "a string constant that is not UTF-8");
}

// ------------------------------------------------------- stopping runs

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

long long ms(Clock::duration d) { return std::chrono::duration_cast<milliseconds>(d).count(); }

// Y = A·B for any sizes (the conformance suite's slow_matmul), run on n×n
// matrices of ones: every result is n.
struct BigMatMul {
    mle::Model model = [] {
        mle::Builder b;
        b.add_input("A", MLE_DTYPE_FLOAT32, {-1, -1}).add_input("B", MLE_DTYPE_FLOAT32, {-1, -1});
        b.add_node("MatMul", {"A", "B"}, {"Y"});
        b.add_output("Y");
        return mle::Model::open_memory(b.serialize());
    }();
    int64_t n = 2048;
    std::vector<float> ones;
    Clock::duration full{};  // one uncancelled run, measured here

    std::vector<mle::TensorView> inputs() const {
        return {mle::TensorView(ones.data(), {n, n}, "A"), mle::TensorView(ones.data(), {n, n}, "B")};
    }

    // Sized so that a full run takes at least 250 ms (2048 is a fraction of
    // a second on a fast machine; then 4096).
    BigMatMul() {
        mle::Session s(model);
        for (;; n *= 2) {
            ones.assign(static_cast<size_t>(n * n), 1.0f);
            Clock::time_point t0 = Clock::now();
            std::vector<mle::Tensor> out = s.run(inputs());
            full = Clock::now() - t0;
            CHECK(out.size() == 1 && out[0].shape() == (std::vector<int64_t>{n, n}));
            const float *y = out[0].data<float>();
            CHECKF(y[0] == float(n) && y[n * n - 1] == float(n), "A·B of ones: %g", y[0]);
            if (full >= milliseconds(250) || n >= 4096) break;
        }
        CHECKF(full >= milliseconds(100), "%lldx%lld took only %lld ms", (long long)n, (long long)n, ms(full));
    }

    // A stopped run must take well under a full one.
    void check_early(Clock::duration took, Clock::duration after, const char *what) const {
        CHECKF(took < after + full / 2, "%s: took %lld ms; a full run takes %lld ms", what, ms(took), ms(full));
    }
};

// A small product through s, to show the session works after a stop.
void small_run(mle::Session &s, const mle::RunOptions &opts, const char *what) {
    const float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1};
    std::vector<mle::TensorView> in = {mle::TensorView(a, {2, 3}, "A"), mle::TensorView(b, {3, 2}, "B")};
    std::vector<float> want = {4, 5, 10, 11};
    std::vector<mle::Tensor> out = s.run(in, opts);
    CHECKF(out.size() == 1 && out[0].to_vector<float>() == want, "%s: library-allocated", what);
    std::vector<float> y(4);
    std::vector<mle::OutputBuffer> bufs = {{y.data(), y.size()}};
    s.run(in, bufs, opts);
    CHECKF(y == want && bufs[0].name == "Y", "%s: caller buffer", what);
}

void test_timeout(const BigMatMul &big) {
    mle::Session s(big.model);
    Clock::time_point t0 = Clock::now();
    expect_error([&] { s.run(big.inputs(), mle::RunOptions().with_timeout(milliseconds(10))); },
                 MLE_ERR_CANCELLED_DEADLINE, "10 ms timeout");
    Clock::duration took = Clock::now() - t0;
    CHECKF(took >= milliseconds(10), "stopped after %lld ms, before its timeout", ms(took));
    big.check_early(took, milliseconds(10), "10 ms timeout");
    CHECK(MLE_ERR_CANCELLED_DEADLINE == 272 && MLE_STATUS_PRIMARY(MLE_ERR_CANCELLED_DEADLINE) == MLE_ERR_CANCELLED);

    // Caller buffers, and a zero timeout: a deadline already past, not "no limit".
    std::vector<float> y(static_cast<size_t>(big.n * big.n));
    std::vector<mle::OutputBuffer> bufs = {{y.data(), y.size()}};
    mle::RunOptions zero;
    zero.timeout = std::chrono::nanoseconds(0);
    expect_error([&] { s.run(big.inputs(), bufs, zero); }, MLE_ERR_CANCELLED_DEADLINE, "zero timeout");
    zero.timeout = std::chrono::nanoseconds(-1);
    expect_error([&] { s.run(big.inputs(), zero); }, MLE_ERR_INVALID_OPTIONS, "negative timeout");

    small_run(s, mle::RunOptions().with_timeout(std::chrono::seconds(60)), "after a timeout");
    CHECK(mle::RunOptions().with_timeout(std::chrono::microseconds(10)).to_c().timeout_us == 10);
    CHECK(mle::RunOptions().with_timeout(std::chrono::nanoseconds(1001)).to_c().timeout_us == 2);
    CHECK(mle::RunOptions().to_c().timeout_us == 0 && mle::RunOptions().to_c().cancel == nullptr);
}

void test_cancel_from_thread(const BigMatMul &big) {
    mle::Session s(big.model);
    std::atomic<int32_t> flag{0};
    mle::RunOptions opts;
    opts.cancel = &flag;
    Clock::time_point t0 = Clock::now();
    std::thread canceller([&] {
        std::this_thread::sleep_for(milliseconds(50));
        flag.store(1);
    });
    expect_error([&] { s.run(big.inputs(), opts); }, MLE_ERR_CANCELLED, "cancelled from another thread");
    Clock::duration took = Clock::now() - t0;
    canceller.join();
    CHECKF(took >= milliseconds(50), "cancelled after %lld ms, before the flag was set", ms(took));
    big.check_early(took, milliseconds(50), "cancelled after 50 ms");
    CHECK(flag.load() == 1);  // the library never writes it

    flag.store(0);  // cleared, the same flag lets runs through
    small_run(s, opts, "after a cancel");
}

void test_flag_already_set(const BigMatMul &big) {
    mle::Session s(big.model);
    std::atomic<int32_t> flag{1};
    Clock::time_point t0 = Clock::now();
    expect_error([&] { s.run(big.inputs(), mle::RunOptions().with_cancel(&flag)); }, MLE_ERR_CANCELLED,
                 "flag set before the run");
    Clock::duration took = Clock::now() - t0;
    CHECKF(took < big.full / 10, "took %lld ms of a %lld ms run: it did work", ms(took), ms(big.full));

    // Any non-zero value, with caller buffers and a timeout too.
    flag.store(-7);
    float a[6] = {0}, y[4] = {0};
    std::vector<mle::OutputBuffer> bufs = {{y, 4}};
    auto opts = mle::RunOptions().with_cancel(&flag).with_timeout(std::chrono::seconds(60));
    expect_error([&] { s.run({mle::TensorView(a, {2, 3}, "A"), mle::TensorView(a, {3, 2}, "B")}, bufs, opts); },
                 MLE_ERR_CANCELLED, "flag set, caller buffers");
    flag.store(0);
    small_run(s, opts, "flag cleared");
}

void test_memory_cap() {
    std::vector<uint8_t> bytes = build_mlp().serialize();
    mle::OpenOptions tiny;
    tiny.max_arena_bytes = 64;
    mle::Session s(mle::Model::open_memory(bytes, tiny));
    std::vector<float> x(1000 * MLP_IN);
    mlp_make_input(x.data(), 1000, 3);
    expect_error([&] { s.run({mle::TensorView(x.data(), {1000, MLP_IN})}); }, MLE_ERR_NO_MEMORY_LIMIT,
                 "64-byte memory cap");
    try {
        s.run({mle::TensorView(x.data(), {1000, MLP_IN})});
    } catch (const mle::Error &e) {
        CHECKF(e.status() == 269 && e.primary() == MLE_ERR_NO_MEMORY, "status %u primary %u", e.status(), e.primary());
    }

    // 1 MiB fits a few rows, not 100,000 (their outputs alone are 3.2 MB).
    mle::OpenOptions mib;
    mib.max_arena_bytes = 1 << 20;
    mle::Session s2(mle::Model::open_memory(bytes, mib));
    std::vector<float> few(4 * MLP_IN), many(100000 * MLP_IN);
    mlp_make_input(few.data(), 4, 5);
    check_outputs(s2.run({mle::TensorView(few.data(), {4, MLP_IN})}), few, "within the cap");
    expect_error([&] { s2.run({mle::TensorView(many.data(), {100000, MLP_IN})}); }, MLE_ERR_NO_MEMORY_LIMIT,
                 "100,000 rows in 1 MiB");
    check_outputs(s2.run({mle::TensorView(few.data(), {4, MLP_IN})}), few, "after refusing");

    mle::OpenOptions negative;
    negative.max_arena_bytes = -1;
    expect_error([&] { mle::Model::open_memory(bytes, negative); }, MLE_ERR_INVALID_OPTIONS, "negative cap");
}

// ------------------------------------------------- Model::run and options

// 8 threads call Model::run on one model (library-allocated outputs and
// caller buffers) while the pool's bound changes under them; every result
// must match the C reference.
void test_model_run_threads() {
    mle::Model model = mle::Model::open_memory(build_mlp().serialize());
    std::vector<float> x1(MLP_IN);
    mlp_make_input(x1.data(), 1, 1);
    check_outputs(model.run({mle::TensorView(x1.data(), {1, MLP_IN}, "X")}), x1, "Model::run");

    const int kThreads = 8, kRuns = 150;
    for (int32_t bound : {0, 2, 1}) {
        mle::ModelOptions opts;
        opts.max_sessions = bound;
        model.set_options(opts);
        std::atomic<int> done{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < kThreads; t++) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kRuns; i++) {
                    size_t rows = 1 + static_cast<size_t>((t + i) % 5);
                    std::vector<float> x(rows * MLP_IN);
                    mlp_make_input(x.data(), rows, t * 1000 + i);
                    std::vector<mle::TensorView> in = {mle::TensorView(x.data(), {(int64_t)rows, MLP_IN}, "X")};
                    if (i % 3 != 0) {
                        check_outputs(model.run(in), x, "Model::run from a thread");
                        continue;
                    }
                    std::vector<float> probs(rows * MLP_OUT), ref(rows * MLP_OUT);
                    std::vector<int64_t> labels(rows), ref_labels(rows);
                    std::vector<mle::OutputBuffer> out = {{labels.data(), rows, "label"},
                                                          {probs.data(), probs.size(), "probs"}};
                    model.run(in, out, mle::RunOptions().with_timeout(std::chrono::seconds(60)));
                    mlp_reference(x.data(), rows, ref.data(), ref_labels.data());
                    CHECKF(out[0].name == "label" && out[0].shape == std::vector<int64_t>{(int64_t)rows},
                           "caller buffers: label shape");
                    CHECKF(labels == ref_labels, "caller buffers: labels, thread %d run %d", t, i);
                    for (size_t k = 0; k < probs.size(); k++)
                        CHECKF(std::fabs(probs[k] - ref[k]) <= 1e-5f, "caller buffers: probs[%zu]", k);
                }
                done.fetch_add(kRuns);
            });
        }
        // Changing the options while runs are in flight is allowed.
        for (int32_t spin : {-1, 0, 50}) {
            mle::ModelOptions o;
            o.max_sessions = bound;
            o.spin_us = spin;
            model.set_options(o);
            std::this_thread::sleep_for(milliseconds(2));
        }
        for (std::thread &th : threads) th.join();
        CHECKF(done.load() == kThreads * kRuns, "max_sessions %d: %d runs", bound, done.load());
    }

    // Errors are the C API's, thrown.
    std::vector<double> xd(MLP_IN);
    expect_error([&] { model.run({mle::TensorView(xd.data(), {1, MLP_IN})}); }, MLE_ERR_DTYPE, "Model::run, float64");
    expect_error([&] { model.run({mle::TensorView(x1.data(), {1, MLP_IN}, "nope")}); }, MLE_ERR_INVALID_NAME,
                 "Model::run, unknown input");
    std::atomic<int32_t> flag{1};
    expect_error([&] { model.run({mle::TensorView(x1.data(), {1, MLP_IN})}, mle::RunOptions().with_cancel(&flag)); },
                 MLE_ERR_CANCELLED, "Model::run, flag set");
    mle::Model gone = std::move(model);
    expect_error([&] { model.run({mle::TensorView(x1.data(), {1, MLP_IN})}); }, MLE_ERR_BAD_HANDLE,
                 "Model::run on a moved-from model");
    expect_error([&] { model.set_options({}); }, MLE_ERR_BAD_HANDLE, "set_options on a moved-from model");
    check_outputs(gone.run({mle::TensorView(x1.data(), {1, MLP_IN})}), x1, "Model::run after a move");
}

void test_model_options() {
    mle::Model model = mle::Model::open_memory(build_mlp().serialize());
    mle::ModelOptions defaults;
    mle_model_options c = defaults.to_c();
    CHECK(c.struct_size == sizeof(mle_model_options) && c.max_sessions == 0 && c.spin_us == 0);
    std::vector<float> x(2 * MLP_IN);
    mlp_make_input(x.data(), 2, 4);

    struct Case {
        int32_t max_sessions, spin_us;
        bool ok;
    };
    for (Case k : {Case{1, 0, true}, Case{0, -1, true}, Case{65536, 100000, true}, Case{0, 0, true},
                   Case{-1, 0, false}, Case{65537, 0, false}, Case{0, -2, false}, Case{0, 100001, false},
                   Case{INT32_MIN, INT32_MAX, false}}) {
        mle::ModelOptions o;
        o.max_sessions = k.max_sessions;
        o.spin_us = k.spin_us;
        char what[96];
        std::snprintf(what, sizeof what, "set_options(max_sessions %d, spin_us %d)", k.max_sessions, k.spin_us);
        if (k.ok) {
            try {
                model.set_options(o);
            } catch (const mle::Error &e) {
                tu_fail(__FILE__, __LINE__, "%s: %s", what, e.what());
            }
        } else {
            expect_error([&] { model.set_options(o); }, MLE_ERR_INVALID_OPTIONS, what);
        }
        // A refused change leaves the model usable as it was.
        check_outputs(model.run({mle::TensorView(x.data(), {2, MLP_IN})}), x, what);
    }
}

void test_session_options() {
    std::vector<uint8_t> bytes = build_mlp().serialize();
    mle::Model model = mle::Model::open_memory(bytes);
    mle::SessionOptions defaults;
    mle_session_options c = defaults.to_c();
    CHECK(c.struct_size == sizeof(mle_session_options) && c.max_arena_bytes == 0 && c.max_cached_plans == 0);
    std::vector<float> x(4 * MLP_IN);
    mlp_make_input(x.data(), 4, 6);
    std::vector<mle::TensorView> in = {mle::TensorView(x.data(), {4, MLP_IN})};

    // A 64-byte cap on one session: its runs are refused, the model's other
    // sessions and Model::run are not capped.
    mle::SessionOptions tiny;
    tiny.max_arena_bytes = 64;
    mle::Session capped(model, tiny);
    expect_error([&] { capped.run(in); }, MLE_ERR_NO_MEMORY_LIMIT, "64-byte session cap");
    check_outputs(mle::Session(model).run(in), x, "uncapped session");
    check_outputs(model.run(in), x, "Model::run beside a capped session");

    // A session cap above the model's applies to that session.
    mle::OpenOptions small;
    small.max_arena_bytes = 64;
    mle::Model small_model = mle::Model::open_memory(bytes, small);
    expect_error([&] { small_model.run(in); }, MLE_ERR_NO_MEMORY_LIMIT, "64-byte model cap");
    mle::SessionOptions roomy;
    roomy.max_arena_bytes = 1 << 20;
    check_outputs(mle::Session(small_model, roomy).run(in), x, "1 MiB session on a 64-byte model");

    // One cached plan: changing shapes replans, results stay right.
    mle::SessionOptions one;
    one.max_cached_plans = 1;
    mle::Session s(model, one);
    for (size_t rows : {2, 1, 2, 0, 3}) {
        std::vector<float> xr(rows * MLP_IN);
        mlp_make_input(xr.data(), rows, 10 + (int)rows);
        check_outputs(s.run({mle::TensorView(xr.data(), {(int64_t)rows, MLP_IN})}), xr, "one cached plan");
    }

    mle::SessionOptions bad;
    bad.max_arena_bytes = -1;
    expect_error([&] { mle::Session refused(model, bad); }, MLE_ERR_INVALID_OPTIONS, "negative session cap");
    bad = {};
    bad.max_cached_plans = 4097;
    expect_error([&] { mle::Session refused(model, bad); }, MLE_ERR_INVALID_OPTIONS, "4097 cached plans");
    bad.max_cached_plans = -1;
    expect_error([&] { mle::Session refused(model, bad); }, MLE_ERR_INVALID_OPTIONS, "-1 cached plans");
}

// With max_sessions 1 and a long run holding the session, Model::run waits:
// its timeout and its cancel flag stop the wait.
void test_model_run_waits(const BigMatMul &big) {
    mle::ModelOptions one;
    one.max_sessions = 1;
    big.model.set_options(one);
    std::atomic<int32_t> hold{0}, started{0};
    std::thread busy([&] {
        started.store(1);
        expect_error([&] { big.model.run(big.inputs(), mle::RunOptions().with_cancel(&hold)); }, MLE_ERR_CANCELLED,
                     "the run holding the session");
    });
    while (started.load() == 0) std::this_thread::yield();
    std::this_thread::sleep_for(milliseconds(20));  // it has the session by now

    const float a[6] = {1, 1, 1, 1, 1, 1};
    std::vector<mle::TensorView> small = {mle::TensorView(a, {2, 3}, "A"), mle::TensorView(a, {3, 2}, "B")};
    Clock::time_point t0 = Clock::now();
    expect_error([&] { big.model.run(small, mle::RunOptions().with_timeout(milliseconds(50))); },
                 MLE_ERR_CANCELLED_DEADLINE, "waiting with a 50 ms timeout");
    Clock::duration took = Clock::now() - t0;
    CHECKF(took >= milliseconds(50), "gave up waiting after %lld ms, before its timeout", ms(took));
    big.check_early(took, milliseconds(50), "waiting with a 50 ms timeout");

    std::atomic<int32_t> flag{0};
    std::thread canceller([&] {
        std::this_thread::sleep_for(milliseconds(50));
        flag.store(1);
    });
    t0 = Clock::now();
    expect_error([&] { big.model.run(small, mle::RunOptions().with_cancel(&flag)); }, MLE_ERR_CANCELLED,
                 "waiting, cancelled after 50 ms");
    took = Clock::now() - t0;
    canceller.join();
    big.check_early(took, milliseconds(50), "waiting, cancelled after 50 ms");

    // Raising the bound lets a run in beside the long one.
    mle::ModelOptions two;
    two.max_sessions = 2;
    big.model.set_options(two);
    std::vector<mle::Tensor> out = big.model.run(small, mle::RunOptions().with_timeout(std::chrono::seconds(60)));
    CHECK(out.size() == 1 && out[0].to_vector<float>() == std::vector<float>(4, 3.0f));

    hold.store(1);
    busy.join();
    big.model.set_options({});
}

}  // namespace

int main() {
    char *dir = tu_tempdir("test_hpp");
    kDir = dir;
    CHECK(mle::abi_version() == MLE_ABI_VERSION);
    CHECK(!mle::version().empty());
    CHECK(std::string(mle::status_string(MLE_ERR_FORMAT_BAD_MAGIC)) == "MLE_ERR_FORMAT_BAD_MAGIC");
    try {
        test_build_open_run();
        test_moves_and_memory();
        test_strings();
        test_memory_cap();
        test_model_run_threads();
        test_model_options();
        test_session_options();
        BigMatMul big;
        test_timeout(big);
        test_cancel_from_thread(big);
        test_flag_already_set(big);
        test_model_run_waits(big);
    } catch (const std::exception &e) {
        tu_fail(__FILE__, __LINE__, "unexpected exception: %s", e.what());
    }
    int rc = tu_finish("test_hpp");
    if (rc == 0) tu_rmdir(dir);
    std::free(dir);
    return rc;
}
