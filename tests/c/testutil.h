/*
 * Shared helpers of the C tests: CHECK macros that count failures (tests
 * keep going so one run reports every broken check), scratch directories,
 * and a small MLP model built with the builder API plus a naive C reference
 * of the same computation.
 */
#ifndef MLE_TESTUTIL_H
#define MLE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "mle.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- checks */

/* Records a failed check (thread-safe) and prints where and what. */
void tu_fail(const char *file, int line, const char *fmt, ...);

/* Number of failed checks so far. */
int tu_failures(void);

/* Prints a summary line; returns the process exit code (0: all passed). */
int tu_finish(const char *test_name);

/* Compares a status with the expected one; on failure statuses also checks
 * that err carries the same status and a message. Frees err. */
void tu_check_status(mle_status got, mle_status want, mle_error *err, int has_err, const char *expr, const char *file,
                     int line);

#define CHECK(cond) \
    do { \
        if (!(cond)) tu_fail(__FILE__, __LINE__, "%s", #cond); \
    } while (0)

#define CHECKF(cond, ...) \
    do { \
        if (!(cond)) tu_fail(__FILE__, __LINE__, __VA_ARGS__); \
    } while (0)

/* CHECK_ST(call using &errvar, expected status, errvar): errvar is read
 * after the call (so it sees what the call stored), freed, and reset. */
#define CHECK_ST(expr, want, errvar) \
    do { \
        mle_status tu_st_ = (expr); \
        tu_check_status(tu_st_, (want), (errvar), 1, #expr, __FILE__, __LINE__); \
        (errvar) = NULL; \
    } while (0)

/* For the functions that take no mle_error**. */
#define CHECK_ST0(expr, want) tu_check_status((expr), (want), NULL, 0, #expr, __FILE__, __LINE__)

/* ------------------------------------------------------ scratch files */

/* Creates a fresh directory under the working directory; malloc'd path. */
char *tu_tempdir(const char *prefix);

/* dir + "/" + name; malloc'd. */
char *tu_path(const char *dir, const char *name);

/* Number of entries in dir besides "." and ".."; -1 if it cannot be read. */
int tu_count_entries(const char *dir);

/* Removes the files in dir (not recursive) and dir itself. */
void tu_rmdir(const char *dir);

/* Reads a whole file; malloc'd, *len set. NULL on error. */
unsigned char *tu_read_file(const char *path, size_t *len);

/* Writes len bytes to path; 0 on success. */
int tu_write_file(const char *path, const void *data, size_t len);

/* ------------------------------------------------------ string tensors */

/* Packs n strings as mle.h's string tensors (docs/FORMAT.md §7.1): string i
 * is lens[i] bytes at strs[i] (lens NULL: NUL-terminated). Returns malloc'd
 * bytes (never NULL, even for n = 0) and their count in *nbytes; NULL only
 * when out of memory. Does not check UTF-8: tests pass bad text on purpose. */
void *tu_pack_strings(const char *const *strs, const size_t *lens, size_t n, size_t *nbytes);

/* 1 if nbytes at packed are a consistent packing of n strings (offsets
 * only, not UTF-8), else 0. Reads nothing past nbytes. */
int tu_strings_valid(const void *packed, size_t nbytes, size_t n);

/* String i of a packing of n strings that passed tu_strings_valid: its
 * bytes (not NUL-terminated), length in *len. */
const char *tu_string_at(const void *packed, size_t n, size_t i, size_t *len);

/* Little-endian uint64 at any alignment (string offsets). */
void tu_put_u64(void *p, uint64_t v);
uint64_t tu_get_u64(const void *p);

/* ---------------------------------------------------------- test MLP */

/* X float32 [-1, 4] -> Gemm(W1 4x16, b1) -> Relu -> Gemm(W2 16x3, b2)
 * -> Softmax -> "probs" float32 [-1, 3]; ArgMax(axis 1) -> "label" int64 [-1]. */
#define MLP_IN 4
#define MLP_HIDDEN 16
#define MLP_OUT 3

typedef struct mlp_weights {
    float w1[MLP_IN * MLP_HIDDEN];
    float b1[MLP_HIDDEN];
    float w2[MLP_HIDDEN * MLP_OUT];
    float b2[MLP_OUT];
} mlp_weights;

/* Deterministic weights from a formula. */
void mlp_make_weights(mlp_weights *w);

/* A new builder holding the whole MLP (metadata name "test-mlp"). */
mle_status mlp_builder(mle_builder **builder, mle_error **err);

/* Builds the MLP and saves it to path. */
mle_status mlp_save(const char *path, uint64_t *bytes_written, mle_error **err);

/* Fills rows x MLP_IN deterministic inputs; seed picks the batch. */
void mlp_make_input(float *x, size_t rows, unsigned seed);

/* Naive reference: probs rows x MLP_OUT, labels rows (either may be NULL). */
void mlp_reference(const float *x, size_t rows, float *probs, int64_t *labels);

/* Runs rows of x through session with library-allocated outputs and
 * compares with mlp_reference (probs within 1e-5, labels exactly). */
void mlp_check_run(mle_session *session, const float *x, size_t rows, const char *what);

#ifdef __cplusplus
}
#endif

#endif
