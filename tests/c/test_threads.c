/*
 * test_threads: one model shared by 8 threads.
 *  1. A session per thread, 1,000 runs each on a fixed batch per thread:
 *     every output is bit-identical to a single-threaded reference run.
 *  2. 8 threads sharing ONE session: each call returns MLE_OK (with correct
 *     outputs) or MLE_ERR_BUSY — never anything else, never a crash.
 *  3. 8 threads calling mle_model_run on one model handle (no sessions) whose
 *     pool holds 2: every run succeeds, bit-identical to the reference, with
 *     library-allocated and caller buffers.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define THREADS 8
#define RUNS 1000
#define SHARED_RUNS 500
#define MAX_ROWS THREADS

typedef struct job {
    int id;
    size_t rows;
    mle_model *model;
    mle_session *shared; /* phase 2 */
    pthread_barrier_t *start;
    float x[MAX_ROWS * MLP_IN];
    float ref_probs[MAX_ROWS * MLP_OUT];
    int64_t ref_labels[MAX_ROWS];
    int ok, busy; /* phase 2 counts */
} job;

/* Runs the job's batch into caller buffers, poisoned first so that stale
 * results cannot pass for new ones. */
static mle_status run_into(mle_session *s, const job *j, float *probs, int64_t *labels, mle_error **err) {
    memset(probs, 0xff, MAX_ROWS * MLP_OUT * sizeof *probs);
    memset(labels, 0xff, MAX_ROWS * sizeof *labels);
    mle_tensor in = {.dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {(int64_t)j->rows, MLP_IN}, .data = (void *)j->x,
                     .nbytes = j->rows * MLP_IN * sizeof(float)};
    mle_tensor out[2] = {{.data = probs, .nbytes = MAX_ROWS * MLP_OUT * sizeof *probs},
                         {.data = labels, .nbytes = MAX_ROWS * sizeof *labels}};
    return mle_session_run(s, &in, 1, out, 2, err);
}

static int same_as_reference(const job *j, const float *probs, const int64_t *labels) {
    return memcmp(probs, j->ref_probs, j->rows * MLP_OUT * sizeof *probs) == 0 &&
           memcmp(labels, j->ref_labels, j->rows * sizeof *labels) == 0;
}

static void *own_session(void *arg) {
    job *j = arg;
    mle_session *s = NULL;
    mle_error *err = NULL;
    CHECK_ST(mle_session_new(j->model, &s, &err), MLE_OK, err);
    if (!s) return NULL;
    float probs[MAX_ROWS * MLP_OUT], first_probs[MAX_ROWS * MLP_OUT];
    int64_t labels[MAX_ROWS], first_labels[MAX_ROWS];
    pthread_barrier_wait(j->start);
    for (int r = 0; r < RUNS; r++) {
        mle_status st = run_into(s, j, probs, labels, &err);
        if (st != MLE_OK) {
            tu_fail(__FILE__, __LINE__, "thread %d run %d: %s %s", j->id, r, mle_status_string(st),
                    mle_error_message(err));
            mle_error_free(err);
            break;
        }
        if (r == 0) {
            memcpy(first_probs, probs, sizeof probs);
            memcpy(first_labels, labels, sizeof labels);
        }
        int same_first = memcmp(probs, first_probs, j->rows * MLP_OUT * sizeof(float)) == 0 &&
                         memcmp(labels, first_labels, j->rows * sizeof(int64_t)) == 0;
        if (!same_first || !same_as_reference(j, probs, labels)) {
            tu_fail(__FILE__, __LINE__, "thread %d run %d: output differs from %s", j->id, r,
                    same_first ? "the single-threaded reference" : "the thread's first run");
            break;
        }
    }
    CHECK_ST0(mle_session_free(s), MLE_OK);
    return NULL;
}

static void *shared_session(void *arg) {
    job *j = arg;
    float probs[MAX_ROWS * MLP_OUT];
    int64_t labels[MAX_ROWS];
    mle_error *err = NULL;
    pthread_barrier_wait(j->start);
    for (int r = 0; r < SHARED_RUNS; r++) {
        mle_status st = run_into(j->shared, j, probs, labels, &err);
        if (st == MLE_OK) {
            j->ok++;
            if (!same_as_reference(j, probs, labels)) {
                tu_fail(__FILE__, __LINE__, "shared session, thread %d run %d: MLE_OK with wrong output", j->id, r);
                break;
            }
        } else if (st == MLE_ERR_BUSY) {
            j->busy++;
            mle_error_free(err);
        } else {
            tu_fail(__FILE__, __LINE__, "shared session, thread %d run %d: %s %s (want MLE_OK or MLE_ERR_BUSY)",
                    j->id, r, mle_status_string(st), mle_error_message(err));
            mle_error_free(err);
            break;
        }
    }
    return NULL;
}

static void *model_run(void *arg) {
    job *j = arg;
    mle_error *err = NULL;
    pthread_barrier_wait(j->start);
    for (int r = 0; r < RUNS / 2; r++) {
        mle_tensor in = {.dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {(int64_t)j->rows, MLP_IN},
                         .data = (void *)j->x, .nbytes = j->rows * MLP_IN * sizeof(float)};
        float probs[MAX_ROWS * MLP_OUT];
        /* Output 0 in the caller's buffer, output 1 allocated by the library. */
        mle_tensor out[2] = {{.data = probs, .nbytes = sizeof probs}, {.data = NULL}};
        mle_status st = mle_model_run(j->model, &in, 1, out, 2, NULL, &err);
        if (st != MLE_OK) {
            tu_fail(__FILE__, __LINE__, "mle_model_run, thread %d run %d: %s %s", j->id, r, mle_status_string(st),
                    mle_error_message(err));
            mle_error_free(err);
            break;
        }
        int same = memcmp(probs, j->ref_probs, j->rows * MLP_OUT * sizeof(float)) == 0 && out[1].data &&
                   memcmp(out[1].data, j->ref_labels, j->rows * sizeof(int64_t)) == 0;
        mle_free(out[1].data);
        if (!same) {
            tu_fail(__FILE__, __LINE__, "mle_model_run, thread %d run %d: output differs from the reference", j->id, r);
            break;
        }
    }
    return NULL;
}

static void run_threads(void *(*fn)(void *), job *jobs, pthread_barrier_t *start) {
    pthread_t t[THREADS];
    pthread_barrier_init(start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, fn, &jobs[i]) != 0) {
            perror("pthread_create");
            exit(2);
        }
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(start);
}

int main(void) {
    char *dir = tu_tempdir("test_threads");
    char *path = tu_path(dir, "mlp.mle");
    mle_error *err = NULL;
    mle_model *m = NULL;
    mle_session *s = NULL;
    CHECK_ST(mlp_save(path, NULL, &err), MLE_OK, err);
    CHECK_ST(mle_model_open(path, NULL, &m, &err), MLE_OK, err);
    CHECK_ST(mle_session_new(m, &s, &err), MLE_OK, err);
    if (tu_failures()) return tu_finish("test_threads");

    /* Single-threaded references, before any thread starts. */
    static job jobs[THREADS];
    pthread_barrier_t start;
    for (int i = 0; i < THREADS; i++) {
        job *j = &jobs[i];
        j->id = i, j->rows = (size_t)i + 1, j->model = m, j->shared = s, j->start = &start;
        mlp_make_input(j->x, j->rows, 100u + (unsigned)i);
        mlp_check_run(s, j->x, j->rows, "single-threaded reference vs C reference");
        CHECK_ST(run_into(s, j, j->ref_probs, j->ref_labels, &err), MLE_OK, err);
    }

    run_threads(own_session, jobs, &start);

    { /* regression: concurrent runs on one session race on its C-side scratch state before MLE_ERR_BUSY */
        run_threads(shared_session, jobs, &start);
        int ok = 0, busy = 0;
        for (int i = 0; i < THREADS; i++) ok += jobs[i].ok, busy += jobs[i].busy;
        printf("shared session: %d runs OK, %d refused with MLE_ERR_BUSY\n", ok, busy);
        CHECK(ok > 0);
    }

    { /* the serving path: one model handle, its own session pool of 2 */
        mle_model *pooled = NULL;
        CHECK_ST(mle_model_open(path, NULL, &pooled, &err), MLE_OK, err);
        mle_model_options mo = mle_default_model_options();
        mo.max_sessions = 2;
        CHECK_ST(mle_model_set_options(pooled, &mo, &err), MLE_OK, err);
        for (int i = 0; i < THREADS; i++) jobs[i].model = pooled;
        if (pooled) run_threads(model_run, jobs, &start);
        CHECK_ST0(mle_model_free(pooled), MLE_OK);
    }

    CHECK_ST0(mle_session_free(s), MLE_OK);
    CHECK_ST0(mle_model_free(m), MLE_OK);
    int rc = tu_finish("test_threads");
    if (rc == 0) tu_rmdir(dir);
    free(path);
    free(dir);
    return rc;
}
