/* predict: opens any .mle model and runs it on a small deterministic batch,
 * printing its signature and outputs — no Python needed. String inputs are
 * fed a few city names, packed as mle.h describes; string outputs are
 * unpacked and printed.
 *
 * Usage: predict MODEL.mle [ROWS]   (ROWS replaces dynamic dimensions; default 2) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mle.h"

static const char *dtype_name(mle_dtype d) {
    switch (d) {
    case MLE_DTYPE_FLOAT32: return "float32";
    case MLE_DTYPE_FLOAT64: return "float64";
    case MLE_DTYPE_INT64: return "int64";
    case MLE_DTYPE_INT32: return "int32";
    case MLE_DTYPE_BOOL: return "bool";
    case MLE_DTYPE_STRING: return "string";
    default: return "other";
    }
}

static size_t dsize(mle_dtype d) {
    switch (d) {
    case MLE_DTYPE_FLOAT64: case MLE_DTYPE_INT64: return 8;
    case MLE_DTYPE_FLOAT32: case MLE_DTYPE_INT32: return 4;
    case MLE_DTYPE_FLOAT16: case MLE_DTYPE_BFLOAT16: return 2;
    default: return 1;
    }
}

static double element(const mle_tensor *t, size_t i) {
    switch (t->dtype) {
    case MLE_DTYPE_FLOAT32: return ((const float *)t->data)[i];
    case MLE_DTYPE_FLOAT64: return ((const double *)t->data)[i];
    case MLE_DTYPE_INT64: return (double)((const int64_t *)t->data)[i];
    case MLE_DTYPE_INT32: return ((const int32_t *)t->data)[i];
    default: return ((const unsigned char *)t->data)[i];
    }
}

/* String tensors travel packed: n+1 little-endian uint64 offsets, then the
 * UTF-8 text (mle.h, docs/FORMAT.md §7.1). */
static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static const char *const kWords[] = {"Paris", "東京", "São Paulo", "other"};

/* count strings cycling through kWords, packed; NULL if out of memory. */
static void *pack_words(size_t count, size_t *nbytes) {
    size_t text = 0;
    for (size_t k = 0; k < count; k++) text += strlen(kWords[k % 4]);
    unsigned char *p = malloc(8 * (count + 1) + text);
    if (!p) return NULL;
    uint64_t off = 0;
    put_u64(p, 0);
    for (size_t k = 0; k < count; k++) {
        size_t len = strlen(kWords[k % 4]);
        memcpy(p + 8 * (count + 1) + off, kWords[k % 4], len);
        put_u64(p + 8 * (k + 1), off += len);
    }
    *nbytes = 8 * (count + 1) + text;
    return p;
}

/* Prints up to 8 elements of a packed string output of count elements. */
static void print_strings(const mle_tensor *t, size_t count) {
    const unsigned char *p = t->data;
    size_t head = 8 * (count + 1);
    if (t->nbytes < head) return; /* never from the library; guards the reads below */
    for (size_t k = 0; k < count && k < 8; k++) {
        uint64_t lo = get_u64(p + 8 * k), hi = get_u64(p + 8 * (k + 1));
        if (hi < lo || head + hi > t->nbytes) return;
        printf(" \"%.*s\"", (int)(hi - lo), (const char *)p + head + lo);
    }
}

static int fail(const char *what, mle_error *err) {
    fprintf(stderr, "predict: %s: %s: %s\n", what, mle_status_string(mle_error_status(err)), mle_error_message(err));
    mle_error_free(err);
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s MODEL.mle [ROWS]\n", argv[0]);
        return 2;
    }
    int64_t rows = argc > 2 ? atoll(argv[2]) : 2;
    mle_model *model = NULL;
    mle_session *session = NULL;
    mle_error *err = NULL;
    if (mle_model_open(argv[1], NULL, &model, &err) != MLE_OK) return fail("open", err);
    if (mle_session_new(model, &session, &err) != MLE_OK) return fail("session", err);
    size_t n_in = 0, n_out = 0;
    mle_model_input_count(model, &n_in);
    mle_model_output_count(model, &n_out);
    printf("%s: %zu input(s), %zu output(s)\n", argv[1], n_in, n_out);

    mle_tensor *in = calloc(n_in, sizeof *in), *out = calloc(n_out, sizeof *out);
    for (size_t i = 0; i < n_in; i++) {
        mle_io_info info = {.struct_size = sizeof info};
        mle_model_input_info(model, i, &info, NULL);
        in[i].name = info.name;
        in[i].dtype = info.dtype;
        in[i].rank = info.rank;
        size_t count = 1;
        for (int32_t d = 0; d < info.rank; d++) {
            in[i].shape[d] = info.shape[d] < 0 ? rows : info.shape[d];
            count *= (size_t)in[i].shape[d];
        }
        if (info.dtype == MLE_DTYPE_STRING) {
            in[i].data = pack_words(count, &in[i].nbytes);
            printf("  input  %-16s %s rank %d, fed with %zu strings\n", info.name, dtype_name(info.dtype), info.rank,
                   count);
            continue;
        }
        in[i].nbytes = count * dsize(info.dtype);
        in[i].data = calloc(count ? count : 1, dsize(info.dtype));
        for (size_t k = 0; k < count; k++) { /* a deterministic ramp in [-1, 1] */
            double v = sin((double)k * 0.7 + (double)i);
            if (info.dtype == MLE_DTYPE_FLOAT32) ((float *)in[i].data)[k] = (float)v;
            if (info.dtype == MLE_DTYPE_FLOAT64) ((double *)in[i].data)[k] = v;
        }
        printf("  input  %-16s %s rank %d, fed with %zu values\n", info.name, dtype_name(info.dtype), info.rank, count);
    }
    if (mle_session_run(session, in, n_in, out, n_out, &err) != MLE_OK) return fail("run", err);
    for (size_t i = 0; i < n_out; i++) {
        size_t count = 1;
        for (int32_t d = 0; d < out[i].rank; d++) count *= (size_t)out[i].shape[d];
        printf("  output %-16s %s [", out[i].name, dtype_name(out[i].dtype));
        for (int32_t d = 0; d < out[i].rank; d++) printf("%s%lld", d ? ", " : "", (long long)out[i].shape[d]);
        printf("]:");
        if (out[i].dtype == MLE_DTYPE_STRING) {
            print_strings(&out[i], count);
        } else {
            for (size_t k = 0; k < count && k < 8; k++) printf(" %.6g", element(&out[i], k));
        }
        printf("%s\n", count > 8 ? " ..." : "");
        mle_free(out[i].data);
    }
    for (size_t i = 0; i < n_in; i++) free(in[i].data);
    free(in);
    free(out);
    mle_session_free(session);
    mle_model_free(model);
    return 0;
}
