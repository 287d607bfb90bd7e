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
    case MLE_DTYPE_STRING: return "string";
    }
    return "?";
}

static mle_dtype dtype_of(const char *name) {
    for (mle_dtype d = 0; d < 32; d++)
        if (!strcmp(dtype_name(d), name)) return d;
    return 0;
}

/* A string member, or "" (a malformed manifest fails checks, not the run). */
static const char *str_of(const jnode *obj, const char *key) {
    const char *s = json_str(obj, key);
    return s ? s : "";
}

static char *join(const char *dir, const char *rel) {
    size_t n = strlen(dir) + strlen(rel) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, rel);
    return p;
}

/* A tensor's elements: the .npy file from data_offset. NULL if the
 * manifest names no file or it cannot be read. */
static char *tensor_data(const char *dir, const jnode *t, size_t *n) {
    const char *file = json_str(t, "file");
    char *path = file ? join(dir, file) : NULL;
    if (!path) return NULL;
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
        CHECKF(!strcmp(info.name, str_of(w, "name")) && !strcmp(dtype_name(info.dtype), str_of(w, "dtype")) &&
                   same_shape(json_get(w, "shape"), info.rank, info.shape),
               "%s: %s %zu is %s %s, want %s %s", name, outputs ? "output" : "input", i, info.name,
               dtype_name(info.dtype), str_of(w, "name"), str_of(w, "dtype"));
    }
}

static void check_metadata(const char *name, mle_model *m, const jnode *want) {
    size_t len = 0;
    mle_error *err = NULL;
    CHECK_ST(mle_model_metadata(m, NULL, 0, &len, &err), MLE_OK, err);
    char *buf = malloc(len + 1);
    CHECK_ST(mle_model_metadata(m, buf, len + 1, &len, &err), MLE_OK, err);
    jnode *meta = json_parse(buf);
    CHECKF(meta && !strcmp(str_of(meta, "name"), str_of(want, "name")) &&
               !strcmp(str_of(meta, "version"), str_of(want, "version")),
           "%s: metadata name/version differ", name);
    json_free(meta);
    free(buf);
}

/* The manifest's shape, or -1 if it is missing or not a list of at most
 * MLE_MAX_RANK numbers. */
static int32_t read_shape(const jnode *shape, int64_t *dims) {
    if (!shape || shape->type != J_ARRAY || shape->count > MLE_MAX_RANK) return -1;
    for (size_t d = 0; d < shape->count; d++) {
        if (shape->items[d]->type != J_NUMBER) return -1;
        dims[d] = (int64_t)shape->items[d]->number;
    }
    return (int32_t)shape->count;
}

/* Elements of a shape; SIZE_MAX if a dimension is negative or the product
 * overflows. */
static size_t count_of(int32_t rank, const int64_t *dims) {
    size_t n = 1;
    for (int32_t d = 0; d < rank; d++) {
        if (dims[d] < 0) return SIZE_MAX;
        if (dims[d] == 0) return 0;
    }
    for (int32_t d = 0; d < rank; d++) {
        if ((uint64_t)dims[d] > SIZE_MAX / n) return SIZE_MAX;
        n *= (size_t)dims[d];
    }
    return n;
}

/* The `strings` list of a string tensor, or NULL if it is missing or holds
 * something other than strings. */
static const jnode *string_list(const jnode *t) {
    const jnode *list = json_get(t, "strings");
    if (!list || list->type != J_ARRAY) return NULL;
    for (size_t i = 0; i < list->count; i++)
        if (list->items[i]->type != J_STRING) return NULL;
    return list;
}

/* A string tensor's elements packed as mle.h takes them; NULL if the
 * manifest's list is malformed or does not fit the shape. */
static void *pack_list(const jnode *t, int32_t rank, const int64_t *dims, size_t *nbytes) {
    const jnode *list = string_list(t);
    if (!list || list->count != count_of(rank, dims)) return NULL;
    size_t n = list->count;
    const char **strs = malloc((n ? n : 1) * sizeof *strs);
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    void *packed = NULL;
    if (strs && lens) {
        for (size_t i = 0; i < n; i++) strs[i] = list->items[i]->string, lens[i] = list->items[i]->length;
        packed = tu_pack_strings(strs, lens, n, nbytes);
    }
    free(strs);
    free(lens);
    return packed;
}

/* Compares a string output with the manifest's list, element by element;
 * reports the first difference. */
static void check_strings(const char *name, const mle_tensor *out, const jnode *want) {
    const jnode *list = string_list(want);
    size_t n = count_of(out->rank, out->shape);
    if (!list || n != list->count) {
        tu_fail(__FILE__, __LINE__, "%s: output %s holds %zu strings, the manifest %zu", name, out->name,
                n == SIZE_MAX ? 0 : n, list ? list->count : 0);
        return;
    }
    if (!out->data || !tu_strings_valid(out->data, out->nbytes, n)) {
        tu_fail(__FILE__, __LINE__, "%s: output %s: %zu bytes are not a packing of %zu strings", name, out->name,
                out->nbytes, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const char *got = tu_string_at(out->data, n, i, &len);
        const jnode *w = list->items[i];
        if (len != w->length || memcmp(got, w->string, len) != 0) {
            tu_fail(__FILE__, __LINE__, "%s: output %s[%zu] is \"%.*s\" (%zu bytes), want \"%s\" (%zu bytes)", name,
                    out->name, i, (int)(len > 200 ? 200 : len), got, len, w->string, w->length);
            return;
        }
    }
}

static size_t n_string_tensors; /* passed or compared: shows the string cases ran */

/* Runs one run of a case, recording any mismatch. */
static void run_case(const char *dir, const char *name, mle_session *s, const jnode *run) {
    const jnode *ins = json_get(run, "inputs"), *outs = json_get(run, "outputs"), *want_err = json_get(run, "error");
    if (!ins || ins->type != J_ARRAY || (!want_err && (!outs || outs->type != J_ARRAY || outs->count == 0))) {
        tu_fail(__FILE__, __LINE__, "%s: a run without inputs, or without outputs or error", name);
        return;
    }
    size_t n_in = ins->count, n_out = outs ? outs->count : 1;
    mle_tensor *in = calloc(n_in + 1, sizeof *in), *out = calloc(n_out, sizeof *out);
    void **bufs = calloc(n_in + 1, sizeof *bufs);
    int ready = in && out && bufs;
    for (size_t i = 0; ready && i < n_in; i++) {
        const jnode *t = ins->items[i];
        const char *dtype = json_str(t, "dtype");
        in[i].name = json_str(t, "name");
        in[i].dtype = dtype ? dtype_of(dtype) : 0;
        in[i].rank = read_shape(json_get(t, "shape"), in[i].shape);
        if (in[i].rank < 0) {
            tu_fail(__FILE__, __LINE__, "%s: input %zu has no valid shape", name, i);
            ready = 0;
        } else if (in[i].dtype == MLE_DTYPE_STRING) {
            bufs[i] = pack_list(t, in[i].rank, in[i].shape, &in[i].nbytes);
            n_string_tensors++;
            CHECKF(bufs[i] != NULL, "%s: input %s: `strings` is missing or does not fit its shape", name, in[i].name);
        } else {
            bufs[i] = tensor_data(dir, t, &in[i].nbytes);
            CHECKF(bufs[i] != NULL, "%s: cannot read %s", name, str_of(t, "file"));
        }
        ready = ready && bufs[i] != NULL;
        in[i].data = bufs[i];
    }
    if (!ready) goto done;
    for (size_t i = 0; outs && i < n_out; i++) out[i].name = json_str(outs->items[i], "name");
    mle_error *err = NULL;
    mle_status st = mle_session_run(s, in, n_in, out, n_out, &err); /* error runs ask for output 0 */
    if (want_err) {
        mle_status code = (mle_status)json_num(want_err, "code", 0);
        CHECKF(st == code, "%s: run gave %s (%s), want %s", name, mle_status_string(st), mle_error_message(err),
               str_of(want_err, "name"));
        for (size_t i = 0; st == MLE_OK && i < n_out; i++) mle_free(out[i].data);
    } else {
        CHECKF(st == MLE_OK, "%s: run failed: %s: %s", name, mle_status_string(st), mle_error_message(err));
        for (size_t i = 0; st == MLE_OK && i < n_out; i++) {
            const jnode *t = outs->items[i];
            const char *dtype = json_str(t, "dtype");
            mle_dtype want_dtype = dtype ? dtype_of(dtype) : 0;
            if (out[i].dtype != want_dtype || !same_shape(json_get(t, "shape"), out[i].rank, out[i].shape)) {
                tu_fail(__FILE__, __LINE__, "%s: output %s is %s rank %d, want %s", name, out[i].name,
                        dtype_name(out[i].dtype), out[i].rank, dtype ? dtype : "?");
            } else if (want_dtype == MLE_DTYPE_STRING) {
                check_strings(name, &out[i], t);
                n_string_tensors++;
            } else {
                size_t n = 0;
                char *want = tensor_data(dir, t, &n);
                CHECKF(want && out[i].nbytes == n && (n == 0 || memcmp(out[i].data, want, n) == 0),
                       "%s: output %s differs", name, out[i].name);
                free(want);
            }
            mle_free(out[i].data);
        }
    }
    mle_error_free(err);
done:
    for (size_t i = 0; bufs && i < n_in; i++) free(bufs[i]);
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
    CHECKF(man != NULL, "%s is not valid JSON", mpath);
    const jnode *cases = json_get(man, "cases");
    CHECK(cases && cases->type == J_ARRAY && cases->count > 0);
    size_t n_cases = 0, n_runs = 0;
    for (size_t c = 0; cases && c < cases->count; c++) {
        const jnode *k = cases->items[c];
        const char *name = str_of(k, "name");
        char *model = join(dir, str_of(k, "model"));
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
                   "%s: open gave %s, want %s", name, mle_status_string(st), str_of(open_error, "name"));
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
    printf("conformance: %zu cases, %zu runs, %zu string tensors\n", n_cases, n_runs, n_string_tensors);
    json_free(man);
    free(text);
    free(mpath);
    return tu_finish("test_conformance");
}
