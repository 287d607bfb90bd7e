/*
 * mlp_demo: builds a small MLP classifier with the MLE builder API, saves it,
 * writes an example batch as a NumPy .npy file, then opens the model, shows
 * its signature, classifies the batch and times open and run.
 *
 * Usage: mlp_demo MODEL.mle BATCH.npy
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mle.h"

#define N_FEATURES 8
#define HIDDEN1 32
#define HIDDEN2 16
#define N_CLASSES 3
#define BATCH 4

static const char *metadata_json =
    "{\"name\":\"mlp-demo\",\"version\":\"0.1.0\","
    "\"description\":\"A small MLP classifier: 8 features, two hidden ReLU layers (32, 16), 3 classes.\","
    "\"producer\":{\"name\":\"mle-demo\",\"version\":\"0.1.0\"}}";

static mle_error *err; /* details of the last failed call */

static void check(mle_status st, const char *what) {
    if (st == MLE_OK) return;
    fprintf(stderr, "mlp_demo: %s failed: %s\n", what, err ? mle_error_message(err) : mle_status_string(st));
    exit(1);
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts t[0..n) and returns the value at quantile q. */
static double quantile(double *t, size_t n, double q) {
    qsort(t, n, sizeof *t, cmp_double);
    return t[(size_t)(q * (double)(n - 1) + 0.5)];
}

/* Deterministic pseudo-random weights in [-scale, scale] (xorshift32). */
static void fill_random(float *w, size_t n, float scale, uint32_t *state) {
    for (size_t i = 0; i < n; i++) {
        *state ^= *state << 13, *state ^= *state >> 17, *state ^= *state << 5;
        w[i] = scale * ((float)(*state >> 8) / (float)(1 << 24) * 2.0f - 1.0f);
    }
}

/* Adds a dense layer out = in · W + b (Gemm), optionally followed by Relu. */
static void add_dense(mle_builder *b, int layer, const char *in, const char *out, int n_in, int n_out, int relu,
                      uint32_t *rng) {
    char w_name[16], b_name[16], gemm_out[32];
    snprintf(w_name, sizeof w_name, "W%d", layer);
    snprintf(b_name, sizeof b_name, "b%d", layer);
    snprintf(gemm_out, sizeof gemm_out, "%s_pre", out);
    float *w = malloc((size_t)n_in * (size_t)n_out * sizeof *w), *bias = malloc((size_t)n_out * sizeof *bias);
    fill_random(w, (size_t)n_in * (size_t)n_out, sqrtf(6.0f / (float)n_in), rng); /* He-uniform */
    fill_random(bias, (size_t)n_out, 0.1f, rng);
    const int64_t w_shape[] = {n_in, n_out}, b_shape[] = {n_out};
    check(mle_builder_add_tensor(b, w_name, MLE_DTYPE_FLOAT32, w_shape, 2, w, (size_t)n_in * (size_t)n_out * sizeof *w,
                                 &err),
          "add weights");
    check(mle_builder_add_tensor(b, b_name, MLE_DTYPE_FLOAT32, b_shape, 1, bias, (size_t)n_out * sizeof *bias, &err),
          "add bias");
    free(w);
    free(bias);
    const char *gemm_in[] = {in, w_name, b_name}, *gemm_outs[] = {relu ? gemm_out : out};
    check(mle_builder_add_node(b, "Gemm", NULL, gemm_in, 3, gemm_outs, 1, NULL, &err), "add Gemm");
    if (relu) {
        const char *relu_in[] = {gemm_out}, *relu_out[] = {out};
        check(mle_builder_add_node(b, "Relu", NULL, relu_in, 1, relu_out, 1, NULL, &err), "add Relu");
    }
}

static uint64_t build_and_save(const char *path, double *save_us) {
    mle_builder *b;
    uint32_t rng = 10u; /* a seed whose example batch shows all three classes */
    const int64_t in_shape[] = {-1, N_FEATURES};
    check(mle_builder_new(&b, &err), "mle_builder_new");
    check(mle_builder_set_metadata_json(b, metadata_json, &err), "set metadata");
    check(mle_builder_add_input(b, "features", MLE_DTYPE_FLOAT32, in_shape, 2, &err), "add input");
    add_dense(b, 1, "features", "hidden1", N_FEATURES, HIDDEN1, 1, &rng);
    add_dense(b, 2, "hidden1", "hidden2", HIDDEN1, HIDDEN2, 1, &rng);
    add_dense(b, 3, "hidden2", "logits", HIDDEN2, N_CLASSES, 0, &rng);
    const char *sm_in[] = {"logits"}, *sm_out[] = {"probabilities"}, *am_out[] = {"label"};
    size_t node;
    check(mle_builder_add_node(b, "Softmax", NULL, sm_in, 1, sm_out, 1, &node, &err), "add Softmax");
    check(mle_builder_set_attr_int(b, node, "axis", 1, &err), "set Softmax axis");
    check(mle_builder_add_node(b, "ArgMax", NULL, sm_out, 1, am_out, 1, &node, &err), "add ArgMax");
    check(mle_builder_set_attr_int(b, node, "axis", 1, &err), "set ArgMax axis");
    check(mle_builder_set_attr_int(b, node, "keepdims", 0, &err), "set ArgMax keepdims");
    check(mle_builder_add_output(b, "probabilities", &err), "add output");
    check(mle_builder_add_output(b, "label", &err), "add output");
    uint64_t written = 0;
    double t0 = now_us();
    check(mle_builder_save(b, path, &written, &err), "mle_builder_save");
    *save_us = now_us() - t0;
    mle_builder_free(b);
    return written;
}

/* Writes rows x cols float32 as a NumPy .npy file (format 1.0): magic,
 * version, little-endian header length, then a Python dict literal padded
 * with spaces and ended by '\n' so that the data starts 64-byte aligned. */
static void write_npy(const char *path, const float *x, int rows, int cols) {
    char header[256];
    int n = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", rows,
                     cols);
    size_t prefix = 10; /* magic (6) + version (2) + header length (2) */
    size_t total = (prefix + (size_t)n + 1 + 63) / 64 * 64;
    size_t hlen = total - prefix;
    memset(header + n, ' ', hlen - (size_t)n - 1);
    header[hlen - 1] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(hlen & 0xff),
                             (unsigned char)(hlen >> 8)};
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    fwrite(pre, 1, sizeof pre, f);
    fwrite(header, 1, hlen, f);
    for (int i = 0; i < rows * cols; i++) { /* '<f4': little-endian whatever the host */
        uint32_t u;
        memcpy(&u, &x[i], 4);
        unsigned char le[4] = {(unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
                               (unsigned char)(u >> 24)};
        fwrite(le, 1, 4, f);
    }
    if (fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static const char *dtype_name(mle_dtype d) {
    switch (d) {
    case MLE_DTYPE_FLOAT32: return "float32";
    case MLE_DTYPE_FLOAT64: return "float64";
    case MLE_DTYPE_INT64: return "int64";
    case MLE_DTYPE_INT32: return "int32";
    default: return "other";
    }
}

static void print_io(mle_model *m, int outputs) {
    size_t n;
    check(outputs ? mle_model_output_count(m, &n) : mle_model_input_count(m, &n), "count");
    for (size_t i = 0; i < n; i++) {
        mle_io_info info = {.struct_size = sizeof info};
        check(outputs ? mle_model_output_info(m, i, &info, &err) : mle_model_input_info(m, i, &info, &err), "info");
        printf("  %-7s %-14s %s [", outputs ? "output" : "input", info.name, dtype_name(info.dtype));
        for (int d = 0; d < info.rank; d++) {
            if (info.shape[d] < 0) printf("%sN", d ? ", " : "");
            else printf("%s%lld", d ? ", " : "", (long long)info.shape[d]);
        }
        printf("]\n");
    }
}

/* Runs rows of x into caller buffers (no allocation once warm). */
static void run(mle_session *s, const float *x, int rows, float *probs, int64_t *labels) {
    mle_tensor in = {.name = "features", .dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {rows, N_FEATURES},
                     .data = (void *)x, .nbytes = (size_t)rows * N_FEATURES * sizeof(float)};
    mle_tensor out[2] = {{.data = probs, .nbytes = (size_t)rows * N_CLASSES * sizeof(float)},
                         {.data = labels, .nbytes = (size_t)rows * sizeof(int64_t)}};
    check(mle_session_run(s, &in, 1, out, 2, &err), "mle_session_run");
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL.mle BATCH.npy\n", argv[0]);
        return 2;
    }
    const char *model_path = argv[1], *npy_path = argv[2];
    printf("MLE %s (ABI %u)\n", mle_version(), mle_abi_version());

    double save_us;
    uint64_t size = build_and_save(model_path, &save_us);
    printf("built %s: %llu bytes, saved in %.0f us\n", model_path, (unsigned long long)size, save_us);

    float x[BATCH * N_FEATURES];
    for (int r = 0; r < BATCH; r++)
        for (int c = 0; c < N_FEATURES; c++) x[r * N_FEATURES + c] = sinf(0.9f * (float)r + 0.4f * (float)c) * 1.5f;
    write_npy(npy_path, x, BATCH, N_FEATURES);
    printf("wrote %s: float32 (%d, %d)\n\n", npy_path, BATCH, N_FEATURES);

    mle_model *m;
    mle_session *s;
    check(mle_model_open(model_path, NULL, &m, &err), "mle_model_open");
    check(mle_session_new(m, &s, &err), "mle_session_new");
    printf("signature (N = rows, chosen per run):\n");
    print_io(m, 0);
    print_io(m, 1);

    float probs[BATCH * N_CLASSES];
    int64_t labels[BATCH];
    run(s, x, BATCH, probs, labels);
    printf("\nbatch of %d:\n  row  probabilities           label\n", BATCH);
    for (int r = 0; r < BATCH; r++) {
        printf("  %3d ", r);
        for (int k = 0; k < N_CLASSES; k++) printf(" %.4f", probs[r * N_CLASSES + k]);
        printf("   %lld\n", (long long)labels[r]);
    }

    enum { OPENS = 100, RUNS = 10000, BATCH_RUNS = 1000 };
    static double t[RUNS];
    for (int i = 0; i < OPENS; i++) {
        mle_model *m2;
        double t0 = now_us();
        check(mle_model_open(model_path, NULL, &m2, &err), "mle_model_open");
        mle_model_free(m2);
        t[i] = now_us() - t0;
    }
    double open_med = quantile(t, OPENS, 0.5);
    run(s, x, 1, probs, labels); /* warm the 1-row plan */
    for (int i = 0; i < RUNS; i++) {
        double t0 = now_us();
        run(s, x, 1, probs, labels);
        t[i] = now_us() - t0;
    }
    double run_med = quantile(t, RUNS, 0.5), run_p99 = quantile(t, RUNS, 0.99);
    for (int i = 0; i < BATCH_RUNS; i++) {
        double t0 = now_us();
        run(s, x, BATCH, probs, labels);
        t[i] = now_us() - t0;
    }
    double batch_med = quantile(t, BATCH_RUNS, 0.5);
    printf("\ntimings:\n");
    printf("  builder save          %8.1f us\n", save_us);
    printf("  open + free           %8.1f us  (median of %d)\n", open_med, OPENS);
    printf("  run, 1 row            %8.1f us  (median of %d; p99 %.1f us)\n", run_med, RUNS, run_p99);
    printf("  run, %d rows           %8.1f us  (median of %d)\n", BATCH, batch_med, BATCH_RUNS);

    check(mle_session_free(s), "mle_session_free");
    check(mle_model_free(m), "mle_model_free");
    return 0;
}
