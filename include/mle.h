/*
 * mle.h — the C API of MLE, a runtime for machine-learning models stored in
 * .mle files (see docs/FORMAT.md and docs/C_API.md).
 *
 * Conventions
 *  - Every function that can fail returns an mle_status (MLE_OK == 0). The
 *    low 8 bits are the primary code; the upper bits refine it (SQLite's
 *    scheme): MLE_STATUS_PRIMARY(s) gives the class to branch on.
 *  - Functions taking `mle_error **err` store details there on failure (a
 *    heap object: free it with mle_error_free) and NULL on success. Pass NULL
 *    if you only want the status.
 *  - Handles (mle_model*, mle_session*, mle_builder*) are opaque and checked:
 *    NULL, freed, forged or wrong-type handles give MLE_ERR_BAD_HANDLE.
 *  - The library never keeps a pointer you pass in after the call returns,
 *    and never hands out memory you must free with anything but mle_free /
 *    mle_error_free.
 *  - After fork(), every call in the child returns MLE_ERR_FORKED at once:
 *    the Go runtime inside libmle does not survive fork, and a child of a
 *    process that has loaded libmle cannot use it at all. Start workers with
 *    spawn/exec (or load libmle only in the children).
 *  - Bounded: no file and no input makes a call abort, hang or exhaust the
 *    process. Memory a run needs is checked against max_arena_bytes before
 *    it is allocated (MLE_ERR_NO_MEMORY_LIMIT) and taken from the operating
 *    system through a path that can fail (MLE_ERR_NO_MEMORY_SYSTEM); a run
 *    can be cancelled or given a timeout (mle_session_run_opts).
 *
 * Thread safety
 *  - mle_model: immutable; any function on it may be called from any thread
 *    concurrently. Freeing it while its sessions live is allowed: sessions
 *    keep the model's data alive.
 *  - mle_session: one thread at a time. Concurrent calls on one session are
 *    detected and refused with MLE_ERR_BUSY. Use one session per thread.
 *  - mle_builder: one thread at a time (also refused with MLE_ERR_BUSY).
 */
#ifndef MLE_H
#define MLE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* BEGIN GENERATED: abi version (cmd/mle-gentables) - do not edit */
/* Bumped on any incompatible change of this header. Compare with
 * mle_abi_version() at load time. It is the library's SONAME version:
 * libmle.so.1. */
#define MLE_ABI_VERSION 1u
/* END GENERATED: abi version */

/* BEGIN GENERATED: library version (cmd/mle-gentables) - do not edit */
/* The library version this header comes with (mle_version() gives the
 * loaded library's). MLE_VERSION_NUMBER compares: 10203 is 1.2.3. */
#define MLE_VERSION_MAJOR 0
#define MLE_VERSION_MINOR 1
#define MLE_VERSION_PATCH 0
#define MLE_VERSION_STRING "0.1.0"
#define MLE_VERSION_NUMBER (MLE_VERSION_MAJOR * 10000 + MLE_VERSION_MINOR * 100 + MLE_VERSION_PATCH)
/* END GENERATED: library version */

/* Largest tensor rank MLE handles. */
#define MLE_MAX_RANK 8

/* ---------------------------------------------------------------- status */

typedef uint32_t mle_status;

#define MLE_STATUS_PRIMARY(s) ((mle_status)(s) & 0xffu)

/* BEGIN GENERATED: status codes (cmd/mle-gentables) - do not edit */
/* Primary codes. */
#define MLE_OK                         0u
#define MLE_ERR_INVALID_ARGUMENT       1u  /* a bad argument or option */
#define MLE_ERR_BAD_HANDLE             2u  /* NULL, freed, forged or wrong-type handle */
#define MLE_ERR_IO                     3u  /* open/read/map/write failed, or mapped memory faulted */
#define MLE_ERR_FORMAT                 4u  /* the file is not a valid .mle file */
#define MLE_ERR_CHECKSUM               5u  /* a CRC does not match: the file is damaged */
#define MLE_ERR_GRAPH                  6u  /* the model's graph is invalid */
#define MLE_ERR_METADATA               7u  /* the metadata JSON is invalid */
#define MLE_ERR_UNSUPPORTED            8u  /* valid, but not supported by this build */
#define MLE_ERR_SHAPE                  9u  /* input shapes do not fit the model */
#define MLE_ERR_DTYPE                  10u /* input dtype does not match the model */
#define MLE_ERR_BUFFER_TOO_SMALL       11u /* an output buffer is too small; the size needed was written */
#define MLE_ERR_FORKED                 12u /* called in a child process after fork() */
#define MLE_ERR_NO_MEMORY              13u /* a run would need more memory than allowed */
#define MLE_ERR_INTERNAL               14u /* a bug in MLE, e.g. a caught panic: please report it */
#define MLE_ERR_BUSY                   15u /* the session or builder is in use by another thread */
#define MLE_ERR_CANCELLED              16u /* the run was cancelled or ran past its timeout */
#define MLE_ERR_SECURITY               17u /* a signature, key, decryption or access-policy check failed */

/* Extended codes: primary | (n << 8). */
#define MLE_ERR_INVALID_NULL           257u  /* a required pointer was NULL */
#define MLE_ERR_INVALID_OPTIONS        513u  /* bad options struct (struct_size or a field) */
#define MLE_ERR_INVALID_NAME           769u  /* no input or output has that name */
#define MLE_ERR_INVALID_VALUE          1025u /* a value outside its documented range */
#define MLE_ERR_INVALID_BUFFER         1281u /* reading or writing a caller's buffer faulted */
#define MLE_ERR_INVALID_STRING         1537u /* a string tensor's offsets are inconsistent, an element is not UTF-8 or is longer than allowed */
#define MLE_ERR_INVALID_CATEGORY       1793u /* a category the model did not see in training, where it was fitted to refuse them */

#define MLE_ERR_IO_OPEN                259u  /* the file could not be opened or stat'ed */
#define MLE_ERR_IO_READ                515u  /* reading failed */
#define MLE_ERR_IO_MAP                 771u  /* mapping the file (mmap) failed */
#define MLE_ERR_IO_FAULT               1027u /* the mapped file was truncated while in use */
#define MLE_ERR_IO_WRITE               1283u /* writing, syncing or renaming failed */
#define MLE_ERR_IO_NOT_FILE            1539u /* not a regular file (FIFO, device, directory) */

#define MLE_ERR_FORMAT_TRUNCATED       260u  /* shorter than its structures say */
#define MLE_ERR_FORMAT_BAD_MAGIC       516u  /* not an .mle file */
#define MLE_ERR_FORMAT_VERSION         772u  /* a newer major format version */
#define MLE_ERR_FORMAT_REQUIRED_FLAG   1028u /* requires a feature this build does not know */
#define MLE_ERR_FORMAT_ENDIAN          1284u /* not little-endian */
#define MLE_ERR_FORMAT_SECTION_BOUNDS  1540u /* a section lies outside the file */
#define MLE_ERR_FORMAT_SECTION_OVERLAP 1796u /* sections or tensors overlap */
#define MLE_ERR_FORMAT_GAP             2052u /* gap, trailing bytes or non-zero padding */
#define MLE_ERR_FORMAT_HEADER          2308u /* a bad header or section-table field */
#define MLE_ERR_FORMAT_MISALIGNED      2564u /* tensor data not 64-byte aligned */
#define MLE_ERR_FORMAT_SHAPE_OVERFLOW  2820u /* shape x itemsize overflows */
#define MLE_ERR_FORMAT_NEGATIVE_DIM    3076u /* a stored tensor has a negative dimension */
#define MLE_ERR_FORMAT_DTYPE           3332u /* unknown dtype id */
#define MLE_ERR_FORMAT_TENSOR_BOUNDS   3588u /* tensor data runs past the WEIGHTS section */
#define MLE_ERR_FORMAT_DESCRIPTOR      3844u /* another malformed tensor descriptor */
#define MLE_ERR_FORMAT_STRING          4100u /* a stored string tensor is malformed (offsets, UTF-8, length) */
#define MLE_ERR_FORMAT_SIGNATURE       4356u /* the SIGNATURE section or its manifest does not decode */
#define MLE_ERR_FORMAT_MANIFEST        4612u /* the signed manifest does not describe this file (sections or tensors differ in number or place) */
#define MLE_ERR_FORMAT_CODEC           4868u /* a compressed or quantized tensor's stream is corrupt */
#define MLE_ERR_FORMAT_CODEC_SIZE      5124u /* a compressed stream decodes to more or fewer bytes than declared */
#define MLE_ERR_FORMAT_CHUNK_TABLE     5380u /* a chunk table is malformed or points outside its tensor */
#define MLE_ERR_FORMAT_ENCRYPTION      5636u /* the ENCRYPTION or SEALED section of an encrypted file is malformed */

#define MLE_ERR_CHECKSUM_HEADER        261u
#define MLE_ERR_CHECKSUM_SECTION       517u
#define MLE_ERR_CHECKSUM_TENSOR        773u

#define MLE_ERR_GRAPH_MISSING_TENSOR   262u  /* a node reads a tensor nothing defines */
#define MLE_ERR_GRAPH_CYCLE            518u
#define MLE_ERR_GRAPH_UNKNOWN_OP       774u
#define MLE_ERR_GRAPH_ATTRIBUTE        1030u /* missing, unknown, duplicate or wrongly typed attribute */
#define MLE_ERR_GRAPH_SHAPE            1286u /* shapes or arities do not fit an op */
#define MLE_ERR_GRAPH_MALFORMED        1542u /* the GRAPH section does not decode */
#define MLE_ERR_GRAPH_DUPLICATE        1798u /* a tensor name is defined twice */
#define MLE_ERR_GRAPH_DTYPE            2054u /* dtypes do not fit an op */
#define MLE_ERR_GRAPH_TOO_LARGE        2310u /* a tensor's static size exceeds what any run could hold */
#define MLE_ERR_GRAPH_TREE             2566u /* a tree ensemble's node arrays are malformed (cycles, shared nodes, indices or offsets out of range) */

#define MLE_ERR_METADATA_SYNTAX        263u  /* not valid JSON */
#define MLE_ERR_METADATA_DUPLICATE     519u  /* duplicate JSON object key */
#define MLE_ERR_METADATA_TOO_LARGE     775u  /* over the size cap */
#define MLE_ERR_METADATA_DEPTH         1031u /* nested too deeply */
#define MLE_ERR_METADATA_FIELD         1287u /* a known field has the wrong type or value, or a writer got a key the format does not define */
#define MLE_ERR_METADATA_UTF8          1543u /* invalid UTF-8 */
#define MLE_ERR_METADATA_SIGNATURE     1799u /* inputs/outputs disagree with the graph */
#define MLE_ERR_METADATA_MISSING_KEY   2055u /* a required field is absent */
#define MLE_ERR_METADATA_POLICY        2311u /* the access policy is malformed or names a claim this runtime does not know */

#define MLE_ERR_UNSUPPORTED_ENCODING   264u  /* a tensor encoding id this build does not know */
#define MLE_ERR_UNSUPPORTED_DEVICE     520u  /* e.g. CUDA in a CPU-only build */
#define MLE_ERR_UNSUPPORTED_FEATURE    776u

#define MLE_ERR_SHAPE_TOO_LARGE        265u  /* at these input shapes a tensor's size overflows */

#define MLE_ERR_NO_MEMORY_LIMIT        269u  /* the run needs more than max_arena_bytes */
#define MLE_ERR_NO_MEMORY_SYSTEM       525u  /* the operating system refused the memory */

#define MLE_ERR_CANCELLED_DEADLINE     272u  /* the run took longer than its timeout */

#define MLE_ERR_SIGNATURE_INVALID      273u  /* a signature does not verify over the file's manifest */
#define MLE_ERR_SIGNATURE_UNTRUSTED    529u  /* the file is signed, but by none of the trusted keys */
#define MLE_ERR_SIGNATURE_REQUIRED     785u  /* a signature is required and the file has none */
#define MLE_ERR_DIGEST_MISMATCH        1041u /* a section or tensor changed after signing: its SHA-256 differs from the signed manifest */
#define MLE_ERR_KEY_REQUIRED           1297u /* the file is encrypted and no key was given */
#define MLE_ERR_KEY_WRONG              1553u /* the key is not the one the file was encrypted with */
#define MLE_ERR_KEY_INVALID            1809u /* a key or key file has the wrong length or format */
#define MLE_ERR_DECRYPT                2065u /* encrypted data was tampered with or truncated: a chunk fails authentication */
#define MLE_ERR_POLICY                 2321u /* the file's access policy refuses this host, user, time or runtime */
/* END GENERATED: status codes */

/* ----------------------------------------------------------------- dtypes */

/* Element types. The ids equal ONNX TensorProto.DataType values. */
typedef int32_t mle_dtype;
/* BEGIN GENERATED: dtypes (cmd/mle-gentables) - do not edit */
#define MLE_DTYPE_FLOAT32  1
#define MLE_DTYPE_UINT8    2
#define MLE_DTYPE_INT8     3
#define MLE_DTYPE_INT32    6
#define MLE_DTYPE_INT64    7
#define MLE_DTYPE_STRING   8  /* UTF-8 text, packed as in §7.1 */
#define MLE_DTYPE_BOOL     9  /* 0 or 1 */
#define MLE_DTYPE_FLOAT16  10 /* IEEE half */
#define MLE_DTYPE_FLOAT64  11
#define MLE_DTYPE_BFLOAT16 16
/* END GENERATED: dtypes */

/* String tensors (MLE_DTYPE_STRING) are passed and returned packed, as they
 * are stored (docs/FORMAT.md §7.1): for n elements, n+1 little-endian
 * uint64 offsets, then the UTF-8 bytes back to back. offsets[0] = 0, they
 * never decrease, and offsets[n] is the number of text bytes; element i is
 * bytes offsets[i]..offsets[i+1]. nbytes = 8*(n+1) + offsets[n]. Every
 * element must be valid UTF-8 of at most MLE_MAX_STRING_BYTES bytes, else
 * MLE_ERR_INVALID_STRING names the input. A string output's size is known
 * only once the run has computed it: pass data = NULL to have the library
 * allocate it, or a buffer that the run fills or answers with
 * MLE_ERR_BUFFER_TOO_SMALL and the size needed in nbytes (0 when the run
 * stopped before computing it). */
#define MLE_MAX_STRING_BYTES (1u << 20)

/* -------------------------------------------------------- handles, errors */

typedef struct mle_model mle_model;
typedef struct mle_session mle_session;
typedef struct mle_builder mle_builder;
typedef struct mle_error mle_error;

/* MLE_ABI_VERSION of the loaded library. */
uint32_t mle_abi_version(void);

/* Library version, e.g. "0.1.0". Static storage. */
const char *mle_version(void);

/* Name of a status code, e.g. "MLE_ERR_FORMAT_BAD_MAGIC". Static storage;
 * never NULL (unknown codes give "MLE_ERR_UNKNOWN"). */
const char *mle_status_string(mle_status status);

/* The status an error carries. 0 for NULL. */
mle_status mle_error_status(const mle_error *err);

/* The error's message: what failed and where. Valid until mle_error_free.
 * "" for NULL. */
const char *mle_error_message(const mle_error *err);

/* Frees an error. NULL is a no-op. */
void mle_error_free(mle_error *err);

/* Frees memory the library allocated for you (output tensors, serialized
 * files). NULL is a no-op. */
void mle_free(void *ptr);

/* ---------------------------------------------------------------- models */

#define MLE_DEVICE_CPU  0
#define MLE_DEVICE_CUDA 1

typedef struct mle_open_options {
    size_t struct_size;      /* sizeof(mle_open_options); set by mle_default_open_options */
    int32_t verify;          /* non-zero: check every CRC, weights included */
    int32_t read_all;        /* non-zero: read the file into memory instead of mapping it */
    int32_t threads;         /* intra-op threads: 0 = number of CPUs, at most 1024 */
    int32_t device;          /* MLE_DEVICE_CPU; MLE_DEVICE_CUDA is MLE_ERR_UNSUPPORTED_DEVICE in this build */
    /* Cap on the memory a session allocates for one run: activation arena,
     * kernel scratch and plan tables, staging copies of misaligned inputs and
     * the outputs the library allocates. A run that would need more fails
     * with MLE_ERR_NO_MEMORY_LIMIT before allocating anything. A model whose
     * compressed or quantized tensors decode to more than this fails the
     * same way at its first run. 0 = the
     * default: 16 GiB, or 3/4 of what this process may use if that is less
     * (physical memory, cgroup memory.max, RLIMIT_AS, RLIMIT_DATA). */
    int64_t max_arena_bytes;
} mle_open_options;

/* Default options. */
mle_open_options mle_default_open_options(void);

/* Opens and validates the model at path (memory-mapped unless read_all).
 * opts may be NULL for defaults. On success *model is a new handle. */
mle_status mle_model_open(const char *path, const mle_open_options *opts, mle_model **model, mle_error **err);

/* Opens a model from a buffer holding a whole .mle file. The bytes are
 * copied; the buffer may be freed after the call. */
mle_status mle_model_open_memory(const void *data, size_t len, const mle_open_options *opts, mle_model **model,
                                 mle_error **err);

/* Frees a model handle. Sessions created from it stay usable. */
mle_status mle_model_free(mle_model *model);

/* The METADATA section's JSON (name, producer, version, inputs, outputs, ...).
 * Sets *len to its length in bytes (without the terminating NUL). If buf is
 * not NULL, copies it NUL-terminated; cap must be at least *len + 1, else
 * MLE_ERR_BUFFER_TOO_SMALL. Call with buf = NULL first to size the buffer. */
mle_status mle_model_metadata(mle_model *model, char *buf, size_t cap, size_t *len, mle_error **err);

/* One graph input or output. */
typedef struct mle_io_info {
    size_t struct_size;           /* set by the caller to sizeof(mle_io_info) */
    const char *name;             /* valid until the model handle is freed */
    mle_dtype dtype;
    int32_t rank;
    int64_t shape[MLE_MAX_RANK];  /* -1 marks a dimension sized at run time */
} mle_io_info;

mle_status mle_model_input_count(mle_model *model, size_t *count);
mle_status mle_model_output_count(mle_model *model, size_t *count);
mle_status mle_model_input_info(mle_model *model, size_t index, mle_io_info *info, mle_error **err);
mle_status mle_model_output_info(mle_model *model, size_t index, mle_io_info *info, mle_error **err);

/* -------------------------------------------------------------- sessions */

/* A tensor passed to or returned from mle_session_run. */
typedef struct mle_tensor {
    /* Inputs: which graph input (NULL: by position). Outputs: which graph
     * output (NULL: by position); the library sets it to the output's name,
     * valid while the session lives. */
    const char *name;
    mle_dtype dtype;              /* inputs: must equal the model's; outputs: set by the library */
    int32_t rank;                 /* inputs: given; outputs: set by the library */
    int64_t shape[MLE_MAX_RANK];  /* inputs: given; outputs: set by the library */
    /* Inputs: the elements, C order, little-endian; read during the call only.
     * Outputs: a buffer of nbytes bytes to fill, or NULL to have the library
     * allocate one (free it with mle_free). */
    void *data;
    /* Inputs: bytes at data (must equal the shape's size). Outputs: capacity
     * on entry; bytes written (or needed, with MLE_ERR_BUFFER_TOO_SMALL) on return. */
    size_t nbytes;
} mle_tensor;

/* Creates a session: per-thread state (activation arena, cached plans). The
 * arena is mapped from the operating system, not taken from a heap, so a
 * machine that has run out of memory gives MLE_ERR_NO_MEMORY_SYSTEM. */
mle_status mle_session_new(mle_model *model, mle_session **session, mle_error **err);

/* Per-session options. */
typedef struct mle_session_options {
    size_t struct_size;       /* sizeof(mle_session_options); set by mle_default_session_options */
    /* This session's memory cap for a run (see mle_open_options.max_arena_bytes).
     * 0 = the model's. */
    int64_t max_arena_bytes;
    /* Plans kept, one per distinct set of input shapes and outputs (a plan is
     * the shapes, arena layout and bound kernels). 0 = 16, at most 4096. */
    int32_t max_cached_plans;
} mle_session_options;

/* Default session options: the model's memory cap, 16 plans. */
mle_session_options mle_default_session_options(void);

/* mle_session_new with options (opts may be NULL: the defaults). */
mle_status mle_session_new_opts(mle_model *model, const mle_session_options *opts, mle_session **session,
                                mle_error **err);

/* Frees a session. MLE_ERR_BUSY if another thread is running it. */
mle_status mle_session_free(mle_session *session);

/* Runs the model. n_inputs must equal the model's input count. n_outputs may
 * be anything from 1 to the model's output count: only the outputs asked for
 * (by name, or the first n_outputs by position) are computed, and nodes that
 * feed none of them do not run. Runs with the same input shapes and outputs
 * as an earlier run allocate nothing. Outputs the library allocated are freed
 * again if the run fails.
 *
 * Buffers: each input's data must hold at least nbytes readable bytes, each
 * caller-provided output buffer nbytes writable bytes; a buffer that faults
 * gives MLE_ERR_INVALID_BUFFER naming the tensor. Output buffers must not
 * overlap each other or any input's bytes (MLE_ERR_INVALID_VALUE): outputs
 * may be views of inputs, so writing one could change another. nbytes above
 * PTRDIFF_MAX is MLE_ERR_INVALID_VALUE. */
mle_status mle_session_run(mle_session *session, const mle_tensor *inputs, size_t n_inputs, mle_tensor *outputs,
                           size_t n_outputs, mle_error **err);

/* Per-run options (cancellation and timeout). */
typedef struct mle_run_options {
    size_t struct_size; /* sizeof(mle_run_options); set by mle_default_run_options */
    /* > 0: the run fails with MLE_ERR_CANCELLED_DEADLINE once it has taken
     * this many microseconds. 0: no limit. Negative: MLE_ERR_INVALID_OPTIONS. */
    int64_t timeout_us;
    /* Optional. The run fails with MLE_ERR_CANCELLED soon after *cancel
     * becomes non-zero; a run started with *cancel already non-zero does no
     * work. Set it from any thread or from a signal handler. The library
     * reads it during the call only and never writes it. */
    const volatile int32_t *cancel;
} mle_run_options;

/* Default run options: no timeout, no cancel flag. */
mle_run_options mle_default_run_options(void);

/* mle_session_run with options (opts may be NULL: no timeout, no flag).
 * Cancellation and the timeout are checked between nodes and between chunks
 * of every long kernel, so a run stops within about a millisecond of work
 * (the longest single row of a row-wise op, e.g. one softmax row, runs to
 * its end). A cancelled run leaves caller output buffers with unspecified
 * contents and frees the outputs the library allocated. */
mle_status mle_session_run_opts(mle_session *session, const mle_tensor *inputs, size_t n_inputs,
                                mle_tensor *outputs, size_t n_outputs, const mle_run_options *opts,
                                mle_error **err);

/* Serving options of a model (mle_model_set_options). */
typedef struct mle_model_options {
    size_t struct_size; /* sizeof(mle_model_options); set by mle_default_model_options */
    /* The most sessions mle_model_run keeps and runs at once; further
     * concurrent calls wait for one. 0 = the number of CPUs, at most 65536. */
    int32_t max_sessions;
    /* How long an idle worker thread spins for new work before it sleeps,
     * in microseconds: back-to-back parallel loops then start without a
     * wake-up (0.1-0.3 ms on a loaded VM), at the price of CPU time.
     * 0 = the default (1000), -1 = never spin, at most 100000. */
    int32_t spin_us;
} mle_model_options;

/* Default model options: one session per CPU, 1 ms of spinning. */
mle_model_options mle_default_model_options(void);

/* Changes a model's serving options; runs that start afterwards use them
 * (a smaller max_sessions lets the sessions in use finish). Any thread. */
mle_status mle_model_set_options(mle_model *model, const mle_model_options *opts, mle_error **err);

/* Runs the model without a session: any number of threads may call it at
 * once with one model handle. Each call borrows a session from the model's
 * pool; at most max_sessions (mle_model_options) run together, the others
 * wait for one within their timeout and cancel flag (opts may be NULL).
 * Output names are valid while the model handle lives. Otherwise as
 * mle_session_run_opts. */
mle_status mle_model_run(mle_model *model, const mle_tensor *inputs, size_t n_inputs, mle_tensor *outputs,
                         size_t n_outputs, const mle_run_options *opts, mle_error **err);

/* --------------------------------------------------------------- builder */

/* The builder assembles a model and writes an .mle file. It is the only
 * writer of the format: exporters in every language use it. Names must be
 * non-empty UTF-8. Validation (references, cycles, ops, attributes, shapes)
 * happens in mle_builder_save / mle_builder_serialize. */
mle_status mle_builder_new(mle_builder **builder, mle_error **err);
mle_status mle_builder_free(mle_builder *builder);

/* Descriptive metadata as a JSON object with any of: "name", "description",
 * "version" (semver), "created" (RFC 3339; default: the save time),
 * "producer": {"name", "version"}, "properties": {string: string}. Any other
 * key is refused (MLE_ERR_METADATA_FIELD): the file would not keep it. */
mle_status mle_builder_set_metadata_json(mle_builder *builder, const char *json, mle_error **err);

/* Declares a graph input; -1 in shape marks a dimension sized at run time. */
mle_status mle_builder_add_input(mle_builder *builder, const char *name, mle_dtype dtype, const int64_t *shape,
                                 int32_t rank, mle_error **err);

/* Declares a graph output (dtype and shape are inferred). */
mle_status mle_builder_add_output(mle_builder *builder, const char *name, mle_error **err);

/* Stores a constant tensor (weights). data (nbytes, C order, little-endian)
 * is copied. */
mle_status mle_builder_add_tensor(mle_builder *builder, const char *name, mle_dtype dtype, const int64_t *shape,
                                  int32_t rank, const void *data, size_t nbytes, mle_error **err);

/* Appends a node running op (ONNX names and semantics: "Gemm", "Relu", ...).
 * name may be NULL. An input or output that is NULL or "" is an absent
 * optional argument. *node_index (may be NULL) receives the node's index
 * for the attribute setters. */
mle_status mle_builder_add_node(mle_builder *builder, const char *op, const char *name, const char *const *inputs,
                                size_t n_inputs, const char *const *outputs, size_t n_outputs, size_t *node_index,
                                mle_error **err);

mle_status mle_builder_set_attr_int(mle_builder *builder, size_t node, const char *name, int64_t value,
                                    mle_error **err);
mle_status mle_builder_set_attr_float(mle_builder *builder, size_t node, const char *name, double value,
                                      mle_error **err);
mle_status mle_builder_set_attr_string(mle_builder *builder, size_t node, const char *name, const char *value,
                                       mle_error **err);
mle_status mle_builder_set_attr_ints(mle_builder *builder, size_t node, const char *name, const int64_t *values,
                                     size_t n, mle_error **err);
mle_status mle_builder_set_attr_floats(mle_builder *builder, size_t node, const char *name, const double *values,
                                       size_t n, mle_error **err);

/* Validates the model and writes it to path atomically (temporary file,
 * fsync, rename): on failure path is untouched and nothing is left behind.
 * *bytes_written (may be NULL) receives the file size. */
mle_status mle_builder_save(mle_builder *builder, const char *path, uint64_t *bytes_written, mle_error **err);

/* mle_builder_save's flags. MLE_SAVE_NO_SYNC skips the fsyncs of the file
 * and its directory: the file still appears whole or not at all, to every
 * reader and after the process crashes, but a power loss soon after may
 * lose it (as with most writers); the fsyncs are most of a small model's
 * save. */
#define MLE_SAVE_NO_SYNC 1u

/* mle_builder_save with flags (0: as mle_builder_save). Unknown flag bits
 * are MLE_ERR_INVALID_VALUE. */
mle_status mle_builder_save_flags(mle_builder *builder, const char *path, uint32_t flags, uint64_t *bytes_written,
                                  mle_error **err);

/* Validates the model and returns the file's bytes in *data (free with
 * mle_free) and their count in *len. */
mle_status mle_builder_serialize(mle_builder *builder, void **data, size_t *len, mle_error **err);

/* ----------------------------------------------- trust: signing, encryption, compression
 * docs/security.md explains what signing, encryption and access policies protect
 * against and what they do not; docs/FORMAT.md §3.1, §6.1 and §10 the bytes. */

/* Keys for opening a model (mle_model_open_with). A separate struct from
 * mle_open_options, which is returned by value and so never grows. */
typedef struct mle_trust_options {
    size_t struct_size;              /* sizeof(mle_trust_options); set by mle_default_trust_options */
    const void *key;                 /* an encrypted file's key: 32 bytes; NULL for plain files */
    size_t key_len;
    /* Ed25519 public keys, each 32 raw bytes or a PEM "PUBLIC KEY". A signed
     * file must then carry a valid signature by one of them
     * (MLE_ERR_SIGNATURE_UNTRUSTED, MLE_ERR_SIGNATURE_INVALID); an unsigned
     * file opens unless require_signature is set. Copied: the caller's
     * buffers are theirs again when the call returns. */
    const void *const *trusted_keys;
    const size_t *trusted_key_lens;
    size_t n_trusted_keys;
    int32_t require_signature;       /* non-zero: refuse an unsigned file (MLE_ERR_SIGNATURE_REQUIRED); needs trusted keys */
} mle_trust_options;

/* Default trust options: no key, no trusted keys, signatures not required. */
mle_trust_options mle_default_trust_options(void);

/* mle_model_open and mle_model_open_memory with keys (trust may be NULL: the
 * defaults). Opening stays O(1) in the weights for signed files: the
 * signature and the small sections' digests are checked at open, each
 * tensor's SHA-256 when it is first used (all of them with verify). An
 * access policy in the file is enforced here (MLE_ERR_POLICY). */
mle_status mle_model_open_with(const char *path, const mle_open_options *opts, const mle_trust_options *trust,
                               mle_model **model, mle_error **err);
mle_status mle_model_open_memory_with(const void *data, size_t len, const mle_open_options *opts,
                                      const mle_trust_options *trust, mle_model **model, mle_error **err);

/* How a model is stored (mle_builder_save_with, mle_convert_file, mle_convert_memory). */
typedef struct mle_write_options {
    size_t struct_size;          /* sizeof(mle_write_options); set by mle_default_write_options */
    /* Compression of every tensor, in independent chunks: "zstd", "lz4",
     * "brotli", "none"; NULL or "keep": as the input has it (builder: none). */
    const char *compress;
    int32_t level;               /* the codec's level; 0: its default */
    /* Quantization of the weights of Gemm and MatMul: "fp16", "bf16", "int8"
     * (per output channel), "none"; NULL or "keep": as the input has it.
     * Never touches integer data, tables or tree thresholds. The file's
     * "mle.quantization" property records what changed and the largest
     * change of a weight. */
    const char *quantize;
    /* NULL, or a JSON object of string to string added to the metadata's
     * properties (replacing equal keys). */
    const char *properties_json;
    const void *sign_key;        /* NULL, or an Ed25519 private key: PEM "PRIVATE KEY" (PKCS #8) or a 32-byte seed */
    size_t sign_key_len;
    const void *encrypt_key;     /* NULL, or 32 bytes: the file is encrypted (after signing) */
    size_t encrypt_key_len;
    uint32_t flags;              /* MLE_SAVE_NO_SYNC */
} mle_write_options;

/* Default write options: keep encodings, no properties, no key, fsync. */
mle_write_options mle_default_write_options(void);

/* mle_builder_save storing the model as opts says (NULL: as mle_builder_save). */
mle_status mle_builder_save_with(mle_builder *builder, const char *path, const mle_write_options *opts,
                                 uint64_t *bytes_written, mle_error **err);

/* Re-stores a model held in memory (opened with trust, which may be NULL)
 * as opts says; the new file's bytes go to *out (free with mle_free). Old
 * signatures are dropped: they would not verify over the new bytes. */
mle_status mle_convert_memory(const void *data, size_t len, const mle_trust_options *trust,
                              const mle_write_options *opts, void **out, size_t *out_len, mle_error **err);

/* mle_convert_memory from file in to file out (atomically; out may be in). */
mle_status mle_convert_file(const char *in, const char *out, const mle_trust_options *trust,
                            const mle_write_options *opts, mle_error **err);

/* Adds an Ed25519 signature (key: PEM "PRIVATE KEY" or a 32-byte seed) to
 * the model at in and writes it to out (NULL: in place). The file is
 * verified first; existing signatures are kept. Encrypted files are
 * refused: sign before encrypting. */
mle_status mle_sign_file(const char *in, const char *out, const void *key, size_t key_len, mle_error **err);

/* Encrypts the model at in with a 32-byte key (AES-256-GCM in chunks) into
 * out (NULL: in place); decrypts it back. */
mle_status mle_encrypt_file(const char *in, const char *out, const void *key, size_t key_len, mle_error **err);
mle_status mle_decrypt_file(const char *in, const char *out, const void *key, size_t key_len, mle_error **err);

/* Writes a new Ed25519 key pair: prefix.key (PKCS #8 PEM, mode 0600) and
 * prefix.pub (PKIX PEM). An existing prefix.key is not replaced. */
mle_status mle_keygen(const char *prefix, mle_error **err);

/* ---- Model registry -------------------------------------------------------
 * A registry keeps versions of models in a directory, in the layout an
 * mle serve repository has: DIR/<model>/<version>/model.mle with a record
 * (registry.json) beside each version and aliases in DIR/<model>/config.json.
 * Writers lock DIR/.registry.lock; every change is a rename.
 *
 * One call takes a JSON request and returns a JSON response in *response
 * (NUL-terminated, free it with mle_free):
 *   {"verb":"register","dir":D,"file":F,"model":M[,"version":N][,"alias":A][,"key":base64]}
 *       -> {"record":{...},"path":P}
 *   {"verb":"list","dir":D}                        -> {"models":[{"name","versions":[...],"aliases":{...}}]}
 *   {"verb":"show","dir":D,"model":M,"ref":R}      -> {"record":{...},"path":P}   (R: number, alias, "latest")
 *   {"verb":"compare","dir":D,"model":M,"ref":R1,"ref2":R2} -> {"a","b","differences":[{"field","a","b"}]}
 *   {"verb":"alias","dir":D,"model":M,"alias":A,"version":N}, {"verb":"unalias",...,"alias":A} -> {}
 *   {"verb":"deprecate","dir":D,"model":M,"version":N,"reason":T} (T "" undoes) -> {}
 *   {"verb":"gc","dir":D[,"keep":N][,"dry_run":true]} -> {"removed":[records]}
 *   {"verb":"resolve","uri":"registry://D/M@R"[,"verify":true]} -> {"record":{...},"path":P}
 * Errors: MLE_ERR_IO_OPEN (a registry, model, version or alias that does not
 * exist), MLE_ERR_DIGEST_MISMATCH (verify: the file changed after it was
 * registered), MLE_ERR_BUSY (the lock stayed taken 30 s), MLE_ERR_INVALID_VALUE
 * (a bad request, name or conflict), or the format's codes for a file that
 * does not validate. Thread-safe. */
mle_status mle_registry(const char *request, char **response, mle_error **err);

#ifdef __cplusplus
}
#endif

#endif /* MLE_H */
