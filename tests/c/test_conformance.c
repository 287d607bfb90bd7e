/* Runs the cross-language conformance suite (tests/conformance/README.md)
 * through the C API. Usage: test_conformance [SUITE_DIR]; default
 * $MLE_CONFORMANCE_DIR, else build/conformance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "mle.h"
#include "testutil.h"

static const char *dtype_name(mle_dtype d) {
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
    }
    return "?";
}

static mle_dtype dtype_of(const char *name) {
    for (mle_dtype d = 0; d < 32; d++)
        if (!strcmp(dtype_name(d), name)) return d;
    return 0;
}

static char *join(const char *dir, const char *rel) {
    char *p = malloc(strlen(dir) + strlen(rel) + 2);
    sprintf(p, "%s/%s", dir, rel);
    return p;
}

/* A tensor's elements: the .npy file from data_offset. */
static char *tensor_data(const char *dir, const jnode *t, size_t *n) {
    char *path = join(dir, json_str(t, "file"));
    size_t len = 0;
    char *buf = read_file(path, &len);
    free(path);
    size_t off = (size_t)json_num(t, "data_offset", 0);
    if (!buf || off > len) {
        free(buf);
        return NULL;
    }
    memmove(buf, buf + off, len - off);
    *n = len - off;
    return buf;
}

static int same_shape(const jnode *shape, int32_t rank, const int64_t *dims) {
    if (!shape || shape->type != J_ARRAY || (int32_t)shape->count != rank) return 0;
    for (int32_t d = 0; d < rank; d++)
        if ((int64_t)shape->items[d]->number != dims[d]) return 0;
    return 1;
}

static void check_signature(const char *name, mle_model *m, const jnode *want, int outputs) {
    size_t n = 0;
    CHECK_ST0(outputs ? mle_model_output_count(m, &n) : mle_model_input_count(m, &n), MLE_OK);
    CHECKF(want && n == want->count, "%s: %zu %s, want %zu", name, n, outputs ? "outputs" : "inputs", want ? want->count : 0);
    for (size_t i = 0; want && i < n && i < want->count; i++) {
        mle_io_info info = {.struct_size = sizeof info};
        mle_error *err = NULL;
        CHECK_ST(outputs ? mle_model_output_info(m, i, &info, &err) : mle_model_input_info(m, i, &info, &err), MLE_OK, err);
        const jnode *w = want->items[i];
        CHECKF(!strcmp(info.name, json_str(w, "name")) && !strcmp(dtype_name(info.dtype), json_str(w, "dtype")) &&
                   same_shape(json_get(w, "shape"), info.rank, info.shape),
               "%s: %s %zu is %s %s, want %s %s", name, outputs ? "output" : "input", i, info.name,
               dtype_name(info.dtype), json_str(w, "name"), json_str(w, "dtype"));
    }
}

static void check_metadata(const char *name, mle_model *m, const jnode *want) {
    size_t len = 0;
    mle_error *err = NULL;
    CHECK_ST(mle_model_metadata(m, NULL, 0, &len, &err), MLE_OK, err);
    char *buf = malloc(len + 1);
    CHECK_ST(mle_model_metadata(m, buf, len + 1, &len, &err), MLE_OK, err);
    jnode *meta = json_parse(buf);
    CHECKF(meta && !strcmp(json_str(meta, "name"), json_str(want, "name")) &&
               !strcmp(json_str(meta, "version"), json_str(want, "version")),
           "%s: metadata name/version differ", name);
    json_free(meta);
    free(buf);
}

/* Runs one run of a case, recording any mismatch. */
static void run_case(const char *dir, const char *name, mle_session *s, const jnode *run) {
    const jnode *ins = json_get(run, "inputs"), *outs = json_get(run, "outputs"), *want_err = json_get(run, "error");
    size_t n_in = ins->count, n_out = outs ? outs->count : 1;
    mle_tensor *in = calloc(n_in, sizeof *in), *out = calloc(n_out, sizeof *out);
    char **bufs = calloc(n_in, sizeof *bufs);
    for (size_t i = 0; i < n_in; i++) {
        const jnode *t = ins->items[i], *shape = json_get(t, "shape");
        in[i].name = json_str(t, "name");
        in[i].dtype = dtype_of(json_str(t, "dtype"));
        in[i].rank = (int32_t)shape->count;
        for (size_t d = 0; d < shape->count; d++) in[i].shape[d] = (int64_t)shape->items[d]->number;
        bufs[i] = tensor_data(dir, t, &in[i].nbytes);
        CHECKF(bufs[i] != NULL, "%s: cannot read %s", name, json_str(t, "file"));
        in[i].data = bufs[i];
    }
    for (size_t i = 0; outs && i < n_out; i++) out[i].name = json_str(outs->items[i], "name");
    mle_error *err = NULL;
    mle_status st = mle_session_run(s, in, n_in, out, n_out, &err); /* error runs ask for output 0 */
    if (want_err) {
        mle_status code = (mle_status)json_num(want_err, "code", 0);
        CHECKF(st == code, "%s: run gave %s (%s), want %s", name, mle_status_string(st), mle_error_message(err),
               json_str(want_err, "name"));
        if (st == MLE_OK) mle_free(out[0].data);
    } else {
        CHECKF(st == MLE_OK, "%s: run failed: %s: %s", name, mle_status_string(st), mle_error_message(err));
        for (size_t i = 0; st == MLE_OK && i < n_out; i++) {
            const jnode *t = outs->items[i];
            size_t n = 0;
            char *want = tensor_data(dir, t, &n);
            CHECKF(want && out[i].dtype == dtype_of(json_str(t, "dtype")) &&
                       same_shape(json_get(t, "shape"), out[i].rank, out[i].shape) && out[i].nbytes == n &&
                       (n == 0 || memcmp(out[i].data, want, n) == 0),
                   "%s: output %s differs", name, out[i].name);
            free(want);
            mle_free(out[i].data);
        }
    }
    mle_error_free(err);
    for (size_t i = 0; i < n_in; i++) free(bufs[i]);
    free(bufs);
    free(in);
    free(out);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : getenv("MLE_CONFORMANCE_DIR");
    if (!dir) dir = "build/conformance";
    char *mpath = join(dir, "manifest.json");
    char *text = read_file(mpath, NULL);
    if (!text) {
        fprintf(stderr, "no conformance suite at %s: run `make conformance` (or pass its directory)\n", mpath);
        return 1;
    }
    jnode *man = json_parse(text);
    const jnode *cases = json_get(man, "cases");
    CHECK(cases && cases->type == J_ARRAY && cases->count > 0);
    size_t n_cases = 0, n_runs = 0;
    for (size_t c = 0; cases && c < cases->count; c++) {
        const jnode *k = cases->items[c];
        const char *name = json_str(k, "name");
        char *model = join(dir, json_str(k, "model"));
        mle_open_options opts = mle_default_open_options();
        opts.verify = (int32_t)json_num(k, "verify", 0);
        mle_model *m = NULL;
        mle_error *err = NULL;
        mle_status st = mle_model_open(model, &opts, &m, &err);
        free(model);
        n_cases++;
        const jnode *open_error = json_get(k, "open_error");
        if (open_error) {
            CHECKF(st == (mle_status)json_num(open_error, "code", 0) &&
                       MLE_STATUS_PRIMARY(st) == (mle_status)json_num(open_error, "primary", 0),
                   "%s: open gave %s, want %s", name, mle_status_string(st), json_str(open_error, "name"));
            mle_error_free(err);
            mle_model_free(m);
            continue;
        }
        CHECKF(st == MLE_OK, "%s: open failed: %s: %s", name, mle_status_string(st), mle_error_message(err));
        mle_error_free(err);
        if (st != MLE_OK) continue;
        check_signature(name, m, json_get(k, "inputs"), 0);
        check_signature(name, m, json_get(k, "outputs"), 1);
        check_metadata(name, m, json_get(k, "metadata"));
        mle_session *s = NULL;
        CHECK_ST(mle_session_new(m, &s, &err), MLE_OK, err);
        const jnode *runs = json_get(k, "runs");
        for (size_t r = 0; runs && r < runs->count; r++, n_runs++) run_case(dir, name, s, runs->items[r]);
        mle_session_free(s);
        mle_model_free(m);
    }
    printf("conformance: %zu cases, %zu runs\n", n_cases, n_runs);
    json_free(man);
    free(text);
    free(mpath);
    return tu_finish("test_conformance");
}
