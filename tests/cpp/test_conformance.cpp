// Runs the cross-language conformance suite (tests/conformance/README.md)
// through mle.hpp. Usage: test_conformance_cpp [SUITE_DIR]; default
// $MLE_CONFORMANCE_DIR, else build/conformance.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "json.h"
#include "mle.hpp"

namespace {

int failures = 0;

void fail(const std::string &what) {
    std::fprintf(stderr, "FAIL %s\n", what.c_str());
    failures++;
}

std::string dtype_name(mle_dtype d) {
    switch (d) {
    case MLE_DTYPE_FLOAT32: return "float32";
    case MLE_DTYPE_FLOAT64: return "float64";
    case MLE_DTYPE_FLOAT16: return "float16";
    case MLE_DTYPE_BFLOAT16: return "bfloat16";
    case MLE_DTYPE_INT8: return "int8";
    case MLE_DTYPE_UINT8: return "uint8";
    case MLE_DTYPE_INT32: return "int32";
    case MLE_DTYPE_INT64: return "int64";
    case MLE_DTYPE_BOOL: return "bool";
    case MLE_DTYPE_STRING: return "string";
    }
    return "?";
}

mle_dtype dtype_of(const std::string &name) {
    for (mle_dtype d = 0; d < 32; d++)
        if (dtype_name(d) == name) return d;
    return 0;
}

std::vector<int64_t> shape_of(const jnode *shape) {
    std::vector<int64_t> out;
    for (size_t i = 0; shape && i < shape->count; i++) out.push_back(static_cast<int64_t>(shape->items[i]->number));
    return out;
}

// A manifest string member, or "" (a malformed manifest fails, not crashes).
std::string str_of(const jnode *obj, const char *key) {
    const char *s = json_str(obj, key);
    return s ? s : "";
}

// A tensor's elements: the .npy file from data_offset.
std::string tensor_data(const std::string &dir, const jnode *t) {
    size_t len = 0;
    char *buf = read_file((dir + "/" + str_of(t, "file")).c_str(), &len);
    std::string out;
    size_t off = static_cast<size_t>(json_num(t, "data_offset", 0));
    if (buf && off <= len) out.assign(buf + off, len - off);
    std::free(buf);
    return out;
}

// A string tensor's elements (its `strings` list, which may hold NULs);
// false if the list is missing or holds something else.
bool string_list(const jnode *t, std::vector<std::string> &out) {
    const jnode *list = json_get(t, "strings");
    if (!list || list->type != J_ARRAY) return false;
    for (size_t i = 0; i < list->count; i++) {
        if (list->items[i]->type != J_STRING) return false;
        out.emplace_back(list->items[i]->string, list->items[i]->length);
    }
    return true;
}

size_t n_string_tensors = 0;  // passed or compared: shows the string cases ran

void check_signature(const std::string &name, const std::vector<mle::IoInfo> &got, const jnode *want) {
    if (!want || got.size() != want->count) return fail(name + ": signature size differs");
    for (size_t i = 0; i < got.size(); i++) {
        const jnode *w = want->items[i];
        if (got[i].name != str_of(w, "name") || dtype_name(got[i].dtype) != str_of(w, "dtype") ||
            got[i].shape != shape_of(json_get(w, "shape")))
            fail(name + ": signature entry " + got[i].name + " differs");
    }
}

void run_case(const std::string &dir, const std::string &name, mle::Session &s, const jnode *run) {
    const jnode *ins = json_get(run, "inputs"), *outs = json_get(run, "outputs"), *want_err = json_get(run, "error");
    if (!ins || (!want_err && !outs)) return fail(name + ": a run without inputs, or without outputs or error");
    std::vector<std::string> data;
    std::vector<mle::TensorView> views;
    data.reserve(ins->count);
    try {
        for (size_t i = 0; i < ins->count; i++) {
            const jnode *t = ins->items[i];
            mle_dtype dtype = dtype_of(str_of(t, "dtype"));
            if (dtype == MLE_DTYPE_STRING) {
                // As a caller would: std::string_views, packed by mle.hpp.
                std::vector<std::string> strings;
                if (!string_list(t, strings)) return fail(name + ": input " + str_of(t, "name") + " has no strings");
                std::vector<std::string_view> sv(strings.begin(), strings.end());
                views.emplace_back(sv, shape_of(json_get(t, "shape")), str_of(t, "name"));
                n_string_tensors++;
                continue;
            }
            data.push_back(tensor_data(dir, t));
            views.emplace_back(dtype, shape_of(json_get(t, "shape")), data.back().data(), data.back().size(),
                               str_of(t, "name"));
        }
        std::vector<mle::Tensor> got = s.run(views);
        if (want_err) return fail(name + ": run succeeded, want " + str_of(want_err, "name"));
        if (got.size() != outs->count) return fail(name + ": output count differs");
        for (size_t i = 0; i < got.size(); i++) {
            const jnode *t = outs->items[i];
            if (got[i].name() != str_of(t, "name") || dtype_name(got[i].dtype()) != str_of(t, "dtype") ||
                got[i].shape() != shape_of(json_get(t, "shape"))) {
                fail(name + ": output " + got[i].name() + " has another name, dtype or shape");
            } else if (got[i].dtype() == MLE_DTYPE_STRING) {
                std::vector<std::string> want;
                if (!string_list(t, want)) fail(name + ": output " + got[i].name() + " has no strings");
                std::vector<std::string> strings = got[i].strings();
                for (size_t k = 0; k < want.size() || k < strings.size(); k++)
                    if (k >= want.size() || k >= strings.size() || strings[k] != want[k]) {
                        fail(name + ": output " + got[i].name() + "[" + std::to_string(k) + "] is \"" +
                             (k < strings.size() ? strings[k] : "(none)") + "\", want \"" +
                             (k < want.size() ? want[k] : "(none)") + "\"");
                        break;
                    }
                n_string_tensors++;
            } else {
                std::string want = tensor_data(dir, t);
                if (got[i].nbytes() != want.size() ||
                    (want.size() && std::memcmp(got[i].raw(), want.data(), want.size()) != 0))
                    fail(name + ": output " + got[i].name() + " differs");
            }
        }
    } catch (const mle::Error &e) {
        if (!want_err) return fail(name + ": run failed: " + e.what());
        if (e.status() != static_cast<mle_status>(json_num(want_err, "code", 0)))
            fail(name + ": run gave " + mle::status_string(e.status()) + ", want " + str_of(want_err, "name"));
    }
}

}  // namespace

int main(int argc, char **argv) {
    const char *env = std::getenv("MLE_CONFORMANCE_DIR");
    std::string dir = argc > 1 ? argv[1] : env ? env : "build/conformance";
    char *text = read_file((dir + "/manifest.json").c_str(), nullptr);
    if (!text) {
        std::fprintf(stderr, "no conformance suite in %s: run `make conformance`\n", dir.c_str());
        return 1;
    }
    jnode *man = json_parse(text);
    if (!man) fail(dir + "/manifest.json is not valid JSON");
    const jnode *cases = json_get(man, "cases");
    size_t n_runs = 0, n_cases = cases ? cases->count : 0;
    for (size_t c = 0; c < n_cases; c++) {
        const jnode *k = cases->items[c];
        std::string name = str_of(k, "name");
        mle::OpenOptions opts;
        opts.verify = json_num(k, "verify", 0) != 0;
        const jnode *open_error = json_get(k, "open_error");
        try {
            mle::Model m = mle::Model::open(dir + "/" + str_of(k, "model"), opts);
            if (open_error) {
                fail(name + ": opened, want " + str_of(open_error, "name"));
                continue;
            }
            check_signature(name, m.inputs(), json_get(k, "inputs"));
            check_signature(name, m.outputs(), json_get(k, "outputs"));
            jnode *meta = json_parse(m.metadata().c_str());
            const jnode *want = json_get(k, "metadata");
            if (!meta || std::string(str_of(meta, "name")) != str_of(want, "name") ||
                std::string(str_of(meta, "version")) != str_of(want, "version"))
                fail(name + ": metadata differs");
            json_free(meta);
            mle::Session s(m);
            const jnode *runs = json_get(k, "runs");
            for (size_t r = 0; runs && r < runs->count; r++, n_runs++) run_case(dir, name, s, runs->items[r]);
        } catch (const mle::Error &e) {
            if (!open_error) {
                fail(name + ": " + e.what());
            } else if (e.status() != static_cast<mle_status>(json_num(open_error, "code", 0)) ||
                       e.primary() != static_cast<mle_status>(json_num(open_error, "primary", 0))) {
                fail(name + ": open gave " + mle::status_string(e.status()) + ", want " + str_of(open_error, "name"));
            }
        }
    }
    json_free(man);
    std::free(text);
    std::printf("conformance (C++): %zu cases, %zu runs, %zu string tensors, %d failure(s)\n", n_cases, n_runs,
                n_string_tensors, failures);
    return n_cases > 0 && failures == 0 ? 0 : 1;
}
