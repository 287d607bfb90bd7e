/*
 * test_api: the documented behaviour of every function in mle.h — results
 * against a naive C reference, and the exact status of each error case.
 */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char *dir;        /* scratch directory of this run */
static char *mlp_path;   /* the test MLP, saved by test_build_save */

static mle_model *open_with(const char *path, const mle_open_options *opts) {
    mle_model *m = NULL;
    mle_error *err = NULL;
    CHECK_ST(mle_model_open(path, opts, &m, &err), MLE_OK, err);
    return m;
}

static mle_session *new_session(mle_model *m) {
    mle_session *s = NULL;
    mle_error *err = NULL;
    CHECK_ST(mle_session_new(m, &s, &err), MLE_OK, err);
    return s;
}

/* ------------------------------------------------------- build and open */

static void test_build_save(void) {
    mle_error *err = NULL;
    uint64_t written = 0;
    CHECK_ST(mlp_save(mlp_path, &written, &err), MLE_OK, err);
    struct stat sb;
    CHECK(stat(mlp_path, &sb) == 0);
    CHECKF(written > 0 && (uint64_t)sb.st_size == written, "bytes_written %llu, file size %lld",
           (unsigned long long)written, (long long)sb.st_size);
    /* Saving again replaces the file atomically and leaves no temp files. */
    CHECK_ST(mlp_save(mlp_path, NULL, &err), MLE_OK, err);
    CHECK(tu_count_entries(dir) == 1);

    /* Without the fsyncs: the same bytes, atomically; unknown flags refused
     * before anything is written. */
    mle_builder *b = NULL;
    CHECK_ST(mlp_builder(&b, &err), MLE_OK, err);
    char *fast = tu_path(dir, "nosync.mle");
    uint64_t fast_written = 0;
    CHECK_ST(mle_builder_save_flags(b, fast, MLE_SAVE_NO_SYNC, &fast_written, &err), MLE_OK, err);
    CHECKF(fast_written == written, "unsynced save wrote %llu bytes, synced %llu", (unsigned long long)fast_written,
           (unsigned long long)written);
    mle_model *m = NULL;
    CHECK_ST(mle_model_open(fast, NULL, &m, &err), MLE_OK, err);
    CHECK_ST0(mle_model_free(m), MLE_OK);
    CHECK(unlink(fast) == 0);
    CHECK_ST(mle_builder_save_flags(b, fast, 2u, NULL, &err), MLE_ERR_INVALID_VALUE, err);
    CHECK(access(fast, F_OK) != 0 && tu_count_entries(dir) == 1);
    CHECK_ST0(mle_builder_free(b), MLE_OK);
    free(fast);
}

/* Opens the MLP by mapping, by reading, and from memory (all verified), and
 * from serialize()'s bytes; each model must compute the reference. */
static void test_open_modes(void) {
    float x[5 * MLP_IN];
    mlp_make_input(x, 5, 1);
    mle_error *err = NULL;
    for (int mode = 0; mode < 3; mode++) {
        mle_open_options o = mle_default_open_options();
        o.verify = 1;
        o.read_all = mode == 1;
        mle_model *m = NULL;
        if (mode < 2) {
            m = open_with(mlp_path, &o);
        } else {
            size_t len;
            unsigned char *bytes = tu_read_file(mlp_path, &len);
            CHECK(bytes != NULL);
            CHECK_ST(mle_model_open_memory(bytes, len, &o, &m, &err), MLE_OK, err);
            memset(bytes, 0, len); /* the library must have copied them */
            free(bytes);
        }
        if (!m) continue;
        mle_session *s = new_session(m);
        const char *what[] = {"mmap+verify", "read_all+verify", "open_memory+verify"};
        mlp_check_run(s, x, 5, what[mode]);
        CHECK_ST0(mle_session_free(s), MLE_OK);
        CHECK_ST0(mle_model_free(m), MLE_OK);
    }

    mle_model *m = open_with(mlp_path, NULL); /* NULL options: defaults */
    CHECK_ST0(mle_model_free(m), MLE_OK);

    mle_builder *b = NULL;
    void *data = NULL;
    size_t len = 0;
    CHECK_ST(mlp_builder(&b, &err), MLE_OK, err);
    CHECK_ST(mle_builder_serialize(b, &data, &len, &err), MLE_OK, err);
    CHECK(data != NULL && len > 0);
    CHECK_ST(mle_model_open_memory(data, len, NULL, &m, &err), MLE_OK, err);
    mle_free(data);
    mle_session *s = new_session(m);
    mlp_check_run(s, x, 5, "serialize+open_memory");
    CHECK_ST0(mle_session_free(s), MLE_OK);
    CHECK_ST0(mle_model_free(m), MLE_OK);
    CHECK_ST0(mle_builder_free(b), MLE_OK);
}

static void test_metadata(mle_model *m) {
    mle_error *err = NULL;
    size_t len = 0, len2 = 0;
    CHECK_ST(mle_model_metadata(m, NULL, 0, &len, &err), MLE_OK, err);
    CHECK(len > 2);
    char *buf = malloc(len + 1);
    CHECK_ST(mle_model_metadata(m, buf, len, &len2, &err), MLE_ERR_BUFFER_TOO_SMALL, err); /* no room for NUL */
    CHECK(len2 == len);
    CHECK_ST(mle_model_metadata(m, buf, 1, &len2, &err), MLE_ERR_BUFFER_TOO_SMALL, err);
    CHECK_ST(mle_model_metadata(m, buf, len + 1, &len2, &err), MLE_OK, err);
    CHECK(len2 == len && buf[len] == '\0' && strlen(buf) == len);
    CHECKF(buf[0] == '{' && strstr(buf, "test-mlp") && strstr(buf, "1.2.3") && strstr(buf, "\"inputs\""),
           "metadata JSON lacks what the builder stored: %s", buf);
    free(buf);
    CHECK_ST(mle_model_metadata(m, NULL, 0, NULL, &err), MLE_ERR_INVALID_NULL, err);
}

static void check_info(const mle_io_info *info, const char *name, mle_dtype dtype, int32_t rank, int64_t d0,
                       int64_t d1) {
    CHECKF(info->name && strcmp(info->name, name) == 0, "io name %s, want %s", info->name, name);
    CHECKF(info->dtype == dtype && info->rank == rank && info->shape[0] == d0 && (rank < 2 || info->shape[1] == d1),
           "%s: dtype %d rank %d shape [%lld %lld]", name, info->dtype, info->rank, (long long)info->shape[0],
           (long long)info->shape[1]);
}

static void test_io_info(mle_model *m) {
    mle_error *err = NULL;
    size_t n = 99;
    CHECK_ST0(mle_model_input_count(m, &n), MLE_OK);
    CHECK(n == 1);
    CHECK_ST0(mle_model_output_count(m, &n), MLE_OK);
    CHECK(n == 2);
    mle_io_info info = {.struct_size = sizeof info};
    CHECK_ST(mle_model_input_info(m, 0, &info, &err), MLE_OK, err);
    check_info(&info, "X", MLE_DTYPE_FLOAT32, 2, -1, MLP_IN);
    CHECK_ST(mle_model_output_info(m, 0, &info, &err), MLE_OK, err);
    check_info(&info, "probs", MLE_DTYPE_FLOAT32, 2, -1, MLP_OUT);
    CHECK_ST(mle_model_output_info(m, 1, &info, &err), MLE_OK, err);
    check_info(&info, "label", MLE_DTYPE_INT64, 1, -1, 0);
    CHECK_ST(mle_model_input_info(m, 1, &info, &err), MLE_ERR_INVALID_VALUE, err);
    CHECK_ST(mle_model_output_info(m, 2, &info, &err), MLE_ERR_INVALID_VALUE, err);
    info.struct_size = sizeof info - 1;
    CHECK_ST(mle_model_input_info(m, 0, &info, &err), MLE_ERR_INVALID_OPTIONS, err);
    CHECK_ST(mle_model_input_info(m, 0, NULL, &err), MLE_ERR_INVALID_NULL, err);
}

/* ------------------------------------------------------------------ runs */

static void test_run(mle_model *m) {
    mle_session *s = new_session(m);
    const size_t batches[] = {1, 7, 0, 7, 1}; /* repeats hit the cached plans */
    float x[7 * MLP_IN], ref[7 * MLP_OUT], probs[7 * MLP_OUT];
    int64_t ref_labels[7], labels[7];
    mle_error *err = NULL;
    for (size_t t = 0; t < sizeof batches / sizeof batches[0]; t++) {
        size_t rows = batches[t];
        char what[64];
        mlp_make_input(x, rows, (unsigned)t);
        snprintf(what, sizeof what, "library-allocated outputs, %zu rows", rows);
        mlp_check_run(s, x, rows, what);

        /* Caller buffers, bigger than needed; inputs and outputs by position. */
        mle_tensor in = {.dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {(int64_t)rows, MLP_IN}, .data = x,
                         .nbytes = rows * MLP_IN * sizeof(float)};
        mle_tensor out[2] = {{.data = probs, .nbytes = sizeof probs}, {.data = labels, .nbytes = sizeof labels}};
        CHECK_ST(mle_session_run(s, &in, 1, out, 2, &err), MLE_OK, err);
        mlp_reference(x, rows, ref, ref_labels);
        CHECKF(out[0].data == probs && out[1].data == labels, "%zu rows: caller buffers were replaced", rows);
        CHECKF(out[0].nbytes == rows * MLP_OUT * sizeof(float) && out[1].nbytes == rows * sizeof(int64_t),
               "%zu rows: nbytes %zu, %zu", rows, out[0].nbytes, out[1].nbytes);
        CHECKF(out[0].name && strcmp(out[0].name, "probs") == 0 && out[1].name && strcmp(out[1].name, "label") == 0,
               "%zu rows: output names not set", rows);
        CHECK(out[0].rank == 2 && out[0].shape[0] == (int64_t)rows && out[0].shape[1] == MLP_OUT);
        CHECK(out[1].dtype == MLE_DTYPE_INT64 && out[1].rank == 1 && out[1].shape[0] == (int64_t)rows);
        for (size_t i = 0; i < rows * MLP_OUT; i++)
            CHECKF(fabsf(probs[i] - ref[i]) <= 1e-5f, "caller buffers, %zu rows: probs[%zu] %g vs %g", rows, i,
                   probs[i], ref[i]);
        for (size_t r = 0; r < rows; r++) CHECKF(labels[r] == ref_labels[r], "caller buffers: label[%zu]", r);
    }
    /* Zero rows with no data pointer at all. */
    mle_tensor in = {.name = "X", .dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {0, MLP_IN}};
    mle_tensor out[2] = {{.data = probs, .nbytes = 0}, {.data = labels, .nbytes = 0}};
    CHECK_ST(mle_session_run(s, &in, 1, out, 2, &err), MLE_OK, err);
    CHECK(out[0].nbytes == 0 && out[0].shape[0] == 0 && out[1].nbytes == 0);
    CHECK_ST0(mle_session_free(s), MLE_OK);
}

/* A two-input model; Add is commutative, so Sub is there to prove that
 * inputs given by name in another order reach the right graph input. */
static void test_names(void) {
    const int64_t shape[] = {-1, 3};
    const char *ab[] = {"A", "B"}, *sum[] = {"sum"}, *diff[] = {"diff"};
    mle_builder *b = NULL;
    mle_error *err = NULL;
    CHECK_ST(mle_builder_new(&b, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_input(b, "A", MLE_DTYPE_FLOAT32, shape, 2, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_input(b, "B", MLE_DTYPE_FLOAT32, shape, 2, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_node(b, "Add", NULL, ab, 2, sum, 1, NULL, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_node(b, "Sub", NULL, ab, 2, diff, 1, NULL, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_output(b, "sum", &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_output(b, "diff", &err), MLE_OK, err);
    char *path = tu_path(dir, "ab.mle");
    CHECK_ST(mle_builder_save(b, path, NULL, &err), MLE_OK, err);
    CHECK_ST0(mle_builder_free(b), MLE_OK);
    mle_model *m = open_with(path, NULL);
    free(path);
    mle_session *s = new_session(m);

    float a[6] = {1, 2, 3, 4, 5, 6}, bv[6] = {10, 20, 30, 40, 50, 60}, o_sum[6], o_diff[6];
    mle_tensor in[2] = {{.name = "B", .dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {2, 3}, .data = bv, .nbytes = 24},
                        {.name = "A", .dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {2, 3}, .data = a, .nbytes = 24}};
    mle_tensor out[2] = {{.name = "diff", .data = o_diff, .nbytes = 24}, {.name = "sum", .data = o_sum, .nbytes = 24}};
    CHECK_ST(mle_session_run(s, in, 2, out, 2, &err), MLE_OK, err);
    for (int i = 0; i < 6; i++) {
        CHECKF(o_sum[i] == a[i] + bv[i], "sum[%d] = %g", i, o_sum[i]);
        CHECKF(o_diff[i] == a[i] - bv[i], "inputs by name: diff[%d] = %g, want %g", i, o_diff[i], a[i] - bv[i]);
    }
    CHECK(strcmp(out[0].name, "diff") == 0 && strcmp(out[1].name, "sum") == 0);

    in[1].name = "B"; /* the same input twice */
    CHECK_ST(mle_session_run(s, in, 2, out, 2, &err), MLE_ERR_INVALID_VALUE, err);
    in[1].name = "A";
    out[0].name = "nope";
    CHECK_ST(mle_session_run(s, in, 2, out, 2, &err), MLE_ERR_INVALID_NAME, err);
    CHECK_ST0(mle_session_free(s), MLE_OK);
    CHECK_ST0(mle_model_free(m), MLE_OK);
}

static void test_run_errors(mle_model *m) {
    mle_session *s = new_session(m);
    mle_error *err = NULL;
    float x[2 * MLP_IN] = {0}, probs[2 * MLP_OUT];
    double xd[2 * MLP_IN] = {0};
    int64_t labels[2];
    const mle_tensor good = {.name = "X", .dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {2, MLP_IN}, .data = x,
                             .nbytes = sizeof x};
    mle_tensor in[2] = {good, good}, out[2];

#define RUN_EXPECT(n_in, n_out, want) \
    do { \
        memset(out, 0, sizeof out); \
        CHECK_ST(mle_session_run(s, in, n_in, out, n_out, &err), want, err); \
        CHECK(out[0].data == NULL && out[1].data == NULL); /* freed again on failure */ \
        in[0] = good; \
    } while (0)

    in[0].dtype = MLE_DTYPE_FLOAT64, in[0].data = xd, in[0].nbytes = sizeof xd;
    RUN_EXPECT(1, 2, MLE_ERR_DTYPE);
    in[0].shape[1] = MLP_IN + 1, in[0].nbytes = 2 * (MLP_IN + 1) * sizeof(float);
    RUN_EXPECT(1, 2, MLE_ERR_SHAPE);
    in[0].rank = 1, in[0].shape[0] = 2 * MLP_IN;
    RUN_EXPECT(1, 2, MLE_ERR_SHAPE);
    in[0].shape[0] = -1;
    RUN_EXPECT(1, 2, MLE_ERR_SHAPE);
    in[0].nbytes = sizeof x - 1;
    RUN_EXPECT(1, 2, MLE_ERR_INVALID_VALUE);
    in[0].nbytes = sizeof x + sizeof(float);
    RUN_EXPECT(1, 2, MLE_ERR_INVALID_VALUE);
    in[0].name = "Y";
    RUN_EXPECT(1, 2, MLE_ERR_INVALID_NAME);
    in[0].data = NULL;
    RUN_EXPECT(1, 2, MLE_ERR_INVALID_NULL);
    RUN_EXPECT(2, 2, MLE_ERR_INVALID_VALUE);
    RUN_EXPECT(0, 2, MLE_ERR_INVALID_VALUE);
    RUN_EXPECT(1, 0, MLE_ERR_INVALID_VALUE);
    RUN_EXPECT(1, 3, MLE_ERR_INVALID_VALUE);
#undef RUN_EXPECT
    CHECK_ST(mle_session_run(s, NULL, 1, out, 2, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST(mle_session_run(s, in, 1, NULL, 2, &err), MLE_ERR_INVALID_NULL, err);

    /* A subset of the outputs, by name: only "label" is computed. */
    {
        float xs[2 * MLP_IN] = {0.5f, -1.0f, 2.0f, 0.25f, -0.5f, 1.5f, 0.0f, 3.0f};
        mle_tensor xin = {.dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {2, MLP_IN}, .data = xs, .nbytes = sizeof xs};
        int64_t only[2] = {-7, -7};
        mle_tensor one = {.name = "label", .data = only, .nbytes = sizeof only};
        CHECK_ST(mle_session_run(s, &xin, 1, &one, 1, &err), MLE_OK, err);
        mle_tensor both[2] = {{.data = NULL}, {.data = NULL}};
        CHECK_ST(mle_session_run(s, &xin, 1, both, 2, &err), MLE_OK, err);
        CHECK(one.dtype == MLE_DTYPE_INT64 && one.rank == 1 && one.shape[0] == 2 && strcmp(one.name, "label") == 0);
        CHECK(both[1].data != NULL && memcmp(only, both[1].data, sizeof only) == 0);
        mle_tensor bad = {.name = "nope", .data = only, .nbytes = sizeof only};
        CHECK_ST(mle_session_run(s, &xin, 1, &bad, 1, &err), MLE_ERR_INVALID_NAME, err);
        mle_free(both[0].data);
        mle_free(both[1].data);
    }

    /* Output buffers too small: the sizes needed come back. */
    mle_tensor small[2] = {{.data = probs, .nbytes = 8}, {.data = labels, .nbytes = sizeof labels}};
    CHECK_ST(mle_session_run(s, in, 1, small, 2, &err), MLE_ERR_BUFFER_TOO_SMALL, err);
    CHECKF(small[0].nbytes == 2 * MLP_OUT * sizeof(float), "needed nbytes reported as %zu", small[0].nbytes);
    CHECK(small[0].dtype == MLE_DTYPE_FLOAT32 && small[0].rank == 2 && small[0].shape[0] == 2 &&
          small[0].shape[1] == MLP_OUT);
    CHECK(small[0].data == probs && small[1].data == labels);
    { /* regression: with several outputs too small, only the first gets the size it needs */
        mle_session *fresh = new_session(m); /* no earlier run's sizes to fall back on */
        small[0].nbytes = 0, small[1].nbytes = 1;
        CHECK_ST(mle_session_run(fresh, in, 1, small, 2, &err), MLE_ERR_BUFFER_TOO_SMALL, err);
        CHECK(small[0].nbytes == 2 * MLP_OUT * sizeof(float) && small[1].nbytes == 2 * sizeof(int64_t));
        CHECK(small[1].dtype == MLE_DTYPE_INT64 && small[1].rank == 1 && small[1].shape[0] == 2);
        mle_session_free(fresh);
    }
    small[1].nbytes = sizeof labels;
    /* One buffer too small, the other output library-allocated: the header
     * says outputs the library allocated are freed again when a run fails. */
    { /* regression: MLE_ERR_BUFFER_TOO_SMALL hands back (leaks) library-allocated outputs */
        mle_tensor mixed[2] = {{.data = probs, .nbytes = 8}, {.data = NULL}};
        CHECK_ST(mle_session_run(s, in, 1, mixed, 2, &err), MLE_ERR_BUFFER_TOO_SMALL, err);
        CHECK(mixed[1].data == NULL);
        mle_free(mixed[1].data);
    }
    /* Retrying with the reported sizes works: errors leave the session usable. */
    CHECK_ST(mle_session_run(s, in, 1, small, 2, &err), MLE_OK, err);
    mlp_check_run(s, x, 2, "after errors");
    CHECK_ST0(mle_session_free(s), MLE_OK);
}

/* --------------------------------------------------------- open errors */

static void expect_open(const char *path, const mle_open_options *o, mle_status want, const char *what) {
    mle_model *m = (mle_model *)0x1; /* must be left alone or cleared, never used */
    mle_error *err = NULL;
    mle_status st = mle_model_open(path, o, &m, &err);
    CHECKF(st == want, "%s: got %s \"%s\", want %s", what, mle_status_string(st), mle_error_message(err),
           mle_status_string(want));
    CHECKF(st == MLE_OK || (err && mle_error_status(err) == st && *mle_error_message(err)),
           "%s: no matching mle_error", what);
    mle_error_free(err);
    if (st == MLE_OK) CHECK_ST0(mle_model_free(m), MLE_OK);
}

static void expect_open_memory(const void *data, size_t len, mle_status want, const char *what) {
    mle_model *m = NULL;
    mle_error *err = NULL;
    mle_status st = mle_model_open_memory(data, len, NULL, &m, &err);
    CHECKF(st == want, "%s (open_memory): got %s \"%s\", want %s", what, mle_status_string(st),
           mle_error_message(err), mle_status_string(want));
    mle_error_free(err);
    if (st == MLE_OK) mle_model_free(m);
}

static void test_open_errors(void) {
    mle_open_options o = mle_default_open_options();
    char *path = tu_path(dir, "no-such-file.mle");
    expect_open(path, NULL, MLE_ERR_IO_OPEN, "missing file");
    free(path);

    unsigned char garbage[4096];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (unsigned char)(i * 7 + 3);
    path = tu_path(dir, "garbage.mle");
    CHECK(tu_write_file(path, garbage, sizeof garbage) == 0);
    expect_open(path, NULL, MLE_ERR_FORMAT_BAD_MAGIC, "garbage file");
    expect_open_memory(garbage, sizeof garbage, MLE_ERR_FORMAT_BAD_MAGIC, "garbage");
    free(path);

    size_t len;
    unsigned char *bytes = tu_read_file(mlp_path, &len);
    CHECK(bytes != NULL && len > 200);
    path = tu_path(dir, "truncated.mle");
    const size_t cuts[] = {len - 1, len / 2, 100};
    for (int i = 0; i < 3; i++) {
        char what[64];
        snprintf(what, sizeof what, "truncated to %zu of %zu bytes", cuts[i], len);
        CHECK(tu_write_file(path, bytes, cuts[i]) == 0);
        expect_open(path, NULL, MLE_ERR_FORMAT_TRUNCATED, what);
        o.read_all = 1;
        expect_open(path, &o, MLE_ERR_FORMAT_TRUNCATED, what);
        o.read_all = 0;
        expect_open_memory(bytes, cuts[i], MLE_ERR_FORMAT_TRUNCATED, what);
    }
    free(path);

    /* Flip one bit inside W1's stored bytes (found by content). */
    mlp_weights w;
    mlp_make_weights(&w);
    unsigned char *w1 = memmem(bytes, len, w.w1, sizeof w.w1);
    CHECK(w1 != NULL);
    if (w1) {
        w1[sizeof w.w1 / 2] ^= 0x10;
        path = tu_path(dir, "flipped.mle");
        CHECK(tu_write_file(path, bytes, len) == 0);
        o.verify = 1;
        expect_open(path, &o, MLE_ERR_CHECKSUM_TENSOR, "flipped weight byte, verify");
        o.read_all = 1;
        expect_open(path, &o, MLE_ERR_CHECKSUM_TENSOR, "flipped weight byte, verify+read_all");
        o.verify = 0, o.read_all = 0;
        expect_open(path, &o, MLE_OK, "flipped weight byte, no verify");
        free(path);
    }
    free(bytes);

    o = mle_default_open_options();
    o.device = MLE_DEVICE_CUDA;
    expect_open(mlp_path, &o, MLE_ERR_UNSUPPORTED_DEVICE, "CUDA device");
    o = mle_default_open_options();
    o.struct_size = sizeof o - 1;
    expect_open(mlp_path, &o, MLE_ERR_INVALID_OPTIONS, "struct_size too small");
    o.struct_size = 0;
    expect_open(mlp_path, &o, MLE_ERR_INVALID_OPTIONS, "struct_size 0");
    o = mle_default_open_options();
    o.device = 42;
    expect_open(mlp_path, &o, MLE_ERR_INVALID_OPTIONS, "unknown device");
    o = mle_default_open_options();
    o.threads = -1;
    expect_open(mlp_path, &o, MLE_ERR_INVALID_OPTIONS, "negative threads");
}

/* ------------------------------------------------------- builder errors */

/* Saving must fail with want and leave its directory empty. */
static void expect_save_fails(mle_builder *b, mle_status want, const char *what) {
    char *d = tu_tempdir("save");
    char *path = tu_path(d, "model.mle");
    uint64_t written = 12345;
    mle_error *err = NULL;
    mle_status st = mle_builder_save(b, path, &written, &err);
    CHECKF(st == want, "%s: save gave %s \"%s\", want %s", what, mle_status_string(st), mle_error_message(err),
           mle_status_string(want));
    CHECKF(err && mle_error_status(err) == st, "%s: no matching mle_error", what);
    mle_error_free(err);
    CHECKF(access(path, F_OK) != 0, "%s: failed save created %s", what, path);
    CHECKF(tu_count_entries(d) == 0, "%s: failed save left %d file(s) in %s", what, tu_count_entries(d), d);
    void *data = NULL;
    size_t len = 0;
    CHECK_ST(mle_builder_serialize(b, &data, &len, &err), want, err);
    mle_free(data);
    tu_rmdir(d);
    free(path);
    free(d);
}

/* A builder with input X [-1, 4], one node and output "Y". */
static mle_builder *one_node(const char *op, const char *input, size_t *node) {
    const int64_t shape[] = {-1, MLP_IN};
    const char *in[] = {input}, *out[] = {"Y"};
    mle_builder *b = NULL;
    mle_error *err = NULL;
    CHECK_ST(mle_builder_new(&b, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_input(b, "X", MLE_DTYPE_FLOAT32, shape, 2, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_node(b, op, NULL, in, 1, out, 1, node, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_output(b, "Y", &err), MLE_OK, err);
    return b;
}

static void test_builder_errors(void) {
    mle_error *err = NULL;
    size_t node;
    mle_builder *b = one_node("NoSuchOp", "X", NULL);
    expect_save_fails(b, MLE_ERR_GRAPH_UNKNOWN_OP, "unknown op");
    mle_builder_free(b);

    b = one_node("Relu", "not_defined", NULL);
    expect_save_fails(b, MLE_ERR_GRAPH_MISSING_TENSOR, "missing tensor");
    mle_builder_free(b);

    /* Gemm X·W with transA given as a float. */
    const int64_t w_shape[] = {MLP_IN, 2};
    const float wv[MLP_IN * 2] = {0};
    const char *in[] = {"X", "W"}, *out[] = {"Z"};
    b = one_node("Relu", "X", NULL);
    CHECK_ST(mle_builder_add_tensor(b, "W", MLE_DTYPE_FLOAT32, w_shape, 2, wv, sizeof wv, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_node(b, "Gemm", NULL, in, 2, out, 1, &node, &err), MLE_OK, err);
    CHECK_ST(mle_builder_set_attr_float(b, node, "transA", 0.0, &err), MLE_OK, err); /* checked at save */
    CHECK_ST(mle_builder_add_output(b, "Z", &err), MLE_OK, err);
    expect_save_fails(b, MLE_ERR_GRAPH_ATTRIBUTE, "Gemm transA as float");
    mle_builder_free(b);

    /* A valid model into a directory that does not exist. */
    b = one_node("Relu", "X", NULL);
    char *path = tu_path(dir, "no-such-dir/model.mle");
    CHECK_ST(mle_builder_save(b, path, NULL, &err), MLE_ERR_IO_WRITE, err);
    free(path);
    mle_builder_free(b);
}

/* ------------------------------------------------------- handle abuse */

static void test_handles(void) {
    mle_error *err = NULL;
    size_t n;
    mle_io_info info = {.struct_size = sizeof info};
    mle_tensor t[2] = {{0}};
    int on_stack = 0;
    const int64_t shape[] = {1};
    /* NULL, forged small value, a stack address, and a value shaped like a
     * model handle (kind 1) with an impossible slot. */
    void *bogus[] = {NULL, (void *)0x1234, &on_stack, (void *)(uintptr_t)0x01000005000f4240ull};
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        mle_model *m = bogus[i];
        mle_session *s = bogus[i];
        mle_builder *b = bogus[i];
        mle_session *s_out = NULL;
        CHECK_ST0(mle_model_free(m), MLE_ERR_BAD_HANDLE);
        CHECK_ST(mle_model_metadata(m, NULL, 0, &n, &err), MLE_ERR_BAD_HANDLE, err);
        CHECK_ST0(mle_model_input_count(m, &n), MLE_ERR_BAD_HANDLE);
        CHECK_ST0(mle_model_output_count(m, &n), MLE_ERR_BAD_HANDLE);
        CHECK_ST(mle_model_input_info(m, 0, &info, &err), MLE_ERR_BAD_HANDLE, err);
        CHECK_ST(mle_model_output_info(m, 0, &info, &err), MLE_ERR_BAD_HANDLE, err);
        CHECK_ST(mle_session_new(m, &s_out, &err), MLE_ERR_BAD_HANDLE, err);
        CHECK_ST0(mle_session_free(s), MLE_ERR_BAD_HANDLE);
        CHECK_ST(mle_session_run(s, t, 1, t + 1, 1, &err), MLE_ERR_BAD_HANDLE, err);
        CHECK_ST0(mle_builder_free(b), MLE_ERR_BAD_HANDLE);
        CHECK_ST(mle_builder_set_metadata_json(b, "{}", &err), MLE_ERR_BAD_HANDLE, err);
        CHECK_ST(mle_builder_add_input(b, "x", MLE_DTYPE_FLOAT32, shape, 1, &err), MLE_ERR_BAD_HANDLE, err);
        CHECK_ST(mle_builder_add_output(b, "x", &err), MLE_ERR_BAD_HANDLE, err);
        CHECK_ST(mle_builder_add_tensor(b, "w", MLE_DTYPE_FLOAT32, shape, 1, &on_stack, 4, &err), MLE_ERR_BAD_HANDLE,
                 err);
        CHECK_ST(mle_builder_set_attr_int(b, 0, "axis", 1, &err), MLE_ERR_BAD_HANDLE, err);
        CHECK_ST(mle_builder_save(b, "never.mle", NULL, &err), MLE_ERR_BAD_HANDLE, err);
    }

    /* Double free and use after free; the slot's next tenant keeps working. */
    mle_model *m = open_with(mlp_path, NULL);
    CHECK_ST0(mle_model_free(m), MLE_OK);
    CHECK_ST0(mle_model_free(m), MLE_ERR_BAD_HANDLE);
    CHECK_ST0(mle_model_input_count(m, &n), MLE_ERR_BAD_HANDLE);
    mle_session *s = NULL;
    CHECK_ST(mle_session_new(m, &s, &err), MLE_ERR_BAD_HANDLE, err);
    mle_model *m2 = open_with(mlp_path, NULL);
    CHECK_ST0(mle_model_input_count(m, &n), MLE_ERR_BAD_HANDLE);
    CHECK_ST0(mle_model_input_count(m2, &n), MLE_OK);

    s = new_session(m2);
    mle_builder *b = NULL;
    CHECK_ST(mle_builder_new(&b, &err), MLE_OK, err);
    /* Wrong-type handles are refused and leave the real object intact. */
    CHECK_ST0(mle_model_free((mle_model *)s), MLE_ERR_BAD_HANDLE);
    CHECK_ST0(mle_model_free((mle_model *)b), MLE_ERR_BAD_HANDLE);
    CHECK_ST0(mle_session_free((mle_session *)m2), MLE_ERR_BAD_HANDLE);
    CHECK_ST0(mle_builder_free((mle_builder *)m2), MLE_ERR_BAD_HANDLE);
    CHECK_ST(mle_session_run((mle_session *)m2, t, 1, t + 1, 2, &err), MLE_ERR_BAD_HANDLE, err);
    mle_session *s2 = NULL;
    CHECK_ST(mle_session_new((mle_model *)s, &s2, &err), MLE_ERR_BAD_HANDLE, err);
    CHECK_ST(mle_builder_add_output((mle_builder *)s, "x", &err), MLE_ERR_BAD_HANDLE, err);
    float x[MLP_IN];
    mlp_make_input(x, 1, 3);
    mlp_check_run(s, x, 1, "session after wrong-type abuse");

    CHECK_ST0(mle_session_free(s), MLE_OK);
    CHECK_ST0(mle_session_free(s), MLE_ERR_BAD_HANDLE);
    CHECK_ST(mle_session_run(s, t, 1, t + 1, 2, &err), MLE_ERR_BAD_HANDLE, err);
    CHECK_ST0(mle_builder_free(b), MLE_OK);
    CHECK_ST0(mle_builder_free(b), MLE_ERR_BAD_HANDLE);
    CHECK_ST(mle_builder_add_output(b, "x", &err), MLE_ERR_BAD_HANDLE, err);

    /* NULL out-parameters. */
    size_t len;
    void *data;
    CHECK_ST(mle_model_open(mlp_path, NULL, NULL, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST(mle_model_open(NULL, NULL, &m, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST(mle_model_open_memory("x", 1, NULL, NULL, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST(mle_model_open_memory(NULL, 10, NULL, &m, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST(mle_session_new(m2, NULL, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST0(mle_model_input_count(m2, NULL), MLE_ERR_INVALID_NULL);
    CHECK_ST0(mle_model_output_count(m2, NULL), MLE_ERR_INVALID_NULL);
    CHECK_ST(mle_builder_new(NULL, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST(mle_builder_new(&b, &err), MLE_OK, err);
    CHECK_ST(mle_builder_serialize(b, NULL, &len, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST(mle_builder_serialize(b, &data, NULL, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST(mle_builder_add_input(b, NULL, MLE_DTYPE_FLOAT32, shape, 1, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST(mle_builder_add_input(b, "x", MLE_DTYPE_FLOAT32, NULL, 1, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST(mle_builder_save(b, NULL, NULL, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST0(mle_builder_free(b), MLE_OK);
    CHECK_ST0(mle_model_free(m2), MLE_OK);
}

/* ------------------------------------------------------ status strings */

static void test_status_strings(void) {
#define S(code) {code, #code}
    static const struct {
        mle_status code;
        const char *name;
    } names[] = {
        S(MLE_OK), S(MLE_ERR_INVALID_ARGUMENT), S(MLE_ERR_BAD_HANDLE), S(MLE_ERR_IO), S(MLE_ERR_FORMAT),
        S(MLE_ERR_CHECKSUM), S(MLE_ERR_GRAPH), S(MLE_ERR_METADATA), S(MLE_ERR_UNSUPPORTED), S(MLE_ERR_SHAPE),
        S(MLE_ERR_DTYPE), S(MLE_ERR_BUFFER_TOO_SMALL), S(MLE_ERR_FORKED), S(MLE_ERR_NO_MEMORY), S(MLE_ERR_INTERNAL),
        S(MLE_ERR_BUSY), S(MLE_ERR_INVALID_NULL), S(MLE_ERR_INVALID_OPTIONS), S(MLE_ERR_INVALID_NAME),
        S(MLE_ERR_INVALID_VALUE), S(MLE_ERR_IO_OPEN), S(MLE_ERR_IO_READ), S(MLE_ERR_IO_MAP), S(MLE_ERR_IO_FAULT),
        S(MLE_ERR_IO_WRITE), S(MLE_ERR_FORMAT_TRUNCATED), S(MLE_ERR_FORMAT_BAD_MAGIC), S(MLE_ERR_FORMAT_VERSION),
        S(MLE_ERR_FORMAT_REQUIRED_FLAG), S(MLE_ERR_FORMAT_ENDIAN), S(MLE_ERR_FORMAT_SECTION_BOUNDS),
        S(MLE_ERR_FORMAT_SECTION_OVERLAP), S(MLE_ERR_FORMAT_GAP), S(MLE_ERR_FORMAT_HEADER),
        S(MLE_ERR_FORMAT_MISALIGNED), S(MLE_ERR_FORMAT_SHAPE_OVERFLOW), S(MLE_ERR_FORMAT_NEGATIVE_DIM),
        S(MLE_ERR_FORMAT_DTYPE), S(MLE_ERR_FORMAT_TENSOR_BOUNDS), S(MLE_ERR_FORMAT_DESCRIPTOR),
        S(MLE_ERR_CHECKSUM_HEADER), S(MLE_ERR_CHECKSUM_SECTION), S(MLE_ERR_CHECKSUM_TENSOR),
        S(MLE_ERR_GRAPH_MISSING_TENSOR), S(MLE_ERR_GRAPH_CYCLE), S(MLE_ERR_GRAPH_UNKNOWN_OP),
        S(MLE_ERR_GRAPH_ATTRIBUTE), S(MLE_ERR_GRAPH_SHAPE), S(MLE_ERR_GRAPH_MALFORMED), S(MLE_ERR_GRAPH_DUPLICATE),
        S(MLE_ERR_GRAPH_DTYPE), S(MLE_ERR_METADATA_SYNTAX), S(MLE_ERR_METADATA_DUPLICATE),
        S(MLE_ERR_METADATA_TOO_LARGE), S(MLE_ERR_METADATA_DEPTH), S(MLE_ERR_METADATA_FIELD), S(MLE_ERR_METADATA_UTF8),
        S(MLE_ERR_METADATA_SIGNATURE), S(MLE_ERR_METADATA_MISSING_KEY), S(MLE_ERR_UNSUPPORTED_ENCODING),
        S(MLE_ERR_UNSUPPORTED_DEVICE), S(MLE_ERR_UNSUPPORTED_FEATURE), S(MLE_ERR_CANCELLED), S(MLE_ERR_INVALID_BUFFER),
        S(MLE_ERR_IO_NOT_FILE), S(MLE_ERR_GRAPH_TOO_LARGE), S(MLE_ERR_SHAPE_TOO_LARGE), S(MLE_ERR_NO_MEMORY_LIMIT),
        S(MLE_ERR_NO_MEMORY_SYSTEM), S(MLE_ERR_CANCELLED_DEADLINE), S(MLE_ERR_INVALID_STRING),
        S(MLE_ERR_INVALID_CATEGORY), S(MLE_ERR_FORMAT_STRING), S(MLE_ERR_GRAPH_TREE),
    };
#undef S
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *got = mle_status_string(names[i].code);
        CHECKF(got && strcmp(got, names[i].name) == 0, "mle_status_string(%u) = %s, want %s", names[i].code, got,
               names[i].name);
        /* Every extended code refines a primary code, which it keeps in its low 8 bits. */
        CHECKF(MLE_STATUS_PRIMARY(names[i].code) <= MLE_ERR_CANCELLED, "%s: primary out of range", names[i].name);
    }
    const mle_status unknown[] = {18, 255, 9999, 0xffffffffu, MLE_ERR_FORMAT_ENCRYPTION + 256};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECKF(strcmp(mle_status_string(unknown[i]), "MLE_ERR_UNKNOWN") == 0, "mle_status_string(%u) = %s",
               unknown[i], mle_status_string(unknown[i]));
    CHECK(MLE_STATUS_PRIMARY(MLE_OK) == MLE_OK);
    CHECK(MLE_STATUS_PRIMARY(MLE_ERR_FORMAT_BAD_MAGIC) == MLE_ERR_FORMAT);
    CHECK(MLE_STATUS_PRIMARY(MLE_ERR_CHECKSUM_TENSOR) == MLE_ERR_CHECKSUM);
    CHECK(MLE_STATUS_PRIMARY(MLE_ERR_INVALID_NAME) == MLE_ERR_INVALID_ARGUMENT);
    CHECK(MLE_STATUS_PRIMARY(MLE_ERR_UNSUPPORTED_DEVICE) == MLE_ERR_UNSUPPORTED);
    CHECK(MLE_STATUS_PRIMARY(MLE_ERR_BUSY) == MLE_ERR_BUSY);

    CHECK(mle_abi_version() == MLE_ABI_VERSION);
    unsigned major, minor, patch;
    CHECKF(sscanf(mle_version(), "%u.%u.%u", &major, &minor, &patch) == 3, "mle_version() = %s", mle_version());
    CHECK(mle_error_status(NULL) == MLE_OK);
    CHECK(strcmp(mle_error_message(NULL), "") == 0);
    mle_error_free(NULL);
    mle_free(NULL);
    mle_open_options o = mle_default_open_options();
    CHECK(o.struct_size == sizeof o && o.verify == 0 && o.read_all == 0 && o.device == MLE_DEVICE_CPU);
}

/* Serving options: model options, session options, and mle_model_run
 * without a session. */
static void test_serving(void) {
    mle_error *err = NULL;
    mle_model *m = open_with(mlp_path, NULL);
    if (!m) return;
    mle_model_options mo = mle_default_model_options();
    CHECK(mo.struct_size == sizeof mo && mo.max_sessions == 0 && mo.spin_us == 0);
    CHECK_ST(mle_model_set_options(m, NULL, &err), MLE_ERR_INVALID_NULL, err);
    CHECK_ST(mle_model_set_options(NULL, &mo, &err), MLE_ERR_BAD_HANDLE, err);
    mo.struct_size = 0;
    CHECK_ST(mle_model_set_options(m, &mo, &err), MLE_ERR_INVALID_OPTIONS, err);
    mo = mle_default_model_options();
    mo.max_sessions = -1;
    CHECK_ST(mle_model_set_options(m, &mo, &err), MLE_ERR_INVALID_OPTIONS, err);
    mo = mle_default_model_options();
    mo.spin_us = -2;
    CHECK_ST(mle_model_set_options(m, &mo, &err), MLE_ERR_INVALID_OPTIONS, err);
    mo.spin_us = 100001;
    CHECK_ST(mle_model_set_options(m, &mo, &err), MLE_ERR_INVALID_OPTIONS, err);
    mo.spin_us = -1;
    mo.max_sessions = 1;
    CHECK_ST(mle_model_set_options(m, &mo, &err), MLE_OK, err);

    mle_session_options so = mle_default_session_options();
    CHECK(so.struct_size == sizeof so && so.max_arena_bytes == 0 && so.max_cached_plans == 0);
    mle_session *s = NULL;
    so.struct_size = 0;
    CHECK_ST(mle_session_new_opts(m, &so, &s, &err), MLE_ERR_INVALID_OPTIONS, err);
    so = mle_default_session_options();
    so.max_cached_plans = -1;
    CHECK_ST(mle_session_new_opts(m, &so, &s, &err), MLE_ERR_INVALID_OPTIONS, err);
    so.max_cached_plans = 4097;
    CHECK_ST(mle_session_new_opts(m, &so, &s, &err), MLE_ERR_INVALID_OPTIONS, err);
    so = mle_default_session_options();
    so.max_arena_bytes = -1;
    CHECK_ST(mle_session_new_opts(m, &so, &s, &err), MLE_ERR_INVALID_OPTIONS, err);
    CHECK_ST(mle_session_new_opts(NULL, NULL, &s, &err), MLE_ERR_BAD_HANDLE, err);

    float x[64 * MLP_IN];
    mlp_make_input(x, 64, 5);
    CHECK_ST(mle_session_new_opts(m, NULL, &s, &err), MLE_OK, err);
    mlp_check_run(s, x, 7, "session with NULL options");
    CHECK_ST0(mle_session_free(s), MLE_OK);
    so.max_arena_bytes = 256; /* too small for 64 rows of activations */
    so.max_cached_plans = 1;
    CHECK_ST(mle_session_new_opts(m, &so, &s, &err), MLE_OK, err);
    mle_tensor in = {.dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {64, MLP_IN}, .data = x, .nbytes = sizeof x};
    mle_tensor out[2] = {{.data = NULL}, {.data = NULL}};
    CHECK_ST(mle_session_run(s, &in, 1, out, 2, &err), MLE_ERR_NO_MEMORY_LIMIT, err);
    CHECK(out[0].data == NULL && out[1].data == NULL);
    CHECK_ST0(mle_session_free(s), MLE_OK);

    /* mle_model_run: the same results as a session, its errors as a session's. */
    CHECK_ST(mle_model_run(NULL, &in, 1, out, 2, NULL, &err), MLE_ERR_BAD_HANDLE, err);
    CHECK_ST(mle_model_run(m, &in, 2, out, 2, NULL, &err), MLE_ERR_INVALID_VALUE, err);
    CHECK_ST(mle_model_run(m, NULL, 1, out, 2, NULL, &err), MLE_ERR_INVALID_NULL, err);
    mle_run_options ro = mle_default_run_options();
    ro.timeout_us = -1;
    CHECK_ST(mle_model_run(m, &in, 1, out, 2, &ro, &err), MLE_ERR_INVALID_OPTIONS, err);
    CHECK_ST(mle_model_run(m, &in, 1, out, 2, NULL, &err), MLE_OK, err);
    s = new_session(m);
    float probs[64 * MLP_OUT];
    int64_t labels[64];
    mle_tensor ref[2] = {{.data = probs, .nbytes = sizeof probs}, {.data = labels, .nbytes = sizeof labels}};
    CHECK_ST(mle_session_run(s, &in, 1, ref, 2, &err), MLE_OK, err);
    CHECK(out[0].nbytes == sizeof probs && out[0].data && memcmp(out[0].data, probs, sizeof probs) == 0);
    CHECK(out[1].nbytes == sizeof labels && out[1].data && memcmp(out[1].data, labels, sizeof labels) == 0);
    CHECK(out[0].name && strcmp(out[0].name, ref[0].name) == 0);
    mle_free(out[0].data);
    mle_free(out[1].data);
    CHECK_ST0(mle_session_free(s), MLE_OK);
    CHECK_ST0(mle_model_free(m), MLE_OK);
    CHECK_ST(mle_model_run(m, &in, 1, out, 2, NULL, &err), MLE_ERR_BAD_HANDLE, err);
}

/* Freeing the model first: its sessions keep its data alive. */
static void test_model_freed_first(void) {
    mle_model *m = open_with(mlp_path, NULL);
    mle_session *s = new_session(m);
    CHECK_ST0(mle_model_free(m), MLE_OK);
    float x[3 * MLP_IN];
    mlp_make_input(x, 3, 9);
    mlp_check_run(s, x, 3, "model freed before its session");
    mlp_check_run(s, x, 2, "model freed before its session, new shape");
    CHECK_ST0(mle_session_free(s), MLE_OK);
}

int main(void) {
    dir = tu_tempdir("test_api");
    mlp_path = tu_path(dir, "mlp.mle");
    test_build_save();
    test_open_modes();
    mle_model *m = open_with(mlp_path, NULL);
    if (m) {
        test_metadata(m);
        test_io_info(m);
        test_run(m);
        test_run_errors(m);
        CHECK_ST0(mle_model_free(m), MLE_OK);
    }
    test_names();
    test_open_errors();
    test_builder_errors();
    test_handles();
    test_status_strings();
    test_model_freed_first();
    test_serving();
    int rc = tu_finish("test_api");
    if (rc == 0) tu_rmdir(dir); /* kept on failure, to look at */
    free(mlp_path);
    free(dir);
    return rc;
}
