#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------- checks */

static int failures; /* updated atomically: checks run on many threads */

void tu_fail(const char *file, int line, const char *fmt, ...) {
    __atomic_add_fetch(&failures, 1, __ATOMIC_SEQ_CST);
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* One fprintf per line so threads do not interleave within it. */
    fprintf(stderr, "FAIL %s:%d: %s\n", file, line, msg);
}

int tu_failures(void) { return __atomic_load_n(&failures, __ATOMIC_SEQ_CST); }

int tu_finish(const char *test_name) {
    int n = tu_failures();
    if (n == 0) printf("%s: all checks passed\n", test_name);
    else printf("%s: %d check(s) FAILED\n", test_name, n);
    return n == 0 ? 0 : 1;
}

void tu_check_status(mle_status got, mle_status want, mle_error *err, int has_err, const char *expr, const char *file,
                     int line) {
    if (got != want) {
        tu_fail(file, line, "%s: got %s (%u) \"%s\", want %s (%u)", expr, mle_status_string(got), got,
                mle_error_message(err), mle_status_string(want), want);
    } else if (has_err && want != MLE_OK) {
        /* A failure with an err out-param must describe itself there. */
        if (err == NULL) tu_fail(file, line, "%s: returned %s but stored no mle_error", expr, mle_status_string(got));
        else if (mle_error_status(err) != got)
            tu_fail(file, line, "%s: mle_error carries %s, the call returned %s", expr,
                    mle_status_string(mle_error_status(err)), mle_status_string(got));
        else if (mle_error_message(err)[0] == '\0') tu_fail(file, line, "%s: empty error message", expr);
    } else if (has_err && want == MLE_OK && err != NULL) {
        tu_fail(file, line, "%s: succeeded but stored an mle_error", expr);
    }
    mle_error_free(err);
}

/* ------------------------------------------------------ scratch files */

char *tu_path(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *tu_tempdir(const char *prefix) {
    char *tmpl = tu_path(".", prefix);
    size_t n = strlen(tmpl) + 8;
    tmpl = realloc(tmpl, n);
    strcat(tmpl, "-XXXXXX");
    if (!mkdtemp(tmpl)) {
        perror("mkdtemp");
        exit(2);
    }
    return tmpl;
}

int tu_count_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

void tu_rmdir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char *p = tu_path(dir, e->d_name);
        unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(dir);
}

unsigned char *tu_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    *len = n;
    return buf;
}

int tu_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t put = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && put == len) ? 0 : -1;
}

/* ------------------------------------------------------ string tensors */

void tu_put_u64(void *p, uint64_t v) {
    unsigned char *b = p;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

uint64_t tu_get_u64(const void *p) {
    const unsigned char *b = p;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

void *tu_pack_strings(const char *const *strs, const size_t *lens, size_t n, size_t *nbytes) {
    if (n > (SIZE_MAX / 8) - 1) return NULL;
    size_t head = 8 * (n + 1), text = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(strs[i]);
        if (len > SIZE_MAX - head - text) return NULL;
        text += len;
    }
    unsigned char *out = malloc(head + text);
    if (!out) return NULL;
    size_t off = 0;
    tu_put_u64(out, 0);
    for (size_t i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(strs[i]);
        if (len) memcpy(out + head + off, strs[i], len);
        off += len;
        tu_put_u64(out + 8 * (i + 1), off);
    }
    *nbytes = head + text;
    return out;
}

int tu_strings_valid(const void *packed, size_t nbytes, size_t n) {
    if (n > (SIZE_MAX / 8) - 1 || nbytes < 8 * (n + 1)) return 0;
    const unsigned char *p = packed;
    size_t text = nbytes - 8 * (n + 1);
    if (tu_get_u64(p) != 0 || tu_get_u64(p + 8 * n) != text) return 0;
    for (size_t i = 0; i < n; i++)
        if (tu_get_u64(p + 8 * (i + 1)) < tu_get_u64(p + 8 * i)) return 0;
    return 1;
}

const char *tu_string_at(const void *packed, size_t n, size_t i, size_t *len) {
    const unsigned char *p = packed;
    uint64_t lo = tu_get_u64(p + 8 * i), hi = tu_get_u64(p + 8 * (i + 1));
    *len = (size_t)(hi - lo);
    return (const char *)p + 8 * (n + 1) + lo;
}

/* ---------------------------------------------------------- test MLP */

void mlp_make_weights(mlp_weights *w) {
    for (int i = 0; i < MLP_IN; i++)
        for (int j = 0; j < MLP_HIDDEN; j++) w->w1[i * MLP_HIDDEN + j] = 0.5f * sinf(0.7f * (float)i + 0.3f * (float)j + 0.1f);
    for (int j = 0; j < MLP_HIDDEN; j++) w->b1[j] = 0.05f * cosf((float)j);
    for (int j = 0; j < MLP_HIDDEN; j++)
        for (int k = 0; k < MLP_OUT; k++) w->w2[j * MLP_OUT + k] = 0.4f * cosf(0.5f * (float)j - 0.9f * (float)k);
    for (int k = 0; k < MLP_OUT; k++) w->b2[k] = 0.1f * (float)k - 0.1f;
}

void mlp_make_input(float *x, size_t rows, unsigned seed) {
    for (size_t r = 0; r < rows; r++)
        for (int c = 0; c < MLP_IN; c++) x[r * MLP_IN + c] = 2.0f * sinf(1.3f * (float)r + 0.7f * (float)c + (float)seed);
}

#define TRY(call) \
    do { \
        if ((st = (call)) != MLE_OK) goto fail; \
    } while (0)

mle_status mlp_builder(mle_builder **out, mle_error **err) {
    mlp_weights w; /* small: per call, so callers on any thread are safe */
    mlp_make_weights(&w);
    const int64_t x_shape[] = {-1, MLP_IN}, w1_shape[] = {MLP_IN, MLP_HIDDEN}, b1_shape[] = {MLP_HIDDEN},
                  w2_shape[] = {MLP_HIDDEN, MLP_OUT}, b2_shape[] = {MLP_OUT};
    const char *gemm1_in[] = {"X", "W1", "b1"}, *gemm1_out[] = {"h"};
    const char *relu_in[] = {"h"}, *relu_out[] = {"r"};
    const char *gemm2_in[] = {"r", "W2", "b2"}, *gemm2_out[] = {"logits"};
    const char *softmax_in[] = {"logits"}, *softmax_out[] = {"probs"};
    const char *argmax_in[] = {"probs"}, *argmax_out[] = {"label"};
    mle_builder *b = NULL;
    size_t node;
    mle_status st;
    TRY(mle_builder_new(&b, err));
    TRY(mle_builder_set_metadata_json(b, "{\"name\":\"test-mlp\",\"version\":\"1.2.3\"}", err));
    TRY(mle_builder_add_input(b, "X", MLE_DTYPE_FLOAT32, x_shape, 2, err));
    TRY(mle_builder_add_tensor(b, "W1", MLE_DTYPE_FLOAT32, w1_shape, 2, w.w1, sizeof w.w1, err));
    TRY(mle_builder_add_tensor(b, "b1", MLE_DTYPE_FLOAT32, b1_shape, 1, w.b1, sizeof w.b1, err));
    TRY(mle_builder_add_tensor(b, "W2", MLE_DTYPE_FLOAT32, w2_shape, 2, w.w2, sizeof w.w2, err));
    TRY(mle_builder_add_tensor(b, "b2", MLE_DTYPE_FLOAT32, b2_shape, 1, w.b2, sizeof w.b2, err));
    TRY(mle_builder_add_node(b, "Gemm", "fc1", gemm1_in, 3, gemm1_out, 1, NULL, err));
    TRY(mle_builder_add_node(b, "Relu", NULL, relu_in, 1, relu_out, 1, NULL, err));
    TRY(mle_builder_add_node(b, "Gemm", "fc2", gemm2_in, 3, gemm2_out, 1, NULL, err));
    TRY(mle_builder_add_node(b, "Softmax", NULL, softmax_in, 1, softmax_out, 1, &node, err));
    TRY(mle_builder_set_attr_int(b, node, "axis", -1, err));
    TRY(mle_builder_add_node(b, "ArgMax", NULL, argmax_in, 1, argmax_out, 1, &node, err));
    TRY(mle_builder_set_attr_int(b, node, "axis", 1, err));
    TRY(mle_builder_set_attr_int(b, node, "keepdims", 0, err));
    TRY(mle_builder_add_output(b, "probs", err));
    TRY(mle_builder_add_output(b, "label", err));
    *out = b;
    return MLE_OK;
fail:
    mle_builder_free(b);
    *out = NULL;
    return st;
}

mle_status mlp_save(const char *path, uint64_t *bytes_written, mle_error **err) {
    mle_builder *b;
    mle_status st = mlp_builder(&b, err);
    if (st != MLE_OK) return st;
    st = mle_builder_save(b, path, bytes_written, err);
    mle_builder_free(b);
    return st;
}

void mlp_reference(const float *x, size_t rows, float *probs, int64_t *labels) {
    mlp_weights w; /* small: per call, so callers on any thread are safe */
    mlp_make_weights(&w);
    for (size_t r = 0; r < rows; r++) {
        double h[MLP_HIDDEN], logit[MLP_OUT], p[MLP_OUT], max = -INFINITY, sum = 0;
        for (int j = 0; j < MLP_HIDDEN; j++) {
            h[j] = w.b1[j];
            for (int i = 0; i < MLP_IN; i++) h[j] += (double)x[r * MLP_IN + i] * w.w1[i * MLP_HIDDEN + j];
            if (h[j] < 0) h[j] = 0;
        }
        for (int k = 0; k < MLP_OUT; k++) {
            logit[k] = w.b2[k];
            for (int j = 0; j < MLP_HIDDEN; j++) logit[k] += h[j] * w.w2[j * MLP_OUT + k];
            if (logit[k] > max) max = logit[k];
        }
        int64_t best = 0;
        for (int k = 0; k < MLP_OUT; k++) sum += p[k] = exp(logit[k] - max);
        for (int k = 0; k < MLP_OUT; k++) {
            p[k] /= sum;
            if (p[k] > p[best]) best = k; /* first maximum, like ONNX ArgMax */
            if (probs) probs[r * MLP_OUT + k] = (float)p[k];
        }
        if (labels) labels[r] = best;
    }
}

void mlp_check_run(mle_session *session, const float *x, size_t rows, const char *what) {
    mle_tensor in = {.name = "X", .dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {(int64_t)rows, MLP_IN},
                     .data = (void *)x, .nbytes = rows * MLP_IN * sizeof(float)};
    mle_tensor out[2];
    memset(out, 0, sizeof out);
    mle_error *err = NULL;
    mle_status st = mle_session_run(session, &in, 1, out, 2, &err);
    CHECKF(st == MLE_OK, "%s: run: %s %s", what, mle_status_string(st), mle_error_message(err));
    mle_error_free(err);
    if (st != MLE_OK) return;
    float *ref = malloc((rows + 1) * MLP_OUT * sizeof(float));
    int64_t *ref_labels = malloc((rows + 1) * sizeof(int64_t));
    mlp_reference(x, rows, ref, ref_labels);
    CHECKF(out[0].dtype == MLE_DTYPE_FLOAT32 && out[0].rank == 2 && out[0].shape[0] == (int64_t)rows &&
               out[0].shape[1] == MLP_OUT && out[0].nbytes == rows * MLP_OUT * sizeof(float),
           "%s: probs dtype/shape/nbytes", what);
    CHECKF(out[1].dtype == MLE_DTYPE_INT64 && out[1].rank == 1 && out[1].shape[0] == (int64_t)rows &&
               out[1].nbytes == rows * sizeof(int64_t),
           "%s: label dtype/shape/nbytes", what);
    const float *probs = out[0].data;
    const int64_t *labels = out[1].data;
    for (size_t i = 0; i < rows * MLP_OUT; i++)
        CHECKF(fabsf(probs[i] - ref[i]) <= 1e-5f, "%s: probs[%zu] = %g, reference %g", what, i, probs[i], ref[i]);
    for (size_t r = 0; r < rows; r++)
        CHECKF(labels[r] == ref_labels[r], "%s: label[%zu] = %lld, reference %lld", what, r, (long long)labels[r],
               (long long)ref_labels[r]);
    mle_free(out[0].data);
    mle_free(out[1].data);
    free(ref);
    free(ref_labels);
}
