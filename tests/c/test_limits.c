/* The C ABI's bounds: run options (timeout, cancel flag), the memory cap,
 * sizes no buffer can have, overlapping buffers, caller buffers that fault,
 * files that are not regular files, and handles that cannot be guessed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* A model computing Y = A·B for float32 matrices of any size. */
static mle_model *matmul_model(int64_t max_arena) {
    mle_builder *b = NULL;
    mle_error *err = NULL;
    CHECK_ST(mle_builder_new(&b, &err), MLE_OK, err);
    const int64_t dyn[2] = {-1, -1};
    CHECK_ST(mle_builder_add_input(b, "A", MLE_DTYPE_FLOAT32, dyn, 2, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_input(b, "B", MLE_DTYPE_FLOAT32, dyn, 2, &err), MLE_OK, err);
    const char *ins[] = {"A", "B"}, *outs[] = {"Y"};
    CHECK_ST(mle_builder_add_node(b, "MatMul", NULL, ins, 2, outs, 1, NULL, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_output(b, "Y", &err), MLE_OK, err);
    void *data = NULL;
    size_t len = 0;
    CHECK_ST(mle_builder_serialize(b, &data, &len, &err), MLE_OK, err);
    mle_builder_free(b);
    mle_open_options o = mle_default_open_options();
    o.max_arena_bytes = max_arena;
    mle_model *m = NULL;
    CHECK_ST(mle_model_open_memory(data, len, &o, &m, &err), MLE_OK, err);
    mle_free(data);
    return m;
}

static mle_tensor square(const char *name, int64_t n, float *data) {
    mle_tensor t = {.name = name, .dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {n, n}, .data = data,
                    .nbytes = (size_t)(n * n) * sizeof(float)};
    return t;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct canceller {
    volatile int32_t *flag;
    unsigned delay_us;
};

static void *cancel_later(void *arg) {
    struct canceller *c = arg;
    usleep(c->delay_us);
    __atomic_store_n(c->flag, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_timeout_and_cancel(void) {
    /* 2048^3 multiply-adds: well over the 20 ms the cancel waits, even with
     * AVX-512 kernels on every core. */
    const int64_t n = 2048;
    float *a = calloc((size_t)(n * n), sizeof(float));
    mle_model *m = matmul_model(0);
    mle_session *s = NULL;
    mle_error *err = NULL;
    CHECK_ST(mle_session_new(m, &s, &err), MLE_OK, err);
    mle_tensor in[2] = {square("A", n, a), square("B", n, a)};
    mle_tensor out[1] = {{.data = NULL}};

    mle_run_options ro = mle_default_run_options();
    CHECK(ro.struct_size == sizeof ro && ro.timeout_us == 0 && ro.cancel == NULL);
    ro.timeout_us = 1000;
    CHECK_ST(mle_session_run_opts(s, in, 2, out, 1, &ro, &err), MLE_ERR_CANCELLED_DEADLINE, err);
    CHECK(out[0].data == NULL); /* nothing to free after a failed run */

    volatile int32_t flag = 1;
    ro = mle_default_run_options();
    ro.cancel = &flag;
    CHECK_ST(mle_session_run_opts(s, in, 2, out, 1, &ro, &err), MLE_ERR_CANCELLED, err);

    flag = 0;
    struct canceller c = {&flag, 20000};
    pthread_t th;
    pthread_create(&th, NULL, cancel_later, &c);
    double t0 = now();
    CHECK_ST(mle_session_run_opts(s, in, 2, out, 1, &ro, &err), MLE_ERR_CANCELLED, err);
    double took = now() - t0;
    pthread_join(th, NULL);
    CHECK(flag == 1); /* the library never writes the flag */
    CHECKF(took < 5.0, "cancelled run took %.3f s", took);

    /* Bad options. */
    ro = mle_default_run_options();
    ro.timeout_us = -1;
    CHECK_ST(mle_session_run_opts(s, in, 2, out, 1, &ro, &err), MLE_ERR_INVALID_OPTIONS, err);
    ro = mle_default_run_options();
    ro.struct_size = 8;
    CHECK_ST(mle_session_run_opts(s, in, 2, out, 1, &ro, &err), MLE_ERR_INVALID_OPTIONS, err);

    /* The session still works, with and without options. */
    float x[4] = {1, 2, 3, 4}, y[4] = {0};
    mle_tensor small[2] = {square("A", 2, x), square("B", 2, x)};
    mle_tensor res[1] = {{.data = y, .nbytes = sizeof y}};
    ro = mle_default_run_options();
    ro.timeout_us = 60 * 1000000LL;
    CHECK_ST(mle_session_run_opts(s, small, 2, res, 1, &ro, &err), MLE_OK, err);
    CHECK(y[0] == 7 && y[1] == 10 && y[2] == 15 && y[3] == 22);
    CHECK_ST(mle_session_run_opts(s, small, 2, res, 1, NULL, &err), MLE_OK, err);
    mle_session_free(s);
    mle_model_free(m);
    free(a);
}

static void test_memory_cap(void) {
    mle_model *m = matmul_model(1 << 20);
    mle_session *s = NULL;
    mle_error *err = NULL;
    CHECK_ST(mle_session_new(m, &s, &err), MLE_OK, err);
    const int64_t n = 1024; /* a 4 MiB result */
    float *a = calloc((size_t)(n * n), sizeof(float));
    mle_tensor in[2] = {square("A", n, a), square("B", n, a)};
    mle_tensor out[1] = {{.data = NULL}};
    mle_status st = mle_session_run(s, in, 2, out, 1, &err);
    CHECKF(st == MLE_ERR_NO_MEMORY_LIMIT && MLE_STATUS_PRIMARY(st) == MLE_ERR_NO_MEMORY, "status %u: %s", st,
           mle_error_message(err));
    mle_error_free(err);
    err = NULL;
    /* Library-allocated outputs count against the cap: a 512x512 product
     * needs 1 MiB of output on top of its arena. */
    mle_tensor mid[2] = {square("A", 512, a), square("B", 512, a)};
    CHECK_ST(mle_session_run(s, mid, 2, out, 1, &err), MLE_ERR_NO_MEMORY_LIMIT, err);
    mle_session_free(s);
    mle_model_free(m);
    free(a);
}

static void test_sizes_and_overlap(void) {
    mle_model *m = matmul_model(0);
    mle_session *s = NULL;
    mle_error *err = NULL;
    CHECK_ST(mle_session_new(m, &s, &err), MLE_OK, err);
    float x[4] = {1, 2, 3, 4}, y[4];
    mle_tensor in[2] = {square("A", 2, x), square("B", 2, x)};
    mle_tensor out[1] = {{.data = y, .nbytes = sizeof y}};

    in[0].nbytes = (size_t)1 << 63;
    mle_status st = mle_session_run(s, in, 2, out, 1, &err);
    CHECKF(st == MLE_ERR_INVALID_VALUE && strstr(mle_error_message(err), "panic") == NULL &&
               strstr(mle_error_message(err), "goroutine") == NULL,
           "nbytes 2^63: %u %s", st, mle_error_message(err));
    mle_error_free(err);
    err = NULL;
    in[0].nbytes = sizeof x;
    out[0].nbytes = SIZE_MAX;
    CHECK_ST(mle_session_run(s, in, 2, out, 1, &err), MLE_ERR_INVALID_VALUE, err);

    /* An output written over an input's bytes. */
    out[0].data = x;
    out[0].nbytes = sizeof x;
    CHECK_ST(mle_session_run(s, in, 2, out, 1, &err), MLE_ERR_INVALID_VALUE, err);

    /* Builder and open_memory refuse impossible sizes too. */
    mle_builder *b = NULL;
    CHECK_ST(mle_builder_new(&b, &err), MLE_OK, err);
    const int64_t shape[1] = {1};
    CHECK_ST(mle_builder_add_tensor(b, "W", MLE_DTYPE_FLOAT32, shape, 1, x, SIZE_MAX, &err), MLE_ERR_INVALID_VALUE, err);
    mle_builder_free(b);
    mle_model *m2 = NULL;
    CHECK_ST(mle_model_open_memory(x, SIZE_MAX, NULL, &m2, &err), MLE_ERR_INVALID_VALUE, err);
    mle_session_free(s);
    mle_model_free(m);
}

/* Buffers that claim a page more than they have: the fault is the caller's,
 * reported with the tensor's name, and the process goes on. */
static void test_faulting_buffers(void) {
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *mem = mmap(NULL, (size_t)(2 * page), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mem != MAP_FAILED);
    CHECK(mprotect(mem + page, (size_t)page, PROT_NONE) == 0);
    mle_model *m = matmul_model(0);
    mle_session *s = NULL;
    mle_error *err = NULL;
    CHECK_ST(mle_session_new(m, &s, &err), MLE_OK, err);
    int64_t n = 32; /* 4 KiB per matrix */
    float *ok = calloc((size_t)(n * n), sizeof(float));
    mle_tensor in[2] = {square("A", n, (float *)(mem + page - 64)), square("B", n, ok)};
    mle_tensor out[1] = {{.data = NULL}};
    mle_status st = mle_session_run(s, in, 2, out, 1, &err);
    CHECKF(st == MLE_ERR_INVALID_BUFFER && strstr(mle_error_message(err), "\"A\"") != NULL, "input fault: %u %s", st,
           mle_error_message(err));
    mle_error_free(err);
    err = NULL;
    in[0].data = ok;
    out[0].data = mem + page - 64;
    out[0].nbytes = (size_t)(n * n) * sizeof(float);
    CHECK_ST(mle_session_run(s, in, 2, out, 1, &err), MLE_ERR_INVALID_BUFFER, err);
    /* open_memory and the builder read caller memory too. */
    mle_model *m2 = NULL;
    CHECK_ST(mle_model_open_memory(mem + page - 64, 4096, NULL, &m2, &err), MLE_ERR_INVALID_BUFFER, err);
    mle_builder *b = NULL;
    CHECK_ST(mle_builder_new(&b, &err), MLE_OK, err);
    const int64_t shape[1] = {1024};
    CHECK_ST(mle_builder_add_tensor(b, "W", MLE_DTYPE_FLOAT32, shape, 1, mem + page - 64, 4096, &err),
             MLE_ERR_INVALID_BUFFER, err);
    mle_builder_free(b);
    mle_session_free(s);
    mle_model_free(m);
    free(ok);
    munmap(mem, (size_t)(2 * page));
}

static void test_not_regular_files(void) {
    char *dir = tu_tempdir("mle-limits");
    char *fifo = tu_path(dir, "model.mle");
    CHECK(mkfifo(fifo, 0600) == 0);
    const char *paths[] = {fifo, "/dev/zero", dir};
    for (size_t i = 0; i < 3; i++) {
        mle_model *m = NULL;
        mle_error *err = NULL;
        mle_open_options o = mle_default_open_options();
        CHECK_ST(mle_model_open(paths[i], &o, &m, &err), MLE_ERR_IO_NOT_FILE, err);
        o.read_all = 1;
        CHECK_ST(mle_model_open(paths[i], &o, &m, &err), MLE_ERR_IO_NOT_FILE, err);
    }
    unlink(fifo);
    free(fifo);
    tu_rmdir(dir);
    free(dir);
}

/* A handle differs from every earlier one even when its slot is reused, and
 * a neighbour of a live handle (one bit of the tag flipped) is refused. */
static void test_unguessable_handles(void) {
    mle_model *m1 = matmul_model(0);
    uintptr_t h1 = (uintptr_t)m1;
    mle_model_free(m1);
    mle_model *m2 = matmul_model(0);
    uintptr_t h2 = (uintptr_t)m2;
    CHECK(h1 != h2);
    CHECK_ST0(mle_model_free((mle_model *)h1), MLE_ERR_BAD_HANDLE);
    for (int bit = 24; bit < 56; bit += 5) {
        size_t count = 0;
        CHECK_ST0(mle_model_input_count((mle_model *)(h2 ^ ((uintptr_t)1 << bit)), &count), MLE_ERR_BAD_HANDLE);
    }
    CHECK_ST0(mle_model_free(m2), MLE_OK);
}

int main(void) {
    test_timeout_and_cancel();
    test_memory_cap();
    test_sizes_and_overlap();
    test_faulting_buffers();
    test_not_regular_files();
    test_unguessable_handles();
    return tu_finish("test_limits");
}
