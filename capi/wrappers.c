/*
 * The public entry points of libmle. Each one is C so that it can refuse to
 * enter the Go runtime in a child process after fork(): the runtime's
 * threads do not survive fork, and a child that calls in would hang at the
 * first garbage collection (golang/go#15538). The functions that never need
 * Go (versions, status strings, errors, mle_free) are implemented here.
 */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "_cgo_export.h"
#include "internal.h"
#include "status_names.h"

static volatile sig_atomic_t mle__forked = 0;

static void mle__atfork_child(void) { mle__forked = 1; }

__attribute__((constructor)) static void mle__register_atfork(void) {
    pthread_atfork(NULL, NULL, mle__atfork_child);
}

static mle_status mle__forked_error(mle_error **err) {
    static const char msg[] =
        "MLE cannot be used in a child process after fork(): the Go runtime inside libmle does not survive "
        "fork, so a child of a process that has loaded libmle cannot call it at all (opening the model again "
        "does not help). Start workers with spawn or forkserver (exec), or load libmle only in the workers, "
        "after they are forked; the Python, Node.js and Rust bindings load it at first use, not at import.";
    if (err) {
        *err = NULL;
        mle_error *e = malloc(sizeof *e);
        if (e) {
            e->status = MLE_ERR_FORKED;
            e->message = malloc(sizeof msg);
            if (e->message) memcpy(e->message, msg, sizeof msg);
            *err = e;
        }
    }
    return MLE_ERR_FORKED;
}

#define MLE_FORK_GUARD(err) \
    do { \
        if (mle__forked) return mle__forked_error(err); \
    } while (0)

uint32_t mle_abi_version(void) { return MLE_ABI_VERSION; }

const char *mle_version(void) { return MLE_VERSION_STRING; }

const char *mle_status_string(mle_status status) {
    size_t lo = 0, hi = sizeof mle__status_names / sizeof mle__status_names[0];
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (mle__status_names[mid].code == status) return mle__status_names[mid].name;
        if (mle__status_names[mid].code < status) lo = mid + 1;
        else hi = mid;
    }
    return "MLE_ERR_UNKNOWN";
}

mle_status mle_error_status(const mle_error *err) { return err ? err->status : MLE_OK; }

const char *mle_error_message(const mle_error *err) { return err && err->message ? err->message : ""; }

void mle_error_free(mle_error *err) {
    if (!err) return;
    free(err->message);
    free(err);
}

void mle_free(void *ptr) { free(ptr); }

mle_open_options mle_default_open_options(void) {
    mle_open_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.device = MLE_DEVICE_CPU;
    return o;
}

mle_status mle_model_open(const char *path, const mle_open_options *opts, mle_model **model, mle_error **err) {
    MLE_FORK_GUARD(err);
    uintptr_t h = 0;
    mle_status st = mlego_model_open((char *)path, (mle_open_options *)opts, model ? &h : NULL, err);
    if (model) *model = (mle_model *)h;
    return st;
}

mle_status mle_model_open_memory(const void *data, size_t len, const mle_open_options *opts, mle_model **model, mle_error **err) {
    MLE_FORK_GUARD(err);
    uintptr_t h = 0;
    mle_status st = mlego_model_open_memory((void *)data, len, (mle_open_options *)opts, model ? &h : NULL, err);
    if (model) *model = (mle_model *)h;
    return st;
}

mle_status mle_model_free(mle_model *model) {
    MLE_FORK_GUARD(NULL);
    return mlego_model_free((uintptr_t)model);
}

mle_status mle_model_metadata(mle_model *model, char *buf, size_t cap, size_t *len, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_model_metadata((uintptr_t)model, buf, cap, len, err);
}

mle_status mle_model_input_count(mle_model *model, size_t *count) {
    MLE_FORK_GUARD(NULL);
    return mlego_model_input_count((uintptr_t)model, count);
}

mle_status mle_model_output_count(mle_model *model, size_t *count) {
    MLE_FORK_GUARD(NULL);
    return mlego_model_output_count((uintptr_t)model, count);
}

mle_status mle_model_input_info(mle_model *model, size_t index, mle_io_info *info, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_model_input_info((uintptr_t)model, index, info, err);
}

mle_status mle_model_output_info(mle_model *model, size_t index, mle_io_info *info, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_model_output_info((uintptr_t)model, index, info, err);
}

mle_status mle_session_new(mle_model *model, mle_session **session, mle_error **err) {
    MLE_FORK_GUARD(err);
    uintptr_t h = 0;
    mle_status st = mlego_session_new((uintptr_t)model, session ? &h : NULL, err);
    if (session) *session = (mle_session *)h;
    return st;
}

mle_session_options mle_default_session_options(void) {
    mle_session_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}

mle_status mle_session_new_opts(mle_model *model, const mle_session_options *opts, mle_session **session, mle_error **err) {
    MLE_FORK_GUARD(err);
    uintptr_t h = 0;
    mle_status st = mlego_session_new_opts((uintptr_t)model, (mle_session_options *)opts, session ? &h : NULL, err);
    if (session) *session = (mle_session *)h;
    return st;
}

mle_model_options mle_default_model_options(void) {
    mle_model_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}

mle_status mle_model_set_options(mle_model *model, const mle_model_options *opts, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_model_set_options((uintptr_t)model, (mle_model_options *)opts, err);
}

mle_status mle_model_run(mle_model *model, const mle_tensor *inputs, size_t n_inputs, mle_tensor *outputs, size_t n_outputs, const mle_run_options *opts, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_model_run((uintptr_t)model, (mle_tensor *)inputs, n_inputs, outputs, n_outputs, (mle_run_options *)opts, err);
}

mle_status mle_session_free(mle_session *session) {
    MLE_FORK_GUARD(NULL);
    return mlego_session_free((uintptr_t)session);
}

mle_status mle_session_run(mle_session *session, const mle_tensor *inputs, size_t n_inputs, mle_tensor *outputs, size_t n_outputs, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_session_run((uintptr_t)session, (mle_tensor *)inputs, n_inputs, outputs, n_outputs, err);
}

mle_run_options mle_default_run_options(void) {
    mle_run_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}

mle_status mle_session_run_opts(mle_session *session, const mle_tensor *inputs, size_t n_inputs, mle_tensor *outputs, size_t n_outputs, const mle_run_options *opts, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_session_run_opts((uintptr_t)session, (mle_tensor *)inputs, n_inputs, outputs, n_outputs, (mle_run_options *)opts, err);
}

mle_status mle_builder_new(mle_builder **builder, mle_error **err) {
    MLE_FORK_GUARD(err);
    uintptr_t h = 0;
    mle_status st = mlego_builder_new(builder ? &h : NULL, err);
    if (builder) *builder = (mle_builder *)h;
    return st;
}

mle_status mle_builder_free(mle_builder *builder) {
    MLE_FORK_GUARD(NULL);
    return mlego_builder_free((uintptr_t)builder);
}

mle_status mle_builder_set_metadata_json(mle_builder *builder, const char *json, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_set_metadata_json((uintptr_t)builder, (char *)json, err);
}

mle_status mle_builder_add_input(mle_builder *builder, const char *name, mle_dtype dtype, const int64_t *shape, int32_t rank, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_add_input((uintptr_t)builder, (char *)name, dtype, (int64_t *)shape, rank, err);
}

mle_status mle_builder_add_output(mle_builder *builder, const char *name, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_add_output((uintptr_t)builder, (char *)name, err);
}

mle_status mle_builder_add_tensor(mle_builder *builder, const char *name, mle_dtype dtype, const int64_t *shape, int32_t rank, const void *data, size_t nbytes, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_add_tensor((uintptr_t)builder, (char *)name, dtype, (int64_t *)shape, rank, (void *)data, nbytes, err);
}

mle_status mle_builder_add_node(mle_builder *builder, const char *op, const char *name, const char *const *inputs, size_t n_inputs, const char *const *outputs, size_t n_outputs, size_t *node_index, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_add_node((uintptr_t)builder, (char *)op, (char *)name, (char **)inputs, n_inputs, (char **)outputs, n_outputs, node_index, err);
}

mle_status mle_builder_set_attr_int(mle_builder *builder, size_t node, const char *name, int64_t value, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_set_attr_int((uintptr_t)builder, node, (char *)name, value, err);
}

mle_status mle_builder_set_attr_float(mle_builder *builder, size_t node, const char *name, double value, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_set_attr_float((uintptr_t)builder, node, (char *)name, value, err);
}

mle_status mle_builder_set_attr_string(mle_builder *builder, size_t node, const char *name, const char *value, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_set_attr_string((uintptr_t)builder, node, (char *)name, (char *)value, err);
}

mle_status mle_builder_set_attr_ints(mle_builder *builder, size_t node, const char *name, const int64_t *values, size_t n, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_set_attr_ints((uintptr_t)builder, node, (char *)name, (int64_t *)values, n, err);
}

mle_status mle_builder_set_attr_floats(mle_builder *builder, size_t node, const char *name, const double *values, size_t n, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_set_attr_floats((uintptr_t)builder, node, (char *)name, (double *)values, n, err);
}

mle_status mle_builder_save(mle_builder *builder, const char *path, uint64_t *bytes_written, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_save((uintptr_t)builder, (char *)path, bytes_written, err);
}

mle_status mle_builder_save_flags(mle_builder *builder, const char *path, uint32_t flags, uint64_t *bytes_written,
                                  mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_save_flags((uintptr_t)builder, (char *)path, flags, bytes_written, err);
}

mle_status mle_builder_serialize(mle_builder *builder, void **data, size_t *len, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_serialize((uintptr_t)builder, data, len, err);
}

mle_trust_options mle_default_trust_options(void) {
    mle_trust_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}

mle_write_options mle_default_write_options(void) {
    mle_write_options o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    return o;
}

mle_status mle_model_open_with(const char *path, const mle_open_options *opts, const mle_trust_options *trust,
                               mle_model **model, mle_error **err) {
    MLE_FORK_GUARD(err);
    uintptr_t h = 0;
    mle_status st = mlego_model_open_with((char *)path, (mle_open_options *)opts, (mle_trust_options *)trust,
                                          model ? &h : NULL, err);
    if (model) *model = (mle_model *)h;
    return st;
}

mle_status mle_model_open_memory_with(const void *data, size_t len, const mle_open_options *opts,
                                      const mle_trust_options *trust, mle_model **model, mle_error **err) {
    MLE_FORK_GUARD(err);
    uintptr_t h = 0;
    mle_status st = mlego_model_open_memory_with((void *)data, len, (mle_open_options *)opts,
                                                 (mle_trust_options *)trust, model ? &h : NULL, err);
    if (model) *model = (mle_model *)h;
    return st;
}

mle_status mle_builder_save_with(mle_builder *builder, const char *path, const mle_write_options *opts,
                                 uint64_t *bytes_written, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_builder_save_with((uintptr_t)builder, (char *)path, (mle_write_options *)opts, bytes_written, err);
}

mle_status mle_convert_memory(const void *data, size_t len, const mle_trust_options *trust,
                              const mle_write_options *opts, void **out, size_t *out_len, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_convert_memory((void *)data, len, (mle_trust_options *)trust, (mle_write_options *)opts, out,
                                out_len, err);
}

mle_status mle_convert_file(const char *in, const char *out, const mle_trust_options *trust,
                            const mle_write_options *opts, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_convert_file((char *)in, (char *)out, (mle_trust_options *)trust, (mle_write_options *)opts, err);
}

mle_status mle_sign_file(const char *in, const char *out, const void *key, size_t key_len, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_file_op(0, (char *)in, (char *)out, (void *)key, key_len, err);
}

mle_status mle_encrypt_file(const char *in, const char *out, const void *key, size_t key_len, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_file_op(1, (char *)in, (char *)out, (void *)key, key_len, err);
}

mle_status mle_decrypt_file(const char *in, const char *out, const void *key, size_t key_len, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_file_op(2, (char *)in, (char *)out, (void *)key, key_len, err);
}

mle_status mle_keygen(const char *prefix, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_keygen((char *)prefix, err);
}

mle_status mle_registry(const char *request, char **response, mle_error **err) {
    MLE_FORK_GUARD(err);
    return mlego_registry((char *)request, response, err);
}
