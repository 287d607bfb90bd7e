/*
 * test_strings: string tensors through the C API (mle.h, docs/FORMAT.md
 * §7.1) — packed inputs and outputs, library-allocated outputs freed with
 * mle_free, caller buffers too small (the size needed comes back), and the
 * exact status of every malformed input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

/* The class labels the model gathers; one is non-ASCII. */
static const char *const kClasses[] = {"setosa", "versicolor", "virginica ünï 東京"};

/* scores float64 [-1, 3] -> ArgMax(axis 1) -> Gather(classes) -> "label"
 * string [-1]; text string [-1] -> Identity -> "echo" string [-1]. */
static mle_model *build_model(void) {
    const int64_t scores_shape[] = {-1, 3}, text_shape[] = {-1}, classes_shape[] = {3};
    const char *argmax_in[] = {"scores"}, *argmax_out[] = {"index"};
    const char *gather_in[] = {"classes", "index"}, *gather_out[] = {"label"};
    const char *echo_in[] = {"text"}, *echo_out[] = {"echo"};
    mle_builder *b = NULL;
    mle_error *err = NULL;
    size_t node = 0, packed_len = 0;
    void *packed = tu_pack_strings(kClasses, NULL, 3, &packed_len);
    CHECK_ST(mle_builder_new(&b, &err), MLE_OK, err);
    CHECK_ST(mle_builder_set_metadata_json(b, "{\"name\":\"test-strings\",\"version\":\"1.0.0\"}", &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_input(b, "scores", MLE_DTYPE_FLOAT64, scores_shape, 2, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_input(b, "text", MLE_DTYPE_STRING, text_shape, 1, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_tensor(b, "classes", MLE_DTYPE_STRING, classes_shape, 1, packed, packed_len, &err), MLE_OK,
             err);
    CHECK_ST(mle_builder_add_node(b, "ArgMax", NULL, argmax_in, 1, argmax_out, 1, &node, &err), MLE_OK, err);
    CHECK_ST(mle_builder_set_attr_int(b, node, "axis", 1, &err), MLE_OK, err);
    CHECK_ST(mle_builder_set_attr_int(b, node, "keepdims", 0, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_node(b, "Gather", NULL, gather_in, 2, gather_out, 1, NULL, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_node(b, "Identity", NULL, echo_in, 1, echo_out, 1, NULL, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_output(b, "label", &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_output(b, "echo", &err), MLE_OK, err);
    free(packed);

    void *file = NULL;
    size_t file_len = 0;
    mle_model *m = NULL;
    CHECK_ST(mle_builder_serialize(b, &file, &file_len, &err), MLE_OK, err);
    mle_open_options opts = mle_default_open_options();
    opts.verify = 1; /* checks the stored string constant in full */
    CHECK_ST(mle_model_open_memory(file, file_len, &opts, &m, &err), MLE_OK, err);
    mle_free(file);
    CHECK_ST0(mle_builder_free(b), MLE_OK);
    return m;
}

/* Scores whose argmax picks class pick[r] in row r. */
static double *make_scores(const int *pick, size_t rows) {
    double *s = calloc(rows * 3 + 1, sizeof *s);
    for (size_t r = 0; r < rows; r++) s[r * 3 + (size_t)pick[r]] = 1.0 + (double)r;
    return s;
}

/* The two inputs: rows of scores and a packed text tensor of n strings. */
static void set_inputs(mle_tensor in[2], const double *scores, size_t rows, const void *text, size_t text_nbytes,
                       int64_t n) {
    memset(in, 0, 2 * sizeof *in);
    in[0] = (mle_tensor){.name = "scores", .dtype = MLE_DTYPE_FLOAT64, .rank = 2, .shape = {(int64_t)rows, 3},
                         .data = (void *)scores, .nbytes = rows * 3 * sizeof(double)};
    in[1] = (mle_tensor){.name = "text", .dtype = MLE_DTYPE_STRING, .rank = 1, .shape = {n}, .data = (void *)text,
                         .nbytes = text_nbytes};
}

/* A string output must be exactly want[0..n) (lens NULL: NUL-terminated). */
static void expect_strings(const mle_tensor *out, const char *const *want, const size_t *lens, size_t n,
                           const char *what) {
    CHECKF(out->dtype == MLE_DTYPE_STRING && out->rank == 1 && out->shape[0] == (int64_t)n,
           "%s: dtype %d rank %d", what, out->dtype, out->rank);
    size_t need = 8 * (n + 1);
    for (size_t i = 0; i < n; i++) need += lens ? lens[i] : strlen(want[i]);
    CHECKF(out->nbytes == need, "%s: nbytes %zu, want %zu", what, out->nbytes, need);
    if (!out->data || !tu_strings_valid(out->data, out->nbytes, n)) {
        tu_fail(__FILE__, __LINE__, "%s: not a packing of %zu strings", what, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = 0, want_len = lens ? lens[i] : strlen(want[i]);
        const char *got = tu_string_at(out->data, n, i, &len);
        CHECKF(len == want_len && memcmp(got, want[i], len) == 0, "%s: [%zu] is \"%.*s\", want \"%s\"", what, i,
               (int)len, got, want[i]);
    }
}

static void test_signature(mle_model *m) {
    mle_io_info info = {.struct_size = sizeof info};
    mle_error *err = NULL;
    CHECK_ST(mle_model_input_info(m, 1, &info, &err), MLE_OK, err);
    CHECK(strcmp(info.name, "text") == 0 && info.dtype == MLE_DTYPE_STRING && info.rank == 1 && info.shape[0] == -1);
    CHECK_ST(mle_model_output_info(m, 0, &info, &err), MLE_OK, err);
    CHECK(strcmp(info.name, "label") == 0 && info.dtype == MLE_DTYPE_STRING && info.rank == 1 && info.shape[0] == -1);
}

/* Library-allocated outputs, including empty strings, NUL and 4-byte UTF-8
 * in an element; 0 rows; and mle_model_run. */
static void test_alloc(mle_session *s, mle_model *m) {
    const int pick[] = {1, 0, 2, 1};
    double *scores = make_scores(pick, 4);
    const char *text[] = {"", "a\0b", "😀 ü", "plain"};
    const size_t lens[] = {0, 3, 7, 5};
    size_t text_nbytes = 0;
    void *packed = tu_pack_strings(text, lens, 4, &text_nbytes);
    mle_tensor in[2], out[2];
    set_inputs(in, scores, 4, packed, text_nbytes, 4);
    memset(out, 0, sizeof out);
    mle_error *err = NULL;
    CHECK_ST(mle_session_run(s, in, 2, out, 2, &err), MLE_OK, err);
    const char *want[] = {kClasses[1], kClasses[0], kClasses[2], kClasses[1]};
    expect_strings(&out[0], want, NULL, 4, "alloc label");
    expect_strings(&out[1], text, lens, 4, "alloc echo");
    CHECK(out[0].name && strcmp(out[0].name, "label") == 0);
    mle_free(out[0].data);
    mle_free(out[1].data);

    /* The same through the model's session pool, outputs by name. */
    memset(out, 0, sizeof out);
    out[0].name = "echo";
    CHECK_ST(mle_model_run(m, in, 2, out, 1, NULL, &err), MLE_OK, err);
    expect_strings(&out[0], text, lens, 4, "model_run echo");
    mle_free(out[0].data);

    /* 0 rows: the packing is just offsets[0]. */
    size_t empty_nbytes = 0;
    void *empty = tu_pack_strings(NULL, NULL, 0, &empty_nbytes);
    CHECK(empty_nbytes == 8);
    set_inputs(in, scores, 0, empty, empty_nbytes, 0);
    memset(out, 0, sizeof out);
    CHECK_ST(mle_session_run(s, in, 2, out, 2, &err), MLE_OK, err);
    expect_strings(&out[0], NULL, NULL, 0, "0 rows label");
    expect_strings(&out[1], NULL, NULL, 0, "0 rows echo");
    mle_free(out[0].data);
    mle_free(out[1].data);
    free(empty);
    free(packed);
    free(scores);
}

/* Caller buffers: too small gives the size needed, which then fits. */
static void test_caller_buffers(mle_session *s) {
    const int pick[] = {2, 2, 0};
    double *scores = make_scores(pick, 3);
    const char *text[] = {"x"};
    size_t text_nbytes = 0;
    void *packed = tu_pack_strings(text, NULL, 1, &text_nbytes);
    const char *want[] = {kClasses[2], kClasses[2], kClasses[0]};
    const size_t need = 8 * 4 + 2 * strlen(kClasses[2]) + strlen(kClasses[0]);
    mle_tensor in[2], out[1];
    mle_error *err = NULL;
    set_inputs(in, scores, 3, packed, text_nbytes, 1);

    /* Room for the offsets but not the text, then one byte short. */
    const size_t small[] = {32, need - 1};
    for (size_t k = 0; k < 2; k++) {
        char *buf = malloc(small[k]);
        memset(out, 0, sizeof out);
        out[0] = (mle_tensor){.name = "label", .data = buf, .nbytes = small[k]};
        CHECK_ST(mle_session_run(s, in, 2, out, 1, &err), MLE_ERR_BUFFER_TOO_SMALL, err);
        CHECKF(out[0].nbytes == need, "too small (%zu): nbytes %zu, want %zu", small[k], out[0].nbytes, need);
        CHECK(out[0].data == buf && out[0].dtype == MLE_DTYPE_STRING && out[0].rank == 1 && out[0].shape[0] == 3);
        free(buf);
    }

    /* An empty buffer (not NULL: NULL asks the library to allocate). */
    char dummy;
    memset(out, 0, sizeof out);
    out[0] = (mle_tensor){.name = "label", .data = &dummy, .nbytes = 0};
    CHECK_ST(mle_session_run(s, in, 2, out, 1, &err), MLE_ERR_BUFFER_TOO_SMALL, err);
    CHECK(out[0].nbytes == need);

    /* Exactly the size reported, then a larger buffer: nbytes is what was written. */
    for (size_t extra = 0; extra <= 100; extra += 100) {
        char *buf = malloc(need + extra);
        memset(out, 0, sizeof out);
        out[0] = (mle_tensor){.name = "label", .data = buf, .nbytes = need + extra};
        CHECK_ST(mle_session_run(s, in, 2, out, 1, &err), MLE_OK, err);
        CHECK(out[0].data == buf);
        expect_strings(&out[0], want, NULL, 3, extra ? "larger buffer" : "exact buffer");
        free(buf);
    }
    free(packed);
    free(scores);
}

/* Runs with text as the string input (n elements, nbytes bytes) and
 * library-allocated outputs; the status must be want, and a failed run must
 * leave nothing to free. */
static void run_text(mle_session *s, const void *text, size_t nbytes, int64_t n, mle_status want, const char *what) {
    double scores[3] = {0, 1, 0};
    mle_tensor in[2], out[2];
    set_inputs(in, scores, 1, text, nbytes, n);
    memset(out, 0, sizeof out);
    mle_error *err = NULL;
    mle_status st = mle_session_run(s, in, 2, out, 2, &err);
    CHECKF(st == want, "%s: got %s (%s), want %s", what, mle_status_string(st), mle_error_message(err),
           mle_status_string(want));
    if (st != MLE_OK && want == MLE_ERR_INVALID_STRING)
        CHECKF(strstr(mle_error_message(err), "text") != NULL, "%s: message does not name the input: %s", what,
               mle_error_message(err));
    if (st != MLE_OK) CHECKF(out[0].data == NULL && out[1].data == NULL, "%s: a failed run left outputs", what);
    mle_error_free(err);
    mle_free(out[0].data);
    mle_free(out[1].data);
}

/* Packs one string of len bytes and runs it. */
static void run_one(mle_session *s, const char *str, size_t len, mle_status want, const char *what) {
    size_t nbytes = 0;
    void *packed = tu_pack_strings(&str, &len, 1, &nbytes);
    run_text(s, packed, nbytes, 1, want, what);
    free(packed);
}

static void test_invalid_utf8(mle_session *s) {
    static const struct {
        const char *bytes;
        const char *what;
    } bad[] = {
        {"\xff", "0xff byte"},
        {"ok\x80", "stray continuation byte"},
        {"\xc0\xaf", "overlong '/'"},
        {"\xe6\x9d", "truncated 3-byte sequence"},
        {"\xed\xa0\x80", "UTF-16 surrogate"},
        {"\xf4\x90\x80\x80", "above U+10FFFF"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        run_one(s, bad[i].bytes, strlen(bad[i].bytes), MLE_ERR_INVALID_STRING, bad[i].what);
    run_one(s, "\xf4\x8f\xbf\xbf", 4, MLE_OK, "U+10FFFF");
    run_one(s, "\0", 1, MLE_OK, "a NUL element");
}

static void test_length_limit(mle_session *s) {
    char *big = malloc(MLE_MAX_STRING_BYTES + 1);
    memset(big, 'x', MLE_MAX_STRING_BYTES + 1);
    run_one(s, big, MLE_MAX_STRING_BYTES, MLE_OK, "exactly MLE_MAX_STRING_BYTES");
    run_one(s, big, MLE_MAX_STRING_BYTES + 1, MLE_ERR_INVALID_STRING, "one byte over MLE_MAX_STRING_BYTES");
    free(big);
}

/* Offsets that disagree with nbytes, or with each other. */
static void test_bad_offsets(mle_session *s) {
    const char *text[] = {"ab", "cde"};
    size_t nbytes = 0;
    unsigned char *good = tu_pack_strings(text, NULL, 2, &nbytes); /* offsets 0 2 5, then "abcde" */
    CHECK(nbytes == 8 * 3 + 5);
    unsigned char *p = malloc(nbytes + 8);
    run_text(s, good, nbytes, 2, MLE_OK, "well-formed");

    memcpy(p, good, nbytes);
    p[nbytes] = 'f';
    run_text(s, p, nbytes + 1, 2, MLE_ERR_INVALID_STRING, "nbytes past the last offset");
    run_text(s, good, nbytes - 1, 2, MLE_ERR_INVALID_STRING, "nbytes short of the last offset");
    run_text(s, good, 8 * 3 - 1, 2, MLE_ERR_INVALID_STRING, "nbytes short of the offsets");
    run_text(s, good, 0, 2, MLE_ERR_INVALID_STRING, "no bytes at all");

    memcpy(p, good, nbytes);
    tu_put_u64(p, 1);
    run_text(s, p, nbytes, 2, MLE_ERR_INVALID_STRING, "offsets[0] != 0");

    /* 0 2 1 3 over "abc": every offset within the text, offsets[n] and
     * nbytes agree, but one pair decreases. */
    const char *three[] = {"a", "b", "c"};
    size_t three_nbytes = 0;
    unsigned char *q = tu_pack_strings(three, NULL, 3, &three_nbytes);
    run_text(s, q, three_nbytes, 3, MLE_OK, "three strings");
    tu_put_u64(q + 8, 2);
    tu_put_u64(q + 16, 1);
    run_text(s, q, three_nbytes, 3, MLE_ERR_INVALID_STRING, "decreasing offsets");
    free(q);

    memcpy(p, good, nbytes);
    tu_put_u64(p + 8, 6); /* past the 5 text bytes */
    run_text(s, p, nbytes, 2, MLE_ERR_INVALID_STRING, "an offset past the text");

    memcpy(p, good, nbytes);
    tu_put_u64(p + 16, UINT64_MAX);
    run_text(s, p, nbytes, 2, MLE_ERR_INVALID_STRING, "a huge last offset");

    /* The same bytes as 3 strings: the offsets are read as text. */
    run_text(s, good, nbytes, 3, MLE_ERR_INVALID_STRING, "more elements than packed");
    free(p);
    free(good);
}

/* A string input given another dtype, and a number input given strings. */
static void test_dtypes(mle_session *s) {
    double scores[3] = {1, 0, 0}, numbers[2] = {1, 2};
    size_t nbytes = 0;
    const char *text[] = {"a", "b", "c"};
    void *packed = tu_pack_strings(text, NULL, 3, &nbytes);
    mle_tensor in[2], out[1];
    mle_error *err = NULL;

    set_inputs(in, scores, 1, packed, nbytes, 3);
    in[1].dtype = MLE_DTYPE_FLOAT64, in[1].shape[0] = 2, in[1].data = numbers, in[1].nbytes = sizeof numbers;
    memset(out, 0, sizeof out);
    CHECK_ST(mle_session_run(s, in, 2, out, 1, &err), MLE_ERR_DTYPE, err);

    set_inputs(in, scores, 1, packed, nbytes, 3);
    in[0] = (mle_tensor){.name = "scores", .dtype = MLE_DTYPE_STRING, .rank = 2, .shape = {1, 3}, .data = packed,
                         .nbytes = nbytes};
    memset(out, 0, sizeof out);
    CHECK_ST(mle_session_run(s, in, 2, out, 1, &err), MLE_ERR_DTYPE, err);
    free(packed);
}

/* A string constant that is not valid UTF-8 is refused when added. */
static void test_builder_checks(void) {
    mle_builder *b = NULL;
    mle_error *err = NULL;
    const char *bad[] = {"\xff"};
    const int64_t shape[] = {1};
    size_t nbytes = 0;
    void *packed = tu_pack_strings(bad, NULL, 1, &nbytes);
    CHECK_ST(mle_builder_new(&b, &err), MLE_OK, err);
    CHECK_ST(mle_builder_add_tensor(b, "c", MLE_DTYPE_STRING, shape, 1, packed, nbytes, &err), MLE_ERR_INVALID_STRING,
             err);
    CHECK_ST(mle_builder_add_tensor(b, "c", MLE_DTYPE_STRING, shape, 1, packed, 8, &err), MLE_ERR_INVALID_STRING, err);
    CHECK_ST0(mle_builder_free(b), MLE_OK);
    free(packed);
}

int main(void) {
    mle_model *m = build_model();
    if (!m) return tu_finish("test_strings");
    mle_session *s = NULL;
    mle_error *err = NULL;
    CHECK_ST(mle_session_new(m, &s, &err), MLE_OK, err);
    test_signature(m);
    test_alloc(s, m);
    test_caller_buffers(s);
    test_invalid_utf8(s);
    test_length_limit(s);
    test_bad_offsets(s);
    test_dtypes(s);
    test_alloc(s, m); /* the session is still sound after every failure */
    test_builder_checks();
    CHECK_ST0(mle_session_free(s), MLE_OK);
    CHECK_ST0(mle_model_free(m), MLE_OK);
    return tu_finish("test_strings");
}
