// mle.hpp — header-only C++17 RAII wrapper over the C API in mle.h.
//
// Every failing C call becomes an mle::Error carrying the status. Handles are
// owned by move-only objects that free them in their destructors; memory the
// library allocates (output tensors, serialized files) is freed with mle_free
// by RAII. Thread safety is the C API's: Model is shareable and
// Model::run may be called from any number of threads at once (it borrows
// sessions from the library's bounded pool, see ModelOptions); Session and
// Builder are one thread at a time (concurrent use throws MLE_ERR_BUSY).
// A run can carry a timeout and a cancel flag (RunOptions).
//
// String tensors (MLE_DTYPE_STRING): build an input from std::string,
// std::string_view or const char * elements (TensorView packs them, so they
// need not outlive the view); read an output with Tensor::strings() or
// string_views(). pack_strings / unpack_strings convert to and from the
// packed layout of mle.h for raw buffers (OutputBuffer).
//
// Signed and encrypted models (docs/security.md): keygen, sign_file,
// encrypt_file and decrypt_file write them; Model::open and open_memory
// with a TrustOptions (a decryption key, trusted public keys, a required
// signature) open them. Refusals throw Error with MLE_ERR_SECURITY as
// primary() and the check that failed as status() (MLE_ERR_KEY_WRONG, ...).
#ifndef MLE_HPP
#define MLE_HPP

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "mle.h"

namespace mle {

/// Name of a status code, e.g. "MLE_ERR_FORMAT_BAD_MAGIC".
inline const char *status_string(mle_status status) { return mle_status_string(status); }

/// Version of the loaded library, e.g. "0.1.0".
inline std::string version() { return mle_version(); }

/// ABI version of the loaded library (compare with MLE_ABI_VERSION).
inline uint32_t abi_version() { return mle_abi_version(); }

/// A failed MLE call: the status and the library's message.
class Error : public std::runtime_error {
public:
    Error(mle_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
    /// The full status (primary code plus refinement).
    mle_status status() const noexcept { return status_; }
    /// The primary code, MLE_STATUS_PRIMARY(status()).
    mle_status primary() const noexcept { return MLE_STATUS_PRIMARY(status_); }

private:
    mle_status status_;
};

/// The element type id of T (float → MLE_DTYPE_FLOAT32, ...).
template <class T> struct dtype_of;
// BEGIN GENERATED: dtype_of (cmd/mle-gentables) - do not edit
template <> struct dtype_of<float> { static constexpr mle_dtype value = MLE_DTYPE_FLOAT32; };
template <> struct dtype_of<uint8_t> { static constexpr mle_dtype value = MLE_DTYPE_UINT8; };
template <> struct dtype_of<int8_t> { static constexpr mle_dtype value = MLE_DTYPE_INT8; };
template <> struct dtype_of<int32_t> { static constexpr mle_dtype value = MLE_DTYPE_INT32; };
template <> struct dtype_of<int64_t> { static constexpr mle_dtype value = MLE_DTYPE_INT64; };
template <> struct dtype_of<bool> { static constexpr mle_dtype value = MLE_DTYPE_BOOL; };
template <> struct dtype_of<double> { static constexpr mle_dtype value = MLE_DTYPE_FLOAT64; };
// END GENERATED: dtype_of

namespace detail {

/// Throws Error for a failed status, taking ownership of err. Call it as
/// `st = mle_x(..., &err); check(st, err);`: in `check(mle_x(..., &err), err)`
/// err may be read before the call stores it.
inline void check(mle_status status, mle_error *err = nullptr) {
    std::unique_ptr<mle_error, void (*)(mle_error *)> owned(err, mle_error_free);
    if (status == MLE_OK) return;
    std::string msg = err ? mle_error_message(err) : "";
    throw Error(status, msg.empty() ? status_string(status) : msg);
}

/// Throws unless the loaded library speaks this header's ABI. Checked once.
inline void check_abi() {
    static const bool ok = mle_abi_version() == MLE_ABI_VERSION;
    if (!ok)
        throw Error(MLE_ERR_UNSUPPORTED, "libmle ABI version " + std::to_string(mle_abi_version()) +
                                             " does not match mle.hpp's " + std::to_string(MLE_ABI_VERSION));
}

/// Product of dims (element count); negative dims count as 0.
inline size_t elements(const std::vector<int64_t> &shape) {
    size_t n = 1;
    for (int64_t d : shape) n *= d > 0 ? static_cast<size_t>(d) : 0;
    return n;
}

inline void set_shape(mle_tensor &t, const std::vector<int64_t> &shape) {
    if (shape.size() > MLE_MAX_RANK) throw Error(MLE_ERR_SHAPE, "rank " + std::to_string(shape.size()) + " > MLE_MAX_RANK");
    t.rank = static_cast<int32_t>(shape.size());
    for (size_t i = 0; i < shape.size(); i++) t.shape[i] = shape[i];
}

inline std::vector<int64_t> shape_of(const int64_t *dims, int32_t rank) { return {dims, dims + (rank > 0 ? rank : 0)}; }

struct FreeDeleter {
    void operator()(void *p) const noexcept { mle_free(p); }
};

/// True for the element types a string tensor is built from: std::string,
/// std::string_view, const char *, ...
template <class T>
inline constexpr bool is_text_v = !std::is_arithmetic_v<T> && std::is_convertible_v<const T &, std::string_view>;

// Offsets are little-endian uint64 at any alignment: assembled byte by byte.
inline void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/// Elements of a shape about to be packed: negative dims count as 0 (the
/// run refuses them); a product past size_t throws.
inline size_t string_count(const std::vector<int64_t> &shape) {
    size_t n = 1;
    for (int64_t d : shape)
        if (d <= 0) return 0;
    for (int64_t d : shape) {
        if (static_cast<uint64_t>(d) > SIZE_MAX / n)
            throw Error(MLE_ERR_SHAPE_TOO_LARGE, "a string tensor's shape has more elements than memory can hold");
        n *= static_cast<size_t>(d);
    }
    return n;
}

struct Run;

}  // namespace detail

/// Packs n strings as string tensors are passed and returned (mle.h,
/// docs/FORMAT.md §7.1): n+1 little-endian uint64 offsets, then the text.
/// S is std::string, std::string_view, const char *, ... The text is not
/// checked here: a run refuses invalid UTF-8 or an element longer than
/// MLE_MAX_STRING_BYTES with MLE_ERR_INVALID_STRING naming the input.
template <class S> std::vector<uint8_t> pack_strings(const S *strings, size_t n) {
    static_assert(detail::is_text_v<S>, "pack_strings needs elements convertible to std::string_view");
    if (n > SIZE_MAX / 8 - 1) throw Error(MLE_ERR_SHAPE_TOO_LARGE, "too many strings to pack");
    size_t head = 8 * (n + 1), text = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = std::string_view(strings[i]).size();
        if (len > SIZE_MAX - head - text) throw Error(MLE_ERR_SHAPE_TOO_LARGE, "strings too long to pack");
        text += len;
    }
    std::vector<uint8_t> out(head + text);
    size_t off = 0;
    detail::put_u64(out.data(), 0);
    for (size_t i = 0; i < n; i++) {
        std::string_view sv(strings[i]);
        if (!sv.empty()) std::memcpy(out.data() + head + off, sv.data(), sv.size());
        off += sv.size();
        detail::put_u64(out.data() + 8 * (i + 1), off);
    }
    return out;
}

/// pack_strings over a whole vector.
template <class S> std::vector<uint8_t> pack_strings(const std::vector<S> &strings) {
    return pack_strings(strings.data(), strings.size());
}

/// Views of the n strings packed in nbytes at data, valid while those bytes
/// are. Throws MLE_ERR_INVALID_STRING unless the offsets are consistent with
/// n and nbytes (the text's UTF-8 is not checked: the library's outputs are
/// always valid).
inline std::vector<std::string_view> string_views(const void *data, size_t nbytes, size_t n) {
    const uint8_t *p = static_cast<const uint8_t *>(data);
    if (n > SIZE_MAX / 8 - 1 || nbytes < 8 * (n + 1) || !p)
        throw Error(MLE_ERR_INVALID_STRING, std::to_string(n) + " strings need " + std::to_string(8 * (n + 1)) +
                                                " bytes of offsets, got " + std::to_string(nbytes));
    const size_t head = 8 * (n + 1), text = nbytes - head;
    if (detail::get_u64(p) != 0 || detail::get_u64(p + 8 * n) != text)
        throw Error(MLE_ERR_INVALID_STRING, "packed strings: the first offset is not 0 or the last is not the " +
                                                std::to_string(text) + " bytes of text");
    std::vector<std::string_view> out;
    out.reserve(n);
    for (size_t i = 0; i < n; i++) {
        uint64_t lo = detail::get_u64(p + 8 * i), hi = detail::get_u64(p + 8 * (i + 1));
        if (hi < lo || hi > text)
            throw Error(MLE_ERR_INVALID_STRING, "packed strings: string " + std::to_string(i) + " has offsets " +
                                                    std::to_string(lo) + ".." + std::to_string(hi));
        out.emplace_back(reinterpret_cast<const char *>(p + head + lo), static_cast<size_t>(hi - lo));
    }
    return out;
}

/// Copies of the n strings packed in nbytes at data (see string_views).
inline std::vector<std::string> unpack_strings(const void *data, size_t nbytes, size_t n) {
    std::vector<std::string> out;
    for (std::string_view sv : string_views(data, nbytes, n)) out.emplace_back(sv);
    return out;
}

/// Serving options of a model (mle_model_options), for Model::set_options.
struct ModelOptions {
    /// The most sessions Model::run keeps and runs at once; further
    /// concurrent calls wait for one (within their timeout and cancel flag).
    /// 0 = the number of CPUs, at most 65536.
    int32_t max_sessions = 0;
    /// Microseconds an idle intra-op worker spins for new work before it
    /// sleeps (faster back-to-back runs for CPU time). 0 = the default (1000),
    /// -1 = never spin, at most 100000.
    int32_t spin_us = 0;

    /// The C struct, struct_size set.
    mle_model_options to_c() const {
        mle_model_options o = mle_default_model_options();
        o.max_sessions = max_sessions, o.spin_us = spin_us;
        return o;
    }
};

/// Options of one Session (mle_session_options).
struct SessionOptions {
    /// This session's cap on the memory one run allocates (see
    /// OpenOptions::max_arena_bytes); 0 = the model's. Negative throws
    /// MLE_ERR_INVALID_OPTIONS.
    int64_t max_arena_bytes = 0;
    /// Plans kept, one per distinct set of input shapes and outputs; runs
    /// that vary their shapes over more than this replan. 0 = 16, at most
    /// 4096.
    int32_t max_cached_plans = 0;

    /// The C struct, struct_size set.
    mle_session_options to_c() const {
        mle_session_options o = mle_default_session_options();
        o.max_arena_bytes = max_arena_bytes, o.max_cached_plans = max_cached_plans;
        return o;
    }
};

/// Options for Model::open (see mle_open_options).
struct OpenOptions {
    bool verify = false;            ///< check every CRC, weights included
    bool read_all = false;          ///< read the file instead of mapping it
    int32_t threads = 0;            ///< intra-op threads; 0 = number of CPUs
    int32_t device = MLE_DEVICE_CPU;
    /// Cap on all memory a session allocates for one run (arena, scratch,
    /// plan tables, outputs): a run needing more throws MLE_ERR_NO_MEMORY_LIMIT
    /// before allocating. 0 = 16 GiB, or 3/4 of what the process may use.
    int64_t max_arena_bytes = 0;

    /// The C struct, struct_size set.
    mle_open_options to_c() const {
        mle_open_options o = mle_default_open_options();
        o.verify = verify, o.read_all = read_all, o.threads = threads, o.device = device;
        o.max_arena_bytes = max_arena_bytes;
        return o;
    }
};

namespace detail {
/// Zeroes key bytes before their memory is released (volatile stores: not
/// dropped as dead).
inline void wipe(std::vector<uint8_t> &bytes) noexcept {
    volatile uint8_t *p = bytes.data();
    for (size_t i = 0; i < bytes.size(); i++) p[i] = 0;
}
}  // namespace detail

/// Keys for opening a signed or encrypted model (mle_trust_options), for
/// Model::open and Model::open_memory. The library copies every key during
/// the call; this object wipes its own key bytes when destroyed.
struct TrustOptions {
    /// The 32-byte key of an encrypted file; empty = none. Without it an
    /// encrypted file throws MLE_ERR_KEY_REQUIRED; another key
    /// MLE_ERR_KEY_WRONG, another length MLE_ERR_KEY_INVALID.
    std::vector<uint8_t> key;
    /// Ed25519 public keys, each PEM ("PUBLIC KEY": a .pub file's bytes, see
    /// read_key_file) or 32 raw bytes. A signed file must then carry a valid
    /// signature by one of them (MLE_ERR_SIGNATURE_UNTRUSTED,
    /// MLE_ERR_SIGNATURE_INVALID); an unsigned file opens unless
    /// require_signature. Anything else throws MLE_ERR_KEY_INVALID.
    std::vector<std::vector<uint8_t>> trusted_keys;
    /// Refuse an unsigned file (MLE_ERR_SIGNATURE_REQUIRED). Needs trusted
    /// keys (else MLE_ERR_INVALID_OPTIONS).
    bool require_signature = false;

    TrustOptions() = default;
    TrustOptions(const TrustOptions &) = default;
    TrustOptions(TrustOptions &&) noexcept = default;
    TrustOptions &operator=(const TrustOptions &o) {
        if (this != &o) {
            detail::wipe(key);
            key = o.key;
            trusted_keys = o.trusted_keys;
            require_signature = o.require_signature;
        }
        return *this;
    }
    TrustOptions &operator=(TrustOptions &&o) noexcept {
        if (this != &o) {
            detail::wipe(key);
            key = std::move(o.key);
            trusted_keys = std::move(o.trusted_keys);
            require_signature = o.require_signature;
        }
        return *this;
    }
    ~TrustOptions() { detail::wipe(key); }

    /// Sets key (copied).
    TrustOptions &with_key(const void *data, size_t len) {
        detail::wipe(key);
        const uint8_t *p = static_cast<const uint8_t *>(data);
        key.assign(p, p + len);
        return *this;
    }
    /// Sets key (copied).
    TrustOptions &with_key(const std::vector<uint8_t> &bytes) { return with_key(bytes.data(), bytes.size()); }
    /// Adds a trusted public key: PEM text or 32 raw bytes.
    TrustOptions &with_trusted_key(std::vector<uint8_t> public_key) {
        trusted_keys.push_back(std::move(public_key));
        return *this;
    }
    /// Adds a trusted public key given as PEM text.
    TrustOptions &with_trusted_key(std::string_view pem) {
        trusted_keys.emplace_back(pem.begin(), pem.end());
        return *this;
    }
    /// Sets require_signature.
    TrustOptions &with_require_signature(bool yes = true) {
        require_signature = yes;
        return *this;
    }

    /// The C struct, struct_size set. It points into this object and into
    /// ptrs and lens (filled here): all three must outlive its use.
    mle_trust_options to_c(std::vector<const void *> &ptrs, std::vector<size_t> &lens) const {
        mle_trust_options t = mle_default_trust_options();
        if (!key.empty()) t.key = key.data(), t.key_len = key.size();
        ptrs.clear();
        lens.clear();
        static const uint8_t none = 0;
        for (const auto &k : trusted_keys) {
            // Never NULL: an empty key is the library's to refuse (MLE_ERR_KEY_INVALID).
            ptrs.push_back(k.empty() ? static_cast<const void *>(&none) : k.data());
            lens.push_back(k.size());
        }
        if (!trusted_keys.empty()) {
            t.trusted_keys = ptrs.data();
            t.trusted_key_lens = lens.data();
            t.n_trusted_keys = trusted_keys.size();
        }
        t.require_signature = require_signature ? 1 : 0;
        return t;
    }
};

/// The bytes of a key file (a .pub or .key file as keygen writes it), for
/// TrustOptions::trusted_keys or sign_file. Throws MLE_ERR_IO_OPEN when it
/// cannot be read.
inline std::vector<uint8_t> read_key_file(const std::string &path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw Error(MLE_ERR_IO_OPEN, "cannot read key file \"" + path + "\"");
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (f.bad()) throw Error(MLE_ERR_IO_READ, "cannot read key file \"" + path + "\"");
    return bytes;
}

// The library reads the flag as a `const volatile int32_t *` (with atomic
// loads): that needs an atomic with exactly an int32_t's representation.
static_assert(std::atomic<int32_t>::is_always_lock_free, "mle::RunOptions needs a lock-free std::atomic<int32_t>");
static_assert(sizeof(std::atomic<int32_t>) == sizeof(int32_t) && alignof(std::atomic<int32_t>) == alignof(int32_t),
              "mle::RunOptions needs std::atomic<int32_t> laid out as int32_t");

/// Options of one Session::run or Model::run: a timeout and a cancel flag
/// (see mle_run_options). Both are checked between nodes and between ~1 ms
/// chunks of long kernels; a stopped run throws Error with
/// MLE_ERR_CANCELLED_DEADLINE (timeout) or MLE_ERR_CANCELLED (flag), returns
/// no outputs, and leaves the session usable. In Model::run, waiting for a
/// pooled session counts against the timeout and stops at the flag.
struct RunOptions {
    /// Set: the run throws MLE_ERR_CANCELLED_DEADLINE once it has taken this
    /// long, rounded up to a whole microsecond (so zero is a deadline already
    /// past). Empty: no limit. Negative: throws MLE_ERR_INVALID_OPTIONS.
    std::optional<std::chrono::nanoseconds> timeout;
    /// Optional. The run throws MLE_ERR_CANCELLED soon after *cancel becomes
    /// non-zero (store to it from any thread); a run started with it non-zero
    /// does no work. Read during the run only, never written.
    const std::atomic<int32_t> *cancel = nullptr;

    /// Sets timeout (any std::chrono duration that converts to nanoseconds).
    RunOptions &with_timeout(std::chrono::nanoseconds limit) {
        timeout = limit;
        return *this;
    }
    /// Sets cancel.
    RunOptions &with_cancel(const std::atomic<int32_t> *flag) {
        cancel = flag;
        return *this;
    }

    /// The C struct, struct_size set. It points to *cancel.
    mle_run_options to_c() const {
        mle_run_options o = mle_default_run_options();
        if (timeout) {
            int64_t ns = timeout->count();
            if (ns < 0)
                throw Error(MLE_ERR_INVALID_OPTIONS, "RunOptions::timeout is negative (" + std::to_string(ns) +
                                                         " ns); leave it empty for no limit");
            // At least 1 µs: 0 would mean "no limit" to the library.
            o.timeout_us = ns / 1000 + (ns % 1000 != 0);
            if (o.timeout_us == 0) o.timeout_us = 1;
        }
        // Same representation (asserted above); the library only loads it.
        o.cancel = reinterpret_cast<const volatile int32_t *>(cancel);
        return o;
    }
};

/// A graph input or output: name, dtype and shape (-1 = sized at run time).
struct IoInfo {
    std::string name;
    mle_dtype dtype = 0;
    std::vector<int64_t> shape;
};

/// An input tensor: dtype, shape and the caller's bytes, not owned (read
/// during Session::run / Model::run only). String inputs are the exception:
/// the view packs them into bytes it owns (shared by its copies), so the
/// strings may go away once it is built.
struct TensorView {
    std::string name;  ///< graph input to bind; empty = by position
    mle_dtype dtype = MLE_DTYPE_FLOAT32;
    std::vector<int64_t> shape;
    const void *data = nullptr;
    size_t nbytes = 0;

    TensorView() = default;
    /// Any dtype: raw bytes.
    TensorView(mle_dtype type, std::vector<int64_t> dims, const void *ptr, size_t size, std::string input = {})
        : name(std::move(input)), dtype(type), shape(std::move(dims)), data(ptr), nbytes(size) {}
    /// Typed elements (float, double, int64_t, ...): dtype and nbytes follow
    /// from T and shape. Text elements (std::string, std::string_view,
    /// const char *): a string tensor of the shape's element count, packed.
    template <class T>
    TensorView(const T *ptr, std::vector<int64_t> dims, std::string input = {})
        : name(std::move(input)), shape(std::move(dims)) {
        if constexpr (detail::is_text_v<T>) {
            set_packed(pack_strings(ptr, detail::string_count(shape)));
        } else {
            dtype = dtype_of<T>::value;
            data = ptr;
            nbytes = detail::elements(shape) * sizeof(T);
        }
    }
    /// A string tensor from std::string_view elements in C order, packed
    /// (also takes a braced list: {"a", "b"}). The vector's size must be the
    /// shape's element count, else MLE_ERR_INVALID_VALUE.
    TensorView(const std::vector<std::string_view> &strings, std::vector<int64_t> dims, std::string input = {})
        : name(std::move(input)), shape(std::move(dims)) {
        set_strings(strings);
    }
    /// A string tensor from std::string (or const char *, ...) elements; as above.
    template <class S, class = std::enable_if_t<detail::is_text_v<S>>>
    TensorView(const std::vector<S> &strings, std::vector<int64_t> dims, std::string input = {})
        : name(std::move(input)), shape(std::move(dims)) {
        set_strings(strings);
    }

private:
    template <class S> void set_strings(const std::vector<S> &strings) {
        size_t n = detail::string_count(shape);
        if (strings.size() != n)
            throw Error(MLE_ERR_INVALID_VALUE, "string input \"" + name + "\": " + std::to_string(strings.size()) +
                                                   " strings for a shape of " + std::to_string(n) + " elements");
        set_packed(pack_strings(strings.data(), n));
    }
    void set_packed(std::vector<uint8_t> bytes) {
        packed_ = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
        dtype = MLE_DTYPE_STRING;
        data = packed_->data();
        nbytes = packed_->size();
    }
    // Owned packed bytes of a string input; data points into them.
    std::shared_ptr<const std::vector<uint8_t>> packed_;
};

/// A caller-provided output buffer for Session::run / Model::run. On return dtype, shape
/// and nbytes describe the result (or, on MLE_ERR_BUFFER_TOO_SMALL, what is
/// needed).
struct OutputBuffer {
    std::string name;  ///< graph output to fill; empty = by position
    void *data = nullptr;
    size_t capacity = 0;  ///< bytes at data
    mle_dtype dtype = 0;
    std::vector<int64_t> shape;
    size_t nbytes = 0;

    OutputBuffer() = default;
    /// Raw bytes.
    OutputBuffer(void *ptr, size_t bytes, std::string output = {})
        : name(std::move(output)), data(ptr), capacity(bytes) {}
    /// Room for count elements of T.
    template <class T>
    OutputBuffer(T *ptr, size_t count, std::string output = {})
        : name(std::move(output)), data(ptr), capacity(count * sizeof(T)) {}

    /// After a run that filled a string output: copies of its elements.
    /// Throws MLE_ERR_DTYPE for other dtypes. A string output's size is
    /// known only after the run: a buffer too small throws
    /// MLE_ERR_BUFFER_TOO_SMALL with the size needed in nbytes.
    std::vector<std::string> strings() const {
        if (dtype != MLE_DTYPE_STRING)
            throw Error(MLE_ERR_DTYPE, "output \"" + name + "\" has dtype " + std::to_string(dtype) + ", not string");
        // After MLE_ERR_BUFFER_TOO_SMALL nbytes is the size needed, past the buffer.
        if (nbytes > capacity)
            throw Error(MLE_ERR_BUFFER_TOO_SMALL, "output \"" + name + "\" needs " + std::to_string(nbytes) +
                                                      " bytes; the buffer holds " + std::to_string(capacity));
        return unpack_strings(data, nbytes, detail::elements(shape));
    }
};

/// An output tensor owning library-allocated memory (freed with mle_free).
class Tensor {
public:
    /// The graph output's name.
    const std::string &name() const noexcept { return name_; }
    /// Element type id (MLE_DTYPE_*).
    mle_dtype dtype() const noexcept { return dtype_; }
    /// Dimensions.
    const std::vector<int64_t> &shape() const noexcept { return shape_; }
    /// Size of the data in bytes.
    size_t nbytes() const noexcept { return nbytes_; }
    /// Number of elements.
    size_t size() const noexcept { return detail::elements(shape_); }
    /// The bytes, whatever the dtype.
    const void *raw() const noexcept { return data_.get(); }
    /// The elements as T; throws MLE_ERR_DTYPE if T does not match dtype().
    /// String tensors have no T: use strings() or string_views().
    template <class T> const T *data() const {
        if (dtype_of<T>::value != dtype_)
            throw Error(MLE_ERR_DTYPE, "output \"" + name_ + "\" has dtype " + std::to_string(dtype_) +
                                           ", not the requested " + std::to_string(dtype_of<T>::value));
        return static_cast<const T *>(data_.get());
    }
    /// A copy of the elements as T (dtype-checked); T = std::string for a
    /// string tensor.
    template <class T> std::vector<T> to_vector() const {
        if constexpr (std::is_same_v<T, std::string>) {
            return strings();
        } else {
            const T *p = data<T>();
            return std::vector<T>(p, p + size());
        }
    }
    /// A string tensor's elements in C order, viewing this Tensor's memory
    /// (valid while it lives). Throws MLE_ERR_DTYPE for other dtypes.
    std::vector<std::string_view> string_views() const {
        if (dtype_ != MLE_DTYPE_STRING)
            throw Error(MLE_ERR_DTYPE, "output \"" + name_ + "\" has dtype " + std::to_string(dtype_) + ", not string");
        return mle::string_views(data_.get(), nbytes_, size());
    }
    /// Copies of a string tensor's elements in C order (MLE_ERR_DTYPE for other dtypes).
    std::vector<std::string> strings() const {
        std::vector<std::string> out;
        for (std::string_view sv : string_views()) out.emplace_back(sv);
        return out;
    }

private:
    friend struct detail::Run;
    std::string name_;
    mle_dtype dtype_ = 0;
    std::vector<int64_t> shape_;
    size_t nbytes_ = 0;
    std::unique_ptr<void, detail::FreeDeleter> data_;
};

namespace detail {

/// mle_session_run_opts on a session handle.
struct SessionRun {
    mle_session *h;
    mle_status operator()(const mle_tensor *in, size_t n_in, mle_tensor *out, size_t n_out,
                          const mle_run_options *opts, mle_error **err) const {
        return mle_session_run_opts(h, in, n_in, out, n_out, opts, err);
    }
};

/// mle_model_run on a model handle.
struct ModelRun {
    mle_model *h;
    mle_status operator()(const mle_tensor *in, size_t n_in, mle_tensor *out, size_t n_out,
                          const mle_run_options *opts, mle_error **err) const {
        return mle_model_run(h, in, n_in, out, n_out, opts, err);
    }
};

/// The C side of a run, shared by Session::run and Model::run. `call` is a
/// SessionRun or ModelRun on a handle that outlives the call (output names
/// the library sets are copied before it returns).
struct Run {
    static std::vector<mle_tensor> inputs(const std::vector<TensorView> &views) {
        std::vector<mle_tensor> in(views.size(), mle_tensor{});
        for (size_t i = 0; i < views.size(); i++) {
            const TensorView &v = views[i];
            in[i].name = v.name.empty() ? nullptr : v.name.c_str();
            in[i].dtype = v.dtype;
            set_shape(in[i], v.shape);
            in[i].data = const_cast<void *>(v.data);  // inputs are only read
            in[i].nbytes = v.nbytes;
        }
        return in;
    }

    /// Every output (n_outputs, in graph order) in library-allocated memory.
    template <class Call>
    static std::vector<Tensor> alloc(Call call, const std::vector<TensorView> &views, size_t n_outputs,
                                     const RunOptions &options) {
        std::vector<mle_tensor> in = inputs(views);
        std::vector<mle_tensor> out(n_outputs, mle_tensor{});
        mle_run_options o = options.to_c();
        mle_error *err = nullptr;
        mle_status st = call(in.data(), in.size(), out.data(), out.size(), &o, &err);
        // Own whatever the library left allocated before checking st, so
        // nothing leaks on any path.
        std::vector<Tensor> result(out.size());
        for (size_t i = 0; i < out.size(); i++) {
            Tensor &t = result[i];
            t.data_.reset(out[i].data);
            t.name_ = out[i].name ? out[i].name : "";
            t.dtype_ = out[i].dtype;
            t.shape_ = shape_of(out[i].shape, out[i].rank);
            t.nbytes_ = out[i].nbytes;
        }
        check(st, err);
        return result;
    }

    /// Into caller buffers; their dtype, shape and nbytes are set on return.
    template <class Call>
    static void into(Call call, const std::vector<TensorView> &views, std::vector<OutputBuffer> &outputs,
                     const RunOptions &options) {
        std::vector<mle_tensor> in = inputs(views);
        mle_run_options o = options.to_c();
        std::vector<mle_tensor> out(outputs.size(), mle_tensor{});
        for (size_t i = 0; i < outputs.size(); i++) {
            out[i].name = outputs[i].name.empty() ? nullptr : outputs[i].name.c_str();
            out[i].data = outputs[i].data;
            out[i].nbytes = outputs[i].capacity;
        }
        mle_error *err = nullptr;
        mle_status st = call(in.data(), in.size(), out.data(), out.size(), &o, &err);
        for (size_t i = 0; i < outputs.size(); i++) {
            OutputBuffer &b = outputs[i];
            if (out[i].name) b.name = out[i].name;
            b.dtype = out[i].dtype;
            b.shape = shape_of(out[i].shape, out[i].rank);
            b.nbytes = out[i].nbytes;
        }
        check(st, err);
    }
};

}  // namespace detail

/// An opened model: immutable, usable from any thread. Move-only.
class Model {
public:
    /// Opens the .mle file at path (mapped unless options.read_all).
    static Model open(const std::string &path, const OpenOptions &options = {}) {
        detail::check_abi();
        mle_open_options o = options.to_c();
        mle_model *m = nullptr;
        mle_error *err = nullptr;
        mle_status st = mle_model_open(path.c_str(), &o, &m, &err);
        detail::check(st, err);
        return Model(m);
    }

    /// Opens a model from a whole .mle file in memory; the bytes are copied.
    static Model open_memory(const void *data, size_t len, const OpenOptions &options = {}) {
        detail::check_abi();
        mle_open_options o = options.to_c();
        mle_model *m = nullptr;
        mle_error *err = nullptr;
        mle_status st = mle_model_open_memory(data, len, &o, &m, &err);
        detail::check(st, err);
        return Model(m);
    }

    /// open_memory over a byte vector (e.g. Builder::serialize()).
    static Model open_memory(const std::vector<uint8_t> &bytes, const OpenOptions &options = {}) {
        return open_memory(bytes.data(), bytes.size(), options);
    }

    /// Opens a signed and/or encrypted .mle file with keys
    /// (mle_model_open_with). A signed file's signature is checked at open,
    /// each tensor's SHA-256 when first used (all of them with verify).
    static Model open(const std::string &path, const OpenOptions &options, const TrustOptions &trust) {
        detail::check_abi();
        mle_open_options o = options.to_c();
        std::vector<const void *> ptrs;
        std::vector<size_t> lens;
        mle_trust_options t = trust.to_c(ptrs, lens);
        mle_model *m = nullptr;
        mle_error *err = nullptr;
        mle_status st = mle_model_open_with(path.c_str(), &o, &t, &m, &err);
        detail::check(st, err);
        return Model(m);
    }

    /// open_memory with keys (mle_model_open_memory_with); the bytes are copied.
    static Model open_memory(const void *data, size_t len, const OpenOptions &options, const TrustOptions &trust) {
        detail::check_abi();
        mle_open_options o = options.to_c();
        std::vector<const void *> ptrs;
        std::vector<size_t> lens;
        mle_trust_options t = trust.to_c(ptrs, lens);
        mle_model *m = nullptr;
        mle_error *err = nullptr;
        mle_status st = mle_model_open_memory_with(data, len, &o, &t, &m, &err);
        detail::check(st, err);
        return Model(m);
    }

    /// open_memory over a byte vector, with keys.
    static Model open_memory(const std::vector<uint8_t> &bytes, const OpenOptions &options,
                             const TrustOptions &trust) {
        return open_memory(bytes.data(), bytes.size(), options, trust);
    }

    /// Takes over other's handle; other is left empty (safe to destroy).
    Model(Model &&other) noexcept
        : h_(std::exchange(other.h_, nullptr)), n_outputs_(std::exchange(other.n_outputs_, 0)) {}
    Model &operator=(Model &&other) noexcept {
        if (this != &other) {
            reset();
            h_ = std::exchange(other.h_, nullptr);
            n_outputs_ = std::exchange(other.n_outputs_, 0);
        }
        return *this;
    }
    Model(const Model &) = delete;
    Model &operator=(const Model &) = delete;
    /// Frees the handle (errors are ignored: destructors cannot throw).
    ~Model() { reset(); }

    /// The METADATA JSON.
    std::string metadata() const {
        size_t len = 0;
        mle_error *err = nullptr;
        mle_status st = mle_model_metadata(h_, nullptr, 0, &len, &err);
        detail::check(st, err);
        std::string s(len + 1, '\0');
        st = mle_model_metadata(h_, &s[0], s.size(), &len, &err);
        detail::check(st, err);
        s.resize(len);
        return s;
    }

    /// The graph's inputs, in order.
    std::vector<IoInfo> inputs() const { return infos(mle_model_input_count, mle_model_input_info); }
    /// The graph's outputs, in order.
    std::vector<IoInfo> outputs() const { return infos(mle_model_output_count, mle_model_output_info); }

    /// Changes the serving options (mle_model_set_options); runs that start
    /// afterwards use them. Any thread, at any time. Out of range throws
    /// MLE_ERR_INVALID_OPTIONS and changes nothing.
    void set_options(const ModelOptions &options) const {
        mle_model_options o = options.to_c();
        mle_error *err = nullptr;
        mle_status st = mle_model_set_options(h_, &o, &err);
        detail::check(st, err);
    }

    /// Runs the model without a session of your own (mle_model_run): any
    /// number of threads may call it at once. Each call borrows a session
    /// from the model's pool; at most ModelOptions::max_sessions run
    /// together, the others wait. Returns every output in graph order, as
    /// Session::run does.
    std::vector<Tensor> run(const std::vector<TensorView> &inputs) const { return run(inputs, RunOptions{}); }

    /// run(inputs) with a timeout and/or a cancel flag.
    std::vector<Tensor> run(const std::vector<TensorView> &inputs, const RunOptions &options) const {
        return detail::Run::alloc(detail::ModelRun{h_}, inputs, n_outputs_, options);
    }

    /// Runs into caller buffers (see Session::run with OutputBuffers).
    void run(const std::vector<TensorView> &inputs, std::vector<OutputBuffer> &outputs) const {
        run(inputs, outputs, RunOptions{});
    }

    /// run(inputs, outputs) with a timeout and/or a cancel flag.
    void run(const std::vector<TensorView> &inputs, std::vector<OutputBuffer> &outputs,
             const RunOptions &options) const {
        detail::Run::into(detail::ModelRun{h_}, inputs, outputs, options);
    }

    /// The C handle (still owned by this object); nullptr once moved from.
    mle_model *get() const noexcept { return h_; }

private:
    // Takes ownership of h (freed here if its output count cannot be read).
    explicit Model(mle_model *h) : h_(h) {
        size_t n = 0;
        mle_status st = mle_model_output_count(h_, &n);
        if (st != MLE_OK) {
            reset();
            detail::check(st);
        }
        n_outputs_ = n;
    }
    void reset() noexcept {
        if (h_) mle_model_free(h_);
        h_ = nullptr;
    }
    template <class Count, class Info> std::vector<IoInfo> infos(Count count, Info info) const {
        size_t n = 0;
        detail::check(count(h_, &n));
        std::vector<IoInfo> out;
        for (size_t i = 0; i < n; i++) {
            mle_io_info c{};
            c.struct_size = sizeof c;
            mle_error *err = nullptr;
            mle_status st = info(h_, i, &c, &err);
            detail::check(st, err);
            out.push_back({c.name, c.dtype, detail::shape_of(c.shape, c.rank)});
        }
        return out;
    }
    mle_model *h_ = nullptr;
    size_t n_outputs_ = 0;
};

/// Runs a model; one thread at a time. Keeps the model's data alive, so the
/// Model may be destroyed first. Move-only.
class Session {
public:
    /// A new session of model.
    explicit Session(const Model &model) {
        mle_error *err = nullptr;
        mle_status st = mle_session_new(model.get(), &h_, &err);
        detail::check(st, err);
        init(model);
    }

    /// A new session of model with options (mle_session_new_opts): its own
    /// memory cap and plan cache size.
    Session(const Model &model, const SessionOptions &options) {
        mle_session_options o = options.to_c();
        mle_error *err = nullptr;
        mle_status st = mle_session_new_opts(model.get(), &o, &h_, &err);
        detail::check(st, err);
        init(model);
    }

    /// Takes over other's handle; other is left empty (safe to destroy).
    Session(Session &&other) noexcept
        : h_(std::exchange(other.h_, nullptr)), n_outputs_(std::exchange(other.n_outputs_, 0)) {}
    Session &operator=(Session &&other) noexcept {
        if (this != &other) {
            reset();
            h_ = std::exchange(other.h_, nullptr);
            n_outputs_ = std::exchange(other.n_outputs_, 0);
        }
        return *this;
    }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;
    /// Frees the handle (errors are ignored: destructors cannot throw).
    ~Session() { reset(); }

    /// Runs the model; returns every output in graph order, in memory the
    /// library allocated (owned by the returned Tensors). The run cannot be
    /// interrupted: pass RunOptions for a timeout or a cancel flag.
    std::vector<Tensor> run(const std::vector<TensorView> &inputs) { return run(inputs, RunOptions{}); }

    /// run(inputs) with a timeout and/or a cancel flag.
    std::vector<Tensor> run(const std::vector<TensorView> &inputs, const RunOptions &options) {
        return detail::Run::alloc(detail::SessionRun{h_}, inputs, n_outputs_, options);
    }

    /// Runs the model into caller buffers (one per output, by name or in
    /// graph order). Each buffer's dtype, shape and nbytes are set; on
    /// MLE_ERR_BUFFER_TOO_SMALL they are set to what is needed before the
    /// Error is thrown.
    void run(const std::vector<TensorView> &inputs, std::vector<OutputBuffer> &outputs) {
        run(inputs, outputs, RunOptions{});
    }

    /// run(inputs, outputs) with a timeout and/or a cancel flag. A stopped
    /// run leaves the buffers' contents unspecified.
    void run(const std::vector<TensorView> &inputs, std::vector<OutputBuffer> &outputs, const RunOptions &options) {
        detail::Run::into(detail::SessionRun{h_}, inputs, outputs, options);
    }

    /// The C handle (still owned by this object); nullptr once moved from.
    mle_session *get() const noexcept { return h_; }

private:
    // After creating h_: the output count, freeing h_ if it cannot be read.
    void init(const Model &model) {
        size_t n = 0;
        mle_status st = mle_model_output_count(model.get(), &n);
        if (st != MLE_OK) {
            reset();
            detail::check(st);
        }
        n_outputs_ = n;
    }
    void reset() noexcept {
        if (h_) mle_session_free(h_);
        h_ = nullptr;
    }
    mle_session *h_ = nullptr;
    size_t n_outputs_ = 0;
};

/// Assembles a model and writes an .mle file. Validation happens in save()
/// and serialize(). One thread at a time. Move-only.
class Builder {
public:
    Builder() {
        detail::check_abi();
        mle_error *err = nullptr;
        mle_status st = mle_builder_new(&h_, &err);
        detail::check(st, err);
    }
    /// Takes over other's handle; other is left empty (safe to destroy).
    Builder(Builder &&other) noexcept : h_(std::exchange(other.h_, nullptr)) {}
    Builder &operator=(Builder &&other) noexcept {
        if (this != &other) {
            reset();
            h_ = std::exchange(other.h_, nullptr);
        }
        return *this;
    }
    Builder(const Builder &) = delete;
    Builder &operator=(const Builder &) = delete;
    /// Frees the handle (errors are ignored: destructors cannot throw).
    ~Builder() { reset(); }

    /// Descriptive metadata as a JSON object (name, description, version, producer, ...).
    Builder &set_metadata_json(const std::string &json) {
        return call(mle_builder_set_metadata_json, json.c_str());
    }
    /// Declares a graph input; -1 in shape marks a dimension sized at run time.
    Builder &add_input(const std::string &name, mle_dtype dtype, const std::vector<int64_t> &shape) {
        return call(mle_builder_add_input, name.c_str(), dtype, shape.data(), rank(shape));
    }
    /// Declares a graph output (dtype and shape are inferred).
    Builder &add_output(const std::string &name) { return call(mle_builder_add_output, name.c_str()); }
    /// Stores a constant tensor; the bytes are copied.
    Builder &add_tensor(const std::string &name, mle_dtype dtype, const std::vector<int64_t> &shape, const void *data,
                        size_t nbytes) {
        return call(mle_builder_add_tensor, name.c_str(), dtype, shape.data(), rank(shape), data, nbytes);
    }
    /// Stores a constant tensor of T elements (dtype from T); text elements
    /// (std::string, std::string_view, ...) make a string tensor, packed.
    template <class T>
    Builder &add_tensor(const std::string &name, const std::vector<int64_t> &shape, const std::vector<T> &values) {
        if constexpr (detail::is_text_v<T>) {
            if (values.size() != detail::string_count(shape))
                throw Error(MLE_ERR_INVALID_VALUE, "tensor \"" + name + "\": " + std::to_string(values.size()) +
                                                       " strings for a shape of " +
                                                       std::to_string(detail::string_count(shape)) + " elements");
            std::vector<uint8_t> packed = pack_strings(values);
            return add_tensor(name, MLE_DTYPE_STRING, shape, packed.data(), packed.size());
        } else {
            return add_tensor(name, dtype_of<T>::value, shape, values.data(), values.size() * sizeof(T));
        }
    }
    /// Appends a node running op (ONNX semantics); "" in inputs/outputs is an
    /// absent optional argument. Returns the node's index for set_attr_*.
    size_t add_node(const std::string &op, const std::vector<std::string> &inputs,
                    const std::vector<std::string> &outputs, const std::string &name = {}) {
        std::vector<const char *> in, out;
        for (const auto &s : inputs) in.push_back(s.c_str());
        for (const auto &s : outputs) out.push_back(s.c_str());
        size_t index = 0;
        call(mle_builder_add_node, op.c_str(), name.empty() ? nullptr : name.c_str(), in.data(), in.size(),
             out.data(), out.size(), &index);
        return index;
    }
    /// Sets an int attribute of node.
    Builder &set_attr_int(size_t node, const std::string &name, int64_t value) {
        return call(mle_builder_set_attr_int, node, name.c_str(), value);
    }
    /// Sets a float attribute of node.
    Builder &set_attr_float(size_t node, const std::string &name, double value) {
        return call(mle_builder_set_attr_float, node, name.c_str(), value);
    }
    /// Sets a string attribute of node.
    Builder &set_attr_string(size_t node, const std::string &name, const std::string &value) {
        return call(mle_builder_set_attr_string, node, name.c_str(), value.c_str());
    }
    /// Sets an ints attribute of node.
    Builder &set_attr_ints(size_t node, const std::string &name, const std::vector<int64_t> &values) {
        return call(mle_builder_set_attr_ints, node, name.c_str(), values.data(), values.size());
    }
    /// Sets a floats attribute of node.
    Builder &set_attr_floats(size_t node, const std::string &name, const std::vector<double> &values) {
        return call(mle_builder_set_attr_floats, node, name.c_str(), values.data(), values.size());
    }

    /// Validates and writes the model to path atomically; returns the file size.
    /// durable = false skips the fsyncs (MLE_SAVE_NO_SYNC): the file still
    /// appears whole or not at all, but a power loss soon after may lose it.
    uint64_t save(const std::string &path, bool durable = true) {
        uint64_t written = 0;
        call(mle_builder_save_flags, path.c_str(), durable ? 0u : MLE_SAVE_NO_SYNC, &written);
        return written;
    }

    /// Validates the model and returns the file's bytes.
    std::vector<uint8_t> serialize() {
        void *data = nullptr;
        size_t len = 0;
        call(mle_builder_serialize, &data, &len);
        std::unique_ptr<void, detail::FreeDeleter> owned(data);
        const uint8_t *p = static_cast<const uint8_t *>(data);
        return std::vector<uint8_t>(p, p + len);
    }

    /// The C handle (still owned by this object); nullptr once moved from.
    mle_builder *get() const noexcept { return h_; }

private:
    static int32_t rank(const std::vector<int64_t> &shape) {
        if (shape.size() > MLE_MAX_RANK) throw Error(MLE_ERR_INVALID_VALUE, "rank > MLE_MAX_RANK");
        return static_cast<int32_t>(shape.size());
    }
    // Calls fn(handle, args..., &err) and throws on failure.
    template <class Fn, class... Args> Builder &call(Fn fn, Args... args) {
        mle_error *err = nullptr;
        mle_status st = fn(h_, args..., &err);
        detail::check(st, err);
        return *this;
    }
    void reset() noexcept {
        if (h_) mle_builder_free(h_);
        h_ = nullptr;
    }
    mle_builder *h_ = nullptr;
};

/// The paths keygen wrote.
struct KeyPair {
    std::string private_key_path;  ///< prefix + ".key": PKCS #8 PEM, mode 0600; keep it secret
    std::string public_key_path;   ///< prefix + ".pub": PEM, for TrustOptions::trusted_keys
};

/// Writes a new Ed25519 key pair (mle_keygen). An existing prefix + ".key"
/// is never replaced (throws).
inline KeyPair keygen(const std::string &prefix) {
    detail::check_abi();
    mle_error *err = nullptr;
    mle_status st = mle_keygen(prefix.c_str(), &err);
    detail::check(st, err);
    return {prefix + ".key", prefix + ".pub"};
}

namespace detail {
using FileKeyFn = mle_status (*)(const char *, const char *, const void *, size_t, mle_error **);
inline void file_key_op(FileKeyFn fn, const std::string &in, const std::string &out, const void *key, size_t len) {
    check_abi();
    static const uint8_t none = 0;  // a non-NULL pointer for an empty key: the library reports its length
    mle_error *err = nullptr;
    mle_status st = fn(in.c_str(), out.empty() ? nullptr : out.c_str(), key ? key : &none, len, &err);
    check(st, err);
}
}  // namespace detail

/// Signs the .mle file at in with an Ed25519 private key (PEM "PRIVATE KEY",
/// as read_key_file reads a .key file, or a 32-byte seed) into out (empty:
/// in place, atomically). Encrypted files are refused: sign, then encrypt.
inline void sign_file(const std::string &in, const std::string &out, const void *key, size_t len) {
    detail::file_key_op(mle_sign_file, in, out, key, len);
}
/// sign_file with the key in a byte vector.
inline void sign_file(const std::string &in, const std::string &out, const std::vector<uint8_t> &key) {
    sign_file(in, out, key.data(), key.size());
}

/// Encrypts the .mle file at in with a 32-byte key (AES-256-GCM in chunks)
/// into out (empty: in place).
inline void encrypt_file(const std::string &in, const std::string &out, const void *key, size_t len) {
    detail::file_key_op(mle_encrypt_file, in, out, key, len);
}
/// encrypt_file with the key in a byte vector.
inline void encrypt_file(const std::string &in, const std::string &out, const std::vector<uint8_t> &key) {
    encrypt_file(in, out, key.data(), key.size());
}

/// Decrypts the .mle file at in into out (empty: in place); another key
/// than the file's throws MLE_ERR_KEY_WRONG.
inline void decrypt_file(const std::string &in, const std::string &out, const void *key, size_t len) {
    detail::file_key_op(mle_decrypt_file, in, out, key, len);
}
/// decrypt_file with the key in a byte vector.
inline void decrypt_file(const std::string &in, const std::string &out, const std::vector<uint8_t> &key) {
    decrypt_file(in, out, key.data(), key.size());
}

}  // namespace mle

#endif  // MLE_HPP
