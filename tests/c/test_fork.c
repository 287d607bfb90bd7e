/*
 * test_fork: after fork() the child must get MLE_ERR_FORKED at once (the Go
 * runtime inside libmle does not survive fork; a child calling in could
 * hang), and the parent must keep working.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

/* Exit codes of the child: 0 ok, else which check failed. */
enum { CHILD_OK, CHILD_RUN, CHILD_RUN_MSG, CHILD_OPEN, CHILD_OPEN_MSG, CHILD_OTHER };
static const char *child_failure[] = {"ok",
                                      "mle_session_run did not return MLE_ERR_FORKED",
                                      "mle_session_run gave no MLE_ERR_FORKED error message",
                                      "mle_model_open did not return MLE_ERR_FORKED",
                                      "mle_model_open gave no MLE_ERR_FORKED error message",
                                      "another call did not return MLE_ERR_FORKED"};

static int child(mle_model *m, mle_session *s, const char *path) {
    float x[MLP_IN] = {0}, probs[MLP_OUT];
    int64_t label;
    mle_tensor in = {.dtype = MLE_DTYPE_FLOAT32, .rank = 2, .shape = {1, MLP_IN}, .data = x, .nbytes = sizeof x};
    mle_tensor out[2] = {{.data = probs, .nbytes = sizeof probs}, {.data = &label, .nbytes = sizeof label}};
    mle_error *err = NULL;
    if (mle_session_run(s, &in, 1, out, 2, &err) != MLE_ERR_FORKED) return CHILD_RUN;
    if (mle_error_status(err) != MLE_ERR_FORKED || strstr(mle_error_message(err), "fork") == NULL)
        return CHILD_RUN_MSG;
    mle_error_free(err);
    mle_model *m2 = NULL;
    if (mle_model_open(path, NULL, &m2, &err) != MLE_ERR_FORKED) return CHILD_OPEN;
    if (mle_error_status(err) != MLE_ERR_FORKED || mle_error_message(err)[0] == '\0') return CHILD_OPEN_MSG;
    mle_error_free(err);
    size_t n;
    mle_builder *b;
    if (mle_model_input_count(m, &n) != MLE_ERR_FORKED || mle_session_free(s) != MLE_ERR_FORKED ||
        mle_model_free(m) != MLE_ERR_FORKED || mle_builder_new(&b, NULL) != MLE_ERR_FORKED)
        return CHILD_OTHER;
    return CHILD_OK;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void) {
    char *dir = tu_tempdir("test_fork");
    char *path = tu_path(dir, "mlp.mle");
    mle_error *err = NULL;
    CHECK_ST(mlp_save(path, NULL, &err), MLE_OK, err);
    mle_model *m = NULL;
    mle_session *s = NULL;
    CHECK_ST(mle_model_open(path, NULL, &m, &err), MLE_OK, err);
    CHECK_ST(mle_session_new(m, &s, &err), MLE_OK, err);
    float x[4 * MLP_IN];
    mlp_make_input(x, 4, 5);
    mlp_check_run(s, x, 4, "parent before fork");
    if (tu_failures()) return tu_finish("test_fork");

    fflush(NULL); /* so the child does not repeat buffered output */
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        return 2;
    }
    if (pid == 0) _exit(child(m, s, path)); /* _exit: no atexit handlers of the parent's state */

    /* The child should be done in microseconds; a hang means it entered Go. */
    int wstatus = 0;
    pid_t got = 0;
    for (double deadline = now() + 1.0; (got = waitpid(pid, &wstatus, WNOHANG)) == 0 && now() < deadline;) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    if (got == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &wstatus, 0);
        tu_fail(__FILE__, __LINE__, "the child did not finish within 1 s (hung in libmle?); killed it");
    } else if (got < 0) {
        tu_fail(__FILE__, __LINE__, "waitpid failed");
    } else if (WIFSIGNALED(wstatus)) {
        tu_fail(__FILE__, __LINE__, "the child died of signal %d", WTERMSIG(wstatus));
    } else {
        int code = WEXITSTATUS(wstatus);
        CHECKF(code == CHILD_OK, "child: %s", code <= CHILD_OTHER ? child_failure[code] : "unknown exit code");
    }

    /* The parent is unaffected: it runs again, opens another model, frees all. */
    mlp_check_run(s, x, 4, "parent after fork");
    mle_model *m2 = NULL;
    mle_session *s2 = NULL;
    CHECK_ST(mle_model_open(path, NULL, &m2, &err), MLE_OK, err);
    CHECK_ST(mle_session_new(m2, &s2, &err), MLE_OK, err);
    mlp_check_run(s2, x, 3, "parent, model opened after fork");
    CHECK_ST0(mle_session_free(s2), MLE_OK);
    CHECK_ST0(mle_model_free(m2), MLE_OK);
    CHECK_ST0(mle_session_free(s), MLE_OK);
    CHECK_ST0(mle_model_free(m), MLE_OK);

    int rc = tu_finish("test_fork");
    if (rc == 0) tu_rmdir(dir);
    free(path);
    free(dir);
    return rc;
}
