// addon.cc — the native half of mle-runtime (index.js is the other half).
//
// Design
//  - Context-aware: everything that refers to JS lives in the per-instance
//    MleAddon (Napi::Addon), so the addon loads in any number of worker
//    threads. No static JS references.
//  - A JS Model wraps a NativeModel (Napi::ObjectWrap), which holds a
//    shared_ptr<Core>. Core owns the mle_model handle; every run goes through
//    mle_model_run, which borrows a session from libmle's own bounded pool
//    (max_sessions, set with mle_model_set_options), so the addon keeps no
//    sessions. Asynchronous runs (RunTask, on the libuv thread pool) hold
//    their own shared_ptr. close() (or the finalizer) refuses new runs at
//    once; runs already begun finish normally and the last of them frees the
//    model handle (output names are only valid while it lives).
//  - Asynchronous runs are plain libuv work requests (RunTask), not Node-API
//    async work: Node waits for pending async work before it calls an
//    environment's cleanup hooks, so a worker being terminated would wait for
//    a long run. Each run has a cancel flag; the cleanup hook (and index.js,
//    on process 'exit') sets the flags of the environment's pending runs, so
//    exit and worker.terminate() take about a millisecond more, not the run.
//  - Inputs of asynchronous runs are copied before the work is queued, so the
//    caller's arrays may change or be collected meanwhile. Outputs are the
//    library's allocations, handed to JS as external ArrayBuffers that
//    mle_free them when collected (copied where external buffers are not
//    allowed). String outputs become Arrays of JS strings (index.js packs
//    string inputs, so they arrive here as bytes like any other input).
//  - Keys (decryption keys, trusted public keys, signing keys) are copied
//    into buffers the addon owns and wipes when it is done with them; libmle
//    copies what it keeps, so nothing here outlives the call that used it.
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include <uv.h>

#include "mle.h"

namespace {

// ------------------------------------------------------------------ dtypes

struct DTypeInfo {
    mle_dtype id;
    const char *name;
    size_t size;
    napi_typedarray_type array;
};

// The element types of docs/FORMAT.md §7 and the typed array each comes back
// as (bool as Uint8Array; float16/bfloat16 as their raw bits).
// BEGIN GENERATED: dtypes (cmd/mle-gentables) - do not edit
const DTypeInfo kDTypes[] = {
    {MLE_DTYPE_FLOAT32, "float32", 4, napi_float32_array},
    {MLE_DTYPE_UINT8, "uint8", 1, napi_uint8_array},
    {MLE_DTYPE_INT8, "int8", 1, napi_int8_array},
    {MLE_DTYPE_INT32, "int32", 4, napi_int32_array},
    {MLE_DTYPE_INT64, "int64", 8, napi_bigint64_array},
    {MLE_DTYPE_STRING, "string", 0, napi_uint8_array},
    {MLE_DTYPE_BOOL, "bool", 1, napi_uint8_array},
    {MLE_DTYPE_FLOAT16, "float16", 2, napi_uint16_array},
    {MLE_DTYPE_FLOAT64, "float64", 8, napi_float64_array},
    {MLE_DTYPE_BFLOAT16, "bfloat16", 2, napi_uint16_array},
};
// END GENERATED: dtypes

const DTypeInfo *FindDType(mle_dtype id) {
    for (const DTypeInfo &d : kDTypes)
        if (d.id == id) return &d;
    return nullptr;
}

std::string DTypeName(mle_dtype id) {
    const DTypeInfo *d = FindDType(id);
    return d ? d->name : "dtype" + std::to_string(id);
}

// ------------------------------------------------------------------ errors

// A status and the library's message.
struct Status {
    mle_status code = MLE_OK;
    std::string message;
    bool ok() const { return code == MLE_OK; }
};

// Takes ownership of err (may be NULL).
Status MakeStatus(mle_status code, mle_error *err) {
    Status s;
    s.code = code;
    if (err) s.message = mle_error_message(err);
    mle_error_free(err);
    if (s.message.empty()) s.message = mle_status_string(code);
    return s;
}

Status MakeStatus(mle_status code, std::string message) {
    Status s;
    s.code = code;
    s.message = std::move(message);
    return s;
}

// libmle model handles held by every Core of the process (liveModels(), for
// the tests' leak checks).
std::atomic<int64_t> g_live_models{0};

// ------------------------------------------------------------ cancellation

// A run's cancel flag. libmle polls it on the pool thread; the JS thread sets
// it. Shared by the run and the JS cancel function, so it lives as long as
// either.
struct CancelFlag {
    int32_t value = 0;
    void Set() { __atomic_store_n(&value, 1, __ATOMIC_SEQ_CST); }
};

class RunTask;

// The asynchronous runs of one environment that have not completed. Touched
// on the environment's JS thread only.
struct PendingRuns {
    uv_loop_t *loop = nullptr;
    std::unordered_set<RunTask *> tasks;
    bool stopping = false;  // the environment is being torn down

    void CancelAll();
    // Environment cleanup hook: cancels the pending runs and waits for them
    // (a millisecond or so), so the loop can be closed.
    static void Drain(void *arg);
};

// ------------------------------------------------------------- the addon

// Per-instance (per main thread / worker thread) data.
class MleAddon : public Napi::Addon<MleAddon> {
public:
    MleAddon(Napi::Env env, Napi::Object exports);
    ~MleAddon() { napi_remove_env_cleanup_hook(env_, PendingRuns::Drain, &runs); }

    Napi::FunctionReference model_class;  // NativeModel
    Napi::FunctionReference error_class;  // index.js's MLEError (setErrorClass)
    PendingRuns runs;

private:
    napi_env env_;

    Napi::Value Version(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), mle_version()); }
    Napi::Value AbiVersion(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), mle_abi_version()); }
    Napi::Value HeaderAbiVersion(const Napi::CallbackInfo &info) {
        return Napi::Number::New(info.Env(), MLE_ABI_VERSION);
    }
    Napi::Value MaxStringBytes(const Napi::CallbackInfo &info) {
        return Napi::Number::New(info.Env(), MLE_MAX_STRING_BYTES);
    }
    Napi::Value StatusString(const Napi::CallbackInfo &info);
    Napi::Value SetErrorClass(const Napi::CallbackInfo &info);
    Napi::Value Open(const Napi::CallbackInfo &info);
    Napi::Value OpenAsync(const Napi::CallbackInfo &info);
    Napi::Value OpenMemory(const Napi::CallbackInfo &info);
    Napi::Value Keygen(const Napi::CallbackInfo &info);
    Napi::Value SignFile(const Napi::CallbackInfo &info);
    Napi::Value EncryptFile(const Napi::CallbackInfo &info);
    Napi::Value DecryptFile(const Napi::CallbackInfo &info);
    Napi::Value CancelAll(const Napi::CallbackInfo &info) {
        runs.CancelAll();
        return info.Env().Undefined();
    }
    Napi::Value LiveModels(const Napi::CallbackInfo &info) {
        return Napi::Number::New(info.Env(), static_cast<double>(g_live_models.load()));
    }
};

// A JS error for s: an MLEError (index.js) once it is registered, else an
// Error with the same properties (code: the name, status: the number).
Napi::Value ErrorValue(Napi::Env env, const Status &s) {
    MleAddon *addon = env.GetInstanceData<MleAddon>();
    Napi::String msg = Napi::String::New(env, s.message);
    Napi::Number code = Napi::Number::New(env, s.code);
    Napi::String name = Napi::String::New(env, mle_status_string(s.code));
    if (addon && !addon->error_class.IsEmpty()) return addon->error_class.New({msg, code, name});
    Napi::Error e = Napi::Error::New(env, s.message);
    e.Set("code", name);
    e.Set("status", code);
    e.Set("primary", Napi::Number::New(env, MLE_STATUS_PRIMARY(s.code)));
    return e.Value();
}

[[noreturn]] void Throw(Napi::Env env, const Status &s) { throw Napi::Error(env, ErrorValue(env, s)); }

[[noreturn]] void ThrowType(Napi::Env env, const std::string &msg) { throw Napi::TypeError::New(env, msg); }

// ------------------------------------------------------------------- Core

struct IoInfo {
    std::string name;
    mle_dtype dtype = 0;
    std::vector<int64_t> shape;
};

// An open model. Shared by the NativeModel and any asynchronous runs in
// flight; every method is thread-safe.
class Core {
public:
    // Takes ownership of model (freed on failure too).
    static Status Create(mle_model *model, std::shared_ptr<Core> *out) {
        std::shared_ptr<Core> c(new Core(model));
        Status st = c->ReadInfo(mle_model_input_count, mle_model_input_info, &c->inputs_);
        if (st.ok()) st = c->ReadInfo(mle_model_output_count, mle_model_output_info, &c->outputs_);
        if (st.ok()) st = c->ReadMetadata();
        if (!st.ok()) return st;  // c's destructor frees the model
        *out = std::move(c);
        return st;
    }

    ~Core() { Free(); }
    Core(const Core &) = delete;
    Core &operator=(const Core &) = delete;

    const std::vector<IoInfo> &inputs() const { return inputs_; }
    const std::vector<IoInfo> &outputs() const { return outputs_; }
    const std::string &metadata() const { return metadata_; }

    // Registers a use of the handle (a run, a setOptions), or refuses it with
    // MLE_ERR_BAD_HANDLE once closed. Until the matching End the handle stays
    // open: runs begun before close() complete normally.
    Status Begin() {
        std::lock_guard<std::mutex> lock(mu_);
        if (closing_) return MakeStatus(MLE_ERR_BAD_HANDLE, "the model is closed");
        pending_++;
        return Status{};
    }

    // Ends a use registered with Begin; the last one after close() frees.
    void End() {
        bool last;
        {
            std::lock_guard<std::mutex> lock(mu_);
            pending_--;
            last = closing_ && pending_ == 0;
        }
        if (last) Free();
    }

    // The handle. Only between Begin and End, which keep it from being freed.
    mle_model *handle() {
        std::lock_guard<std::mutex> lock(mu_);
        return model_;
    }

    // mle_model_set_options: the core's session pool bound and spin time.
    Status SetOptions(const mle_model_options &opts) {
        Status st = Begin();
        if (!st.ok()) return st;
        mle_error *err = nullptr;
        mle_status rc = mle_model_set_options(handle(), &opts, &err);
        End();
        return rc == MLE_OK ? Status{} : MakeStatus(rc, err);
    }

    // Refuses new runs; the model handle (and libmle's sessions with it) is
    // freed now, or by the last run in flight. Idempotent.
    void Close() {
        bool now;
        {
            std::lock_guard<std::mutex> lock(mu_);
            closing_ = true;
            now = pending_ == 0;
        }
        if (now) Free();
    }

    bool closed() {
        std::lock_guard<std::mutex> lock(mu_);
        return closing_;
    }

private:
    explicit Core(mle_model *m) : model_(m) {
        if (m) g_live_models++;
    }

    template <class CountFn, class InfoFn>
    Status ReadInfo(CountFn count_fn, InfoFn info_fn, std::vector<IoInfo> *out) {
        size_t n = 0;
        mle_status st = count_fn(model_, &n);
        if (st != MLE_OK) return MakeStatus(st, nullptr);
        for (size_t i = 0; i < n; i++) {
            mle_io_info info;
            std::memset(&info, 0, sizeof info);
            info.struct_size = sizeof info;
            mle_error *err = nullptr;
            st = info_fn(model_, i, &info, &err);
            if (st != MLE_OK) return MakeStatus(st, err);
            IoInfo io;
            io.name = info.name ? info.name : "";
            io.dtype = info.dtype;
            int32_t rank = info.rank < 0 ? 0 : (info.rank > MLE_MAX_RANK ? MLE_MAX_RANK : info.rank);
            io.shape.assign(info.shape, info.shape + rank);
            out->push_back(std::move(io));
        }
        return Status{};
    }

    Status ReadMetadata() {
        size_t len = 0;
        mle_error *err = nullptr;
        mle_status st = mle_model_metadata(model_, nullptr, 0, &len, &err);
        if (st != MLE_OK) return MakeStatus(st, err);
        std::string buf(len + 1, '\0');
        st = mle_model_metadata(model_, &buf[0], buf.size(), &len, &err);
        if (st != MLE_OK) return MakeStatus(st, err);
        buf.resize(len);
        metadata_ = std::move(buf);
        return Status{};
    }

    void Free() {
        mle_model *m;
        {
            std::lock_guard<std::mutex> lock(mu_);
            m = model_;
            model_ = nullptr;
        }
        if (m) {
            mle_model_free(m);
            g_live_models--;
        }
    }

    std::mutex mu_;
    // Guarded by mu_:
    mle_model *model_;      // nullptr once freed
    bool closing_ = false;  // close() was called: no new runs
    size_t pending_ = 0;    // uses between Begin and End
    std::vector<IoInfo> inputs_, outputs_;
    std::string metadata_;
};

// ------------------------------------------------------------------- runs

// Some non-NULL address for empty inputs (a NULL data pointer with 0 bytes
// is valid C API input too; this avoids depending on it).
alignas(16) const uint8_t kEmpty[16] = {};

struct InputTensor {
    std::string name;
    mle_dtype dtype = 0;
    std::vector<int64_t> shape;
    const void *data = nullptr;
    size_t nbytes = 0;
    std::unique_ptr<uint8_t[]> owned;  // a copy of the caller's bytes, when taken
};

// An output in memory the library allocated (mle_free'd unless handed on).
struct OutputTensor {
    std::string name;
    mle_dtype dtype = 0;
    std::vector<int64_t> shape;
    void *data = nullptr;
    size_t nbytes = 0;

    OutputTensor() = default;
    OutputTensor(OutputTensor &&o) noexcept
        : name(std::move(o.name)), dtype(o.dtype), shape(std::move(o.shape)), data(std::exchange(o.data, nullptr)),
          nbytes(o.nbytes) {}
    OutputTensor &operator=(OutputTensor &&) = delete;
    OutputTensor(const OutputTensor &) = delete;
    ~OutputTensor() { mle_free(data); }
};

// One run: inputs, which outputs, and what came back. Execute needs no JS,
// so it runs on any thread.
struct RunJob {
    std::shared_ptr<Core> core;
    std::vector<InputTensor> inputs;
    std::vector<std::string> output_names;  // empty: every output, in graph order
    int64_t timeout_us = 0;                 // 0: none
    std::shared_ptr<CancelFlag> cancel;     // asynchronous runs only
    Status status;
    std::vector<OutputTensor> outputs;
    bool begun = false;  // core->Begin() succeeded and End() is due

    RunJob() = default;
    RunJob(const RunJob &) = delete;
    RunJob &operator=(const RunJob &) = delete;
    ~RunJob() {
        if (begun) core->End();  // never executed (e.g. cancelled at shutdown)
    }

    void Execute() {
        struct EndGuard {
            RunJob *job;
            ~EndGuard() {
                if (job->begun) job->begun = false, job->core->End();
            }
        } guard{this};
        std::vector<mle_tensor> in(inputs.size());
        for (size_t i = 0; i < inputs.size(); i++) {
            const InputTensor &t = inputs[i];
            mle_tensor &c = in[i];
            std::memset(&c, 0, sizeof c);
            c.name = t.name.c_str();
            c.dtype = t.dtype;
            c.rank = static_cast<int32_t>(t.shape.size());
            for (size_t d = 0; d < t.shape.size(); d++) c.shape[d] = t.shape[d];
            c.data = const_cast<void *>(t.data ? t.data : kEmpty);  // inputs are only read
            c.nbytes = t.nbytes;
        }
        size_t n_out = output_names.empty() ? core->outputs().size() : output_names.size();
        std::vector<mle_tensor> out(n_out);
        for (size_t i = 0; i < n_out; i++) {
            std::memset(&out[i], 0, sizeof out[i]);
            out[i].name = output_names.empty() ? nullptr : output_names[i].c_str();
            out[i].data = nullptr;  // the library allocates
        }
        mle_run_options opts = mle_default_run_options();
        opts.timeout_us = timeout_us;
        opts.cancel = cancel ? &cancel->value : nullptr;
        mle_error *err = nullptr;
        // libmle's pool bounds the runs in progress; this one may wait there
        // for a session (its timeout and cancel flag count the wait).
        mle_status st = mle_model_run(core->handle(), in.empty() ? nullptr : in.data(), in.size(),
                                      out.empty() ? nullptr : out.data(), out.size(), &opts, &err);
        // Own the results (names are valid while the model handle lives)
        // before End() may free it.
        outputs.clear();
        outputs.reserve(n_out);
        for (size_t i = 0; i < n_out; i++) {
            OutputTensor o;
            o.data = st == MLE_OK ? out[i].data : nullptr;  // a failed run leaves nothing to free
            o.nbytes = out[i].nbytes;
            o.name = out[i].name ? out[i].name : "";
            o.dtype = out[i].dtype;
            int32_t rank = out[i].rank < 0 ? 0 : (out[i].rank > MLE_MAX_RANK ? MLE_MAX_RANK : out[i].rank);
            o.shape.assign(out[i].shape, out[i].shape + rank);
            outputs.push_back(std::move(o));
        }
        if (st != MLE_OK) {
            status = MakeStatus(st, err);
            outputs.clear();
        } else {
            mle_error_free(err);
        }
    }
};

void FreeExternal(napi_env, void *data, void *) { mle_free(data); }

uint64_t LoadLE64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

// A string output, packed (docs/FORMAT.md §7.1), as an Array of JS strings.
// libmle checks what it returns; the offsets are checked again here anyway,
// since a bad one would read out of bounds.
Napi::Value StringArray(Napi::Env env, const OutputTensor &o) {
    auto malformed = [&](const std::string &why) {
        Throw(env, MakeStatus(MLE_ERR_INTERNAL, "output \"" + o.name + "\": libmle returned malformed strings: " + why));
    };
    // The element count; each element has 8 bytes of offsets, which bounds
    // the product before it could overflow.
    size_t n = 1;
    for (int64_t d : o.shape)
        if (d == 0) n = 0;
    for (size_t i = 0; n > 0 && i < o.shape.size(); i++) {
        int64_t d = o.shape[i];
        if (d < 0 || static_cast<uint64_t>(d) > o.nbytes / 8 / n) malformed("the shape does not fit the bytes");
        n *= static_cast<size_t>(d);
    }
    if (n > 0xffffffffu)
        Throw(env, MakeStatus(MLE_ERR_SHAPE_TOO_LARGE,
                              "output \"" + o.name + "\": " + std::to_string(n) + " strings do not fit in a JS array"));
    Napi::Array a = Napi::Array::New(env, n);
    if (n == 0 && o.data == nullptr) return a;
    const uint8_t *p = static_cast<const uint8_t *>(o.data);
    size_t head = 8 * (n + 1);
    if (p == nullptr || o.nbytes < head) malformed("fewer bytes than the offsets need");
    const uint8_t *text = p + head;
    size_t text_len = o.nbytes - head;
    if (LoadLE64(p) != 0 || LoadLE64(p + 8 * n) != text_len) malformed("the first or last offset is wrong");
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t next = LoadLE64(p + 8 * (i + 1));
        if (next < prev || next > text_len) malformed("offsets out of order");
        napi_value v = nullptr;
        NAPI_THROW_IF_FAILED(env, napi_create_string_utf8(env, reinterpret_cast<const char *>(text + prev),
                                                          static_cast<size_t>(next - prev), &v),
                             Napi::Value());
        a.Set(static_cast<uint32_t>(i), Napi::Value(env, v));
        prev = next;
    }
    return a;
}

// The output as a typed array over its own ArrayBuffer (strings: an Array).
Napi::Value OutputArray(Napi::Env env, OutputTensor &o) {
    if (o.dtype == MLE_DTYPE_STRING) return StringArray(env, o);
    const DTypeInfo *d = FindDType(o.dtype);
    napi_typedarray_type type = d ? d->array : napi_uint8_array;
    size_t size = d ? d->size : 1;
    if (o.nbytes % size != 0) type = napi_uint8_array, size = 1;

    napi_value ab = nullptr;
    if (o.nbytes == 0 || o.data == nullptr) {
        ab = Napi::ArrayBuffer::New(env, 0);
    } else {
        napi_status s = napi_create_external_arraybuffer(env, o.data, o.nbytes, FreeExternal, nullptr, &ab);
        if (s == napi_ok) {
            o.data = nullptr;  // the ArrayBuffer owns it now
        } else {
            // External buffers not allowed (e.g. a V8 sandbox): copy.
            if (s == napi_pending_exception) {
                napi_value ignored;
                napi_get_and_clear_last_exception(env, &ignored);
            }
            Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, o.nbytes);
            std::memcpy(copy.Data(), o.data, o.nbytes);
            ab = copy;
        }
    }
    napi_value array = nullptr;
    NAPI_THROW_IF_FAILED(env, napi_create_typedarray(env, type, o.nbytes / size, ab, 0, &array), Napi::Value());
    return Napi::Value(env, array);
}

// Dimensions as numbers; one beyond 2^53 - 1 (possible in empty tensors) as
// a bigint, since a double would round it.
Napi::Array ShapeArray(Napi::Env env, const std::vector<int64_t> &shape) {
    const int64_t kMaxSafe = (int64_t(1) << 53) - 1;
    Napi::Array a = Napi::Array::New(env, shape.size());
    for (size_t i = 0; i < shape.size(); i++) {
        int64_t d = shape[i];
        Napi::Value v = d > kMaxSafe || d < -kMaxSafe ? Napi::Value(Napi::BigInt::New(env, d))
                                                      : Napi::Value(Napi::Number::New(env, double(d)));
        a.Set(static_cast<uint32_t>(i), v);
    }
    return a;
}

// {name: {data, shape, dtype}} in the order the outputs were asked for.
Napi::Object OutputsToJS(Napi::Env env, std::vector<OutputTensor> &outputs) {
    Napi::Object result = Napi::Object::New(env);
    for (OutputTensor &o : outputs) {
        Napi::Object t = Napi::Object::New(env);
        t.Set("data", OutputArray(env, o));
        t.Set("shape", ShapeArray(env, o.shape));
        t.Set("dtype", DTypeName(o.dtype));
        result.Set(o.name, t);
    }
    return result;
}

// Reads the inputs index.js normalized: [{name, dtype (id), shape, data}].
// copy: take a copy of the bytes (asynchronous runs); otherwise point at the
// caller's memory (used during the call only), copying only if misaligned.
std::vector<InputTensor> ParseInputs(Napi::Env env, Napi::Value value, bool copy) {
    if (!value.IsArray()) ThrowType(env, "inputs must be an array");
    Napi::Array arr = value.As<Napi::Array>();
    std::vector<InputTensor> inputs;
    inputs.reserve(arr.Length());
    for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Value v = arr.Get(i);
        if (!v.IsObject()) ThrowType(env, "each input must be an object");
        Napi::Object o = v.As<Napi::Object>();
        InputTensor t;
        Napi::Value name = o.Get("name"), dtype = o.Get("dtype"), shape = o.Get("shape"), data = o.Get("data");
        if (!name.IsString()) ThrowType(env, "input name must be a string");
        t.name = name.As<Napi::String>().Utf8Value();
        if (t.name.find('\0') != std::string::npos)
            Throw(env, MakeStatus(MLE_ERR_INVALID_NAME, "input name contains a NUL character"));
        if (!dtype.IsNumber()) ThrowType(env, "input " + t.name + ": dtype must be a number");
        t.dtype = dtype.As<Napi::Number>().Int32Value();
        if (!shape.IsArray()) ThrowType(env, "input " + t.name + ": shape must be an array");
        Napi::Array dims = shape.As<Napi::Array>();
        if (dims.Length() > MLE_MAX_RANK)
            Throw(env, MakeStatus(MLE_ERR_SHAPE, "input \"" + t.name + "\": rank " + std::to_string(dims.Length()) +
                                                     " is outside 0.." + std::to_string(MLE_MAX_RANK)));
        for (uint32_t d = 0; d < dims.Length(); d++) {
            Napi::Value dim = dims.Get(d);
            if (dim.IsNumber()) {
                t.shape.push_back(dim.As<Napi::Number>().Int64Value());
            } else if (dim.IsBigInt()) {  // index.js passes dimensions above 2^53 - 1 as bigints
                bool lossless = false;
                t.shape.push_back(dim.As<Napi::BigInt>().Int64Value(&lossless));
                if (!lossless)
                    Throw(env, MakeStatus(MLE_ERR_SHAPE_TOO_LARGE,
                                          "input \"" + t.name + "\": a dimension does not fit in 64 bits"));
            } else {
                ThrowType(env, "input " + t.name + ": shape must hold numbers");
            }
        }
        void *ptr = nullptr;
        size_t len = 0;
        if (data.IsTypedArray()) {
            napi_typedarray_type type;
            size_t length, offset;
            napi_value ab;
            NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, data, &type, &length, &ptr, &ab, &offset), {});
            len = data.As<Napi::TypedArray>().ByteLength();
        } else if (data.IsDataView()) {
            napi_value ab;
            size_t offset;
            NAPI_THROW_IF_FAILED(env, napi_get_dataview_info(env, data, &len, &ptr, &ab, &offset), {});
        } else {
            ThrowType(env, "input " + t.name + ": data must be a TypedArray or DataView");
        }
        if (len > 0 && ptr == nullptr) ThrowType(env, "input " + t.name + ": data is detached");
        const DTypeInfo *di = FindDType(t.dtype);
        size_t align = di && di->size > 0 ? di->size : 1;  // strings (size 0) are packed bytes
        bool misaligned = reinterpret_cast<uintptr_t>(ptr) % align != 0;
        if ((copy || misaligned) && len > 0) {
            t.owned.reset(new uint8_t[len]);
            std::memcpy(t.owned.get(), ptr, len);
            t.data = t.owned.get();
        } else {
            t.data = len > 0 ? ptr : nullptr;
        }
        t.nbytes = len;
        inputs.push_back(std::move(t));
    }
    return inputs;
}

std::vector<std::string> ParseOutputNames(Napi::Env env, Napi::Value value) {
    std::vector<std::string> names;
    if (value.IsUndefined() || value.IsNull()) return names;
    if (!value.IsArray()) ThrowType(env, "outputs must be an array of names");
    Napi::Array arr = value.As<Napi::Array>();
    if (arr.Length() == 0)
        Throw(env, MakeStatus(MLE_ERR_INVALID_VALUE, "outputs is empty: ask for at least one output (or leave it out)"));
    for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Value v = arr.Get(i);
        if (!v.IsString()) ThrowType(env, "outputs must be an array of names");
        names.push_back(v.As<Napi::String>().Utf8Value());
        if (names.back().find('\0') != std::string::npos)
            Throw(env, MakeStatus(MLE_ERR_INVALID_NAME, "output name contains a NUL character"));
    }
    return names;
}

// An AsyncWorker that settles a promise: resolved with value() when the work
// ended with an ok status, rejected with the status's error otherwise.
class PromiseWorker : public Napi::AsyncWorker {
public:
    PromiseWorker(Napi::Env env, const char *name)
        : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}

    Napi::Promise Promise() const { return deferred_.Promise(); }

protected:
    template <typename F>
    void Settle(const Status &status, F value) {
        Napi::Env env = Env();
        try {
            if (status.ok())
                deferred_.Resolve(value(env));
            else
                deferred_.Reject(ErrorValue(env, status));
        } catch (const Napi::Error &e) {
            try {
                deferred_.Reject(e.Value());
            } catch (...) {
                // the environment is shutting down: nobody is waiting
            }
        }
    }

private:
    Napi::Promise::Deferred deferred_;
};

// Runs a RunJob on the libuv thread pool (uv_queue_work; see the top of the
// file for why not Node-API async work) and settles a promise.
class RunTask {
public:
    // Queues job (which must have a cancel flag); returns its promise.
    static Napi::Value Start(Napi::Env env, std::unique_ptr<RunJob> job) {
        PendingRuns &pending = env.GetInstanceData<MleAddon>()->runs;
        std::unique_ptr<RunTask> task(new RunTask(env, &pending, std::move(job)));
        napi_value promise = nullptr;
        NAPI_THROW_IF_FAILED(env, napi_create_promise(env, &task->deferred_, &promise), Napi::Value());
        napi_status s = napi_async_init(env, nullptr, Napi::String::New(env, "mle:run"), &task->context_);
        int rc = s == napi_ok ? uv_queue_work(pending.loop, &task->req_, Work, After) : UV_EINVAL;
        if (rc != 0) {
            if (task->context_) napi_async_destroy(env, task->context_);
            std::string why = s == napi_ok ? uv_strerror(rc) : "napi_async_init failed";
            Status st = MakeStatus(MLE_ERR_INTERNAL, "cannot queue the run: " + why);
            napi_reject_deferred(env, task->deferred_, ErrorValue(env, st));
            return Napi::Value(env, promise);
        }
        pending.tasks.insert(task.release());
        return Napi::Value(env, promise);
    }

    void Cancel() { job_->cancel->Set(); }

private:
    RunTask(Napi::Env env, PendingRuns *pending, std::unique_ptr<RunJob> job)
        : env_(env), pending_(pending), job_(std::move(job)) {
        req_.data = this;
    }

    static void Work(uv_work_t *req) { static_cast<RunTask *>(req->data)->job_->Execute(); }

    static void After(uv_work_t *req, int) {
        std::unique_ptr<RunTask> t(static_cast<RunTask *>(req->data));
        t->pending_->tasks.erase(t.get());
        // Being torn down (PendingRuns::Drain): JS cannot run and nobody
        // awaits the promise; the job's destructor frees its outputs.
        if (t->pending_->stopping) return;
        Napi::Env env(t->env_);
        Napi::HandleScope scope(env);
        napi_callback_scope cb_scope = nullptr;  // runs microtasks on close, as async work would
        napi_open_callback_scope(env, Napi::Object::New(env), t->context_, &cb_scope);
        try {
            napi_value v = t->job_->status.ok() ? napi_value(OutputsToJS(env, t->job_->outputs))
                                                : napi_value(ErrorValue(env, t->job_->status));
            if (t->job_->status.ok())
                napi_resolve_deferred(env, t->deferred_, v);
            else
                napi_reject_deferred(env, t->deferred_, v);
        } catch (const Napi::Error &e) {
            napi_reject_deferred(env, t->deferred_, e.Value());
        }
        if (cb_scope) napi_close_callback_scope(env, cb_scope);
        napi_async_destroy(env, t->context_);
    }

    uv_work_t req_;
    napi_env env_;
    PendingRuns *pending_;
    std::unique_ptr<RunJob> job_;
    napi_deferred deferred_ = nullptr;
    napi_async_context context_ = nullptr;
};

void PendingRuns::CancelAll() {
    for (RunTask *t : tasks) t->Cancel();
}

void PendingRuns::Drain(void *arg) {
    PendingRuns *p = static_cast<PendingRuns *>(arg);
    p->stopping = true;
    p->CancelAll();
    while (!p->tasks.empty()) uv_run(p->loop, UV_RUN_ONCE);
}

// ----------------------------------------------------------- NativeModel

class NativeModel : public Napi::ObjectWrap<NativeModel> {
public:
    static Napi::Function Define(Napi::Env env) {
        return DefineClass(env, "NativeModel",
                           {
                               InstanceMethod<&NativeModel::Info>("info"),
                               InstanceMethod<&NativeModel::RunSync>("runSync"),
                               InstanceMethod<&NativeModel::Run>("run"),
                               InstanceMethod<&NativeModel::Close>("close"),
                               InstanceMethod<&NativeModel::IsClosed>("isClosed"),
                               InstanceMethod<&NativeModel::SetOptions>("setOptions"),
                           });
    }

    // A new JS object owning core.
    static Napi::Object New(Napi::Env env, std::shared_ptr<Core> core) {
        MleAddon *addon = env.GetInstanceData<MleAddon>();
        Napi::Object obj = addon->model_class.New({});
        Unwrap(obj)->core_ = std::move(core);
        return obj;
    }

    explicit NativeModel(const Napi::CallbackInfo &info) : Napi::ObjectWrap<NativeModel>(info) {}

    // Finalizer (garbage collection or environment teardown).
    ~NativeModel() override {
        if (core_) core_->Close();
    }

private:
    Core &core(Napi::Env env) {
        if (!core_) Throw(env, MakeStatus(MLE_ERR_BAD_HANDLE, "not an open model"));
        return *core_;
    }

    static Napi::Array IoArray(Napi::Env env, const std::vector<IoInfo> &ios) {
        Napi::Array a = Napi::Array::New(env, ios.size());
        for (size_t i = 0; i < ios.size(); i++) {
            Napi::Object o = Napi::Object::New(env);
            o.Set("name", ios[i].name);
            o.Set("dtype", DTypeName(ios[i].dtype));
            o.Set("shape", ShapeArray(env, ios[i].shape));
            a.Set(static_cast<uint32_t>(i), o);
        }
        return a;
    }

    Napi::Value Info(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        Core &c = core(env);
        Napi::Object o = Napi::Object::New(env);
        o.Set("inputs", IoArray(env, c.inputs()));
        o.Set("outputs", IoArray(env, c.outputs()));
        o.Set("metadata", c.metadata());
        return o;
    }

    // Arguments: inputs, outputNames, timeoutUs (index.js checked them).
    std::unique_ptr<RunJob> MakeJob(const Napi::CallbackInfo &info, bool async) {
        Napi::Env env = info.Env();
        core(env);
        auto job = std::make_unique<RunJob>();
        job->core = core_;
        job->inputs = ParseInputs(env, info[0], async);
        job->output_names = ParseOutputNames(env, info[1]);
        if (!info[2].IsUndefined()) {
            if (!info[2].IsNumber()) ThrowType(env, "timeout must be a number");
            job->timeout_us = info[2].As<Napi::Number>().Int64Value();
        }
        if (async) job->cancel = std::make_shared<CancelFlag>();
        Status st = core_->Begin();
        if (!st.ok()) Throw(env, st);
        job->begun = true;
        return job;
    }

    // runSync(inputs, outputNames?, timeoutUs?) -> {name: {data, shape, dtype}}
    Napi::Value RunSync(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        std::unique_ptr<RunJob> job = MakeJob(info, false);
        job->Execute();
        if (!job->status.ok()) Throw(env, job->status);
        return OutputsToJS(env, job->outputs);
    }

    // run(inputs, outputNames?, timeoutUs?, cancellable?) -> Promise, or
    // [Promise, cancel()] when cancellable (a signal was given); errors in the
    // arguments reject too. cancel() sets the run's flag; it does nothing once
    // the run has completed.
    Napi::Value Run(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        bool cancellable = info[3].ToBoolean();
        std::unique_ptr<RunJob> job;
        Napi::Value promise;
        Napi::Value cancel = env.Undefined();
        try {
            job = MakeJob(info, true);
        } catch (const Napi::Error &e) {
            Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
            d.Reject(e.Value());
            promise = d.Promise();
        }
        if (job) {
            std::shared_ptr<CancelFlag> flag = job->cancel;
            promise = RunTask::Start(env, std::move(job));
            if (cancellable)
                cancel = Napi::Function::New(env, [flag](const Napi::CallbackInfo &) { flag->Set(); }, "cancel");
        }
        if (!cancellable) return promise;
        Napi::Array result = Napi::Array::New(env, 2);
        result.Set(0u, promise);
        result.Set(1u, cancel);
        return result;
    }

    Napi::Value Close(const Napi::CallbackInfo &info) {
        if (core_) core_->Close();
        return info.Env().Undefined();
    }

    Napi::Value IsClosed(const Napi::CallbackInfo &info) {
        return Napi::Boolean::New(info.Env(), !core_ || core_->closed());
    }

    // setOptions(maxSessions, spinUs): integers index.js checked and merged
    // with the earlier ones (the C call sets both).
    Napi::Value SetOptions(const Napi::CallbackInfo &info) {
        Napi::Env env = info.Env();
        Core &c = core(env);
        if (!info[0].IsNumber() || !info[1].IsNumber()) ThrowType(env, "setOptions needs two numbers");
        mle_model_options o = mle_default_model_options();
        o.max_sessions = info[0].As<Napi::Number>().Int32Value();
        o.spin_us = info[1].As<Napi::Number>().Int32Value();
        Status st = c.SetOptions(o);
        if (!st.ok()) Throw(env, st);
        return env.Undefined();
    }

    std::shared_ptr<Core> core_;
};

// ------------------------------------------------------------------ opening

// Reads the options index.js normalized: {verify, readAll, threads, device, maxArenaBytes}.
mle_open_options ParseOptions(Napi::Env env, Napi::Value v) {
    mle_open_options o = mle_default_open_options();
    if (v.IsUndefined() || v.IsNull()) return o;
    if (!v.IsObject()) ThrowType(env, "options must be an object");
    Napi::Object obj = v.As<Napi::Object>();
    auto num = [&](const char *key, double def) {
        Napi::Value x = obj.Get(key);
        if (x.IsUndefined()) return def;
        if (!x.IsNumber()) ThrowType(env, std::string("options.") + key + " must be a number");
        return x.As<Napi::Number>().DoubleValue();
    };
    auto flag = [&](const char *key) {
        Napi::Value x = obj.Get(key);
        return !x.IsUndefined() && x.ToBoolean().Value();
    };
    o.verify = flag("verify") ? 1 : 0;
    o.read_all = flag("readAll") ? 1 : 0;
    o.threads = static_cast<int32_t>(num("threads", 0));
    o.device = static_cast<int32_t>(num("device", MLE_DEVICE_CPU));
    o.max_arena_bytes = static_cast<int64_t>(num("maxArenaBytes", 0));
    return o;
}

std::string ParsePath(Napi::Env env, Napi::Value v) {
    if (!v.IsString()) ThrowType(env, "path must be a string");
    std::string path = v.As<Napi::String>().Utf8Value();
    if (path.find('\0') != std::string::npos)
        Throw(env, MakeStatus(MLE_ERR_INVALID_VALUE, "path contains a NUL character"));
    return path;
}

// ------------------------------------------------------------------- keys

// Bytes of a key, owned here and wiped when dropped (the caller's Buffer is
// theirs to wipe; this copy is ours).
class SecretBytes {
public:
    SecretBytes() = default;
    SecretBytes(const void *p, size_t n)
        : bytes_(static_cast<const uint8_t *>(p), static_cast<const uint8_t *>(p) + n) {}
    SecretBytes(SecretBytes &&o) noexcept : bytes_(std::move(o.bytes_)) {}
    SecretBytes &operator=(SecretBytes &&o) noexcept {
        if (this != &o) {
            Wipe();
            bytes_ = std::move(o.bytes_);
        }
        return *this;
    }
    SecretBytes(const SecretBytes &) = delete;
    SecretBytes &operator=(const SecretBytes &) = delete;
    ~SecretBytes() { Wipe(); }

    // Never NULL, even when empty: NULL with length 0 means "no key" to libmle.
    const void *data() const { return bytes_.empty() ? static_cast<const void *>(kEmpty) : bytes_.data(); }
    size_t size() const { return bytes_.size(); }

private:
    void Wipe() {
        // volatile: a store the compiler may not drop as dead.
        volatile uint8_t *p = bytes_.data();
        for (size_t i = 0; i < bytes_.size(); i++) p[i] = 0;
    }
    std::vector<uint8_t> bytes_;
};

// The bytes of a Uint8Array (Buffer), other TypedArray, DataView or ArrayBuffer, copied.
SecretBytes ParseBytes(Napi::Env env, Napi::Value v, const std::string &what) {
    void *ptr = nullptr;
    size_t len = 0;
    if (v.IsTypedArray()) {
        Napi::TypedArray ta = v.As<Napi::TypedArray>();
        ptr = static_cast<uint8_t *>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
        len = ta.ByteLength();
    } else if (v.IsDataView()) {
        Napi::DataView dv = v.As<Napi::DataView>();
        ptr = static_cast<uint8_t *>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
        len = dv.ByteLength();
    } else if (v.IsArrayBuffer()) {
        Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
        ptr = ab.Data();
        len = ab.ByteLength();
    } else {
        ThrowType(env, what + " must be a Buffer or Uint8Array");
    }
    return SecretBytes(ptr, len);
}

// Keys for opening (mle_trust_options), owned, so that an asynchronous open
// can use them on another thread after the JS values are gone.
struct Trust {
    bool set = false;  // any option given: open with the _with calls
    bool has_key = false;
    SecretBytes key;
    std::vector<SecretBytes> trusted;
    bool require_signature = false;

    // The C struct; it points into this object.
    mle_trust_options ToC(std::vector<const void *> *ptrs, std::vector<size_t> *lens) const {
        mle_trust_options t = mle_default_trust_options();
        if (has_key) t.key = key.data(), t.key_len = key.size();
        ptrs->clear();
        lens->clear();
        for (const SecretBytes &k : trusted) ptrs->push_back(k.data()), lens->push_back(k.size());
        if (!trusted.empty()) {
            t.trusted_keys = ptrs->data();
            t.trusted_key_lens = lens->data();
            t.n_trusted_keys = trusted.size();
        }
        t.require_signature = require_signature ? 1 : 0;
        return t;
    }
};

// Reads the trust options index.js normalized: {key?, trustedKeys?, requireSignature?}
// (undefined: none), every key as bytes.
Trust ParseTrust(Napi::Env env, Napi::Value v) {
    Trust t;
    if (v.IsUndefined() || v.IsNull()) return t;
    if (!v.IsObject()) ThrowType(env, "trust options must be an object");
    Napi::Object obj = v.As<Napi::Object>();
    t.set = true;
    Napi::Value key = obj.Get("key");
    if (!key.IsUndefined()) {
        t.key = ParseBytes(env, key, "options.key");
        t.has_key = true;
    }
    Napi::Value keys = obj.Get("trustedKeys");
    if (!keys.IsUndefined()) {
        if (!keys.IsArray()) ThrowType(env, "options.trustedKeys must be an array");
        Napi::Array a = keys.As<Napi::Array>();
        for (uint32_t i = 0; i < a.Length(); i++)
            t.trusted.push_back(ParseBytes(env, a.Get(i), "options.trustedKeys[" + std::to_string(i) + "]"));
    }
    t.require_signature = obj.Get("requireSignature").ToBoolean().Value();
    return t;
}

Status OpenPath(const std::string &path, const mle_open_options &opts, const Trust &trust,
                std::shared_ptr<Core> *core) {
    mle_model *m = nullptr;
    mle_error *err = nullptr;
    mle_status st;
    if (trust.set) {
        std::vector<const void *> ptrs;
        std::vector<size_t> lens;
        mle_trust_options t = trust.ToC(&ptrs, &lens);
        st = mle_model_open_with(path.c_str(), &opts, &t, &m, &err);
    } else {
        st = mle_model_open(path.c_str(), &opts, &m, &err);
    }
    if (st != MLE_OK) return MakeStatus(st, err);
    return Core::Create(m, core);
}

class OpenWorker : public PromiseWorker {
public:
    OpenWorker(Napi::Env env, std::string path, mle_open_options opts, Trust trust)
        : PromiseWorker(env, "mle:load"), path_(std::move(path)), opts_(opts), trust_(std::move(trust)) {}

protected:
    void Execute() override { status_ = OpenPath(path_, opts_, trust_, &core_); }

    void OnOK() override {
        Settle(status_, [this](Napi::Env env) { return NativeModel::New(env, std::move(core_)); });
    }

private:
    std::string path_;
    mle_open_options opts_;
    Trust trust_;
    Status status_;
    std::shared_ptr<Core> core_;
};

// ----------------------------------------------------------- the addon

MleAddon::MleAddon(Napi::Env env, Napi::Object exports) : env_(env) {
    if (mle_abi_version() != MLE_ABI_VERSION)
        throw Napi::Error::New(env, "mle-runtime: libmle ABI version " + std::to_string(mle_abi_version()) +
                                        " does not match the header's " + std::to_string(MLE_ABI_VERSION) +
                                        " (rebuild the addon against this libmle)");
    model_class = Napi::Persistent(NativeModel::Define(env));
    if (napi_get_uv_event_loop(env, &runs.loop) != napi_ok || runs.loop == nullptr)
        throw Napi::Error::New(env, "mle-runtime: no libuv event loop");
    DefineAddon(exports, {
                             InstanceMethod<&MleAddon::Version>("version"),
                             InstanceMethod<&MleAddon::AbiVersion>("abiVersion"),
                             InstanceMethod<&MleAddon::HeaderAbiVersion>("headerAbiVersion"),
                             InstanceMethod<&MleAddon::MaxStringBytes>("maxStringBytes"),
                             InstanceMethod<&MleAddon::StatusString>("statusString"),
                             InstanceMethod<&MleAddon::SetErrorClass>("setErrorClass"),
                             InstanceMethod<&MleAddon::Open>("open"),
                             InstanceMethod<&MleAddon::OpenAsync>("openAsync"),
                             InstanceMethod<&MleAddon::OpenMemory>("openMemory"),
                             InstanceMethod<&MleAddon::Keygen>("keygen"),
                             InstanceMethod<&MleAddon::SignFile>("signFile"),
                             InstanceMethod<&MleAddon::EncryptFile>("encryptFile"),
                             InstanceMethod<&MleAddon::DecryptFile>("decryptFile"),
                             InstanceMethod<&MleAddon::CancelAll>("cancelAll"),
                             InstanceMethod<&MleAddon::LiveModels>("liveModels"),
                         });
    // Last: a constructor that throws leaves no hook pointing into this object.
    if (napi_add_env_cleanup_hook(env, PendingRuns::Drain, &runs) != napi_ok)
        throw Napi::Error::New(env, "mle-runtime: cannot register the cleanup hook");
}

Napi::Value MleAddon::StatusString(const Napi::CallbackInfo &info) {
    if (!info[0].IsNumber()) ThrowType(info.Env(), "statusString needs a number");
    return Napi::String::New(info.Env(), mle_status_string(info[0].As<Napi::Number>().Uint32Value()));
}

Napi::Value MleAddon::SetErrorClass(const Napi::CallbackInfo &info) {
    if (!info[0].IsFunction()) ThrowType(info.Env(), "setErrorClass needs a constructor");
    error_class = Napi::Persistent(info[0].As<Napi::Function>());
    return info.Env().Undefined();
}

// open(path, options, trust?) -> NativeModel
Napi::Value MleAddon::Open(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string path = ParsePath(env, info[0]);
    mle_open_options opts = ParseOptions(env, info[1]);
    Trust trust = ParseTrust(env, info[2]);
    std::shared_ptr<Core> core;
    Status st = OpenPath(path, opts, trust, &core);
    if (!st.ok()) Throw(env, st);
    return NativeModel::New(env, std::move(core));
}

// openAsync(path, options, trust?) -> Promise<NativeModel>
Napi::Value MleAddon::OpenAsync(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string path;
    mle_open_options opts;
    Trust trust;
    try {
        path = ParsePath(env, info[0]);
        opts = ParseOptions(env, info[1]);
        trust = ParseTrust(env, info[2]);
    } catch (const Napi::Error &e) {
        Napi::Promise::Deferred d = Napi::Promise::Deferred::New(env);
        d.Reject(e.Value());
        return d.Promise();
    }
    OpenWorker *w = new OpenWorker(env, std::move(path), opts, std::move(trust));
    Napi::Promise p = w->Promise();
    w->Queue();
    return p;
}

// openMemory(view, options, trust?) -> NativeModel; the bytes are copied by libmle.
Napi::Value MleAddon::OpenMemory(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    void *ptr = nullptr;
    size_t len = 0;
    Napi::Value v = info[0];
    if (v.IsTypedArray()) {
        napi_typedarray_type type;
        size_t length, offset;
        napi_value ab;
        NAPI_THROW_IF_FAILED(env, napi_get_typedarray_info(env, v, &type, &length, &ptr, &ab, &offset), {});
        len = v.As<Napi::TypedArray>().ByteLength();
    } else if (v.IsDataView()) {
        napi_value ab;
        size_t offset;
        NAPI_THROW_IF_FAILED(env, napi_get_dataview_info(env, v, &len, &ptr, &ab, &offset), {});
    } else if (v.IsArrayBuffer()) {
        Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
        ptr = ab.Data();
        len = ab.ByteLength();
    } else {
        ThrowType(env, "loadBuffer needs a Buffer, TypedArray, DataView or ArrayBuffer");
    }
    mle_open_options opts = ParseOptions(env, info[1]);
    Trust trust = ParseTrust(env, info[2]);
    mle_model *m = nullptr;
    mle_error *err = nullptr;
    mle_status st;
    if (trust.set) {
        std::vector<const void *> ptrs;
        std::vector<size_t> lens;
        mle_trust_options t = trust.ToC(&ptrs, &lens);
        st = mle_model_open_memory_with(len > 0 ? ptr : kEmpty, len, &opts, &t, &m, &err);
    } else {
        st = mle_model_open_memory(len > 0 ? ptr : kEmpty, len, &opts, &m, &err);
    }
    if (st != MLE_OK) Throw(env, MakeStatus(st, err));
    std::shared_ptr<Core> core;
    Status s = Core::Create(m, &core);
    if (!s.ok()) Throw(env, s);
    return NativeModel::New(env, std::move(core));
}

// keygen(prefix): writes prefix.key and prefix.pub (mle_keygen).
Napi::Value MleAddon::Keygen(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    std::string prefix = ParsePath(env, info[0]);
    mle_error *err = nullptr;
    mle_status st = mle_keygen(prefix.c_str(), &err);
    if (st != MLE_OK) Throw(env, MakeStatus(st, err));
    return env.Undefined();
}

using FileKeyFn = mle_status (*)(const char *, const char *, const void *, size_t, mle_error **);

// fn(in, out (undefined: NULL, in place), key bytes), on this thread.
Napi::Value FileKeyOp(const Napi::CallbackInfo &info, FileKeyFn fn) {
    Napi::Env env = info.Env();
    std::string in = ParsePath(env, info[0]);
    bool in_place = info[1].IsUndefined() || info[1].IsNull();
    std::string out = in_place ? std::string() : ParsePath(env, info[1]);
    SecretBytes key = ParseBytes(env, info[2], "key");
    mle_error *err = nullptr;
    mle_status st = fn(in.c_str(), in_place ? nullptr : out.c_str(), key.data(), key.size(), &err);
    if (st != MLE_OK) Throw(env, MakeStatus(st, err));
    return env.Undefined();
}

// signFile(in, out?, key): key as bytes (PEM or 32-byte seed).
Napi::Value MleAddon::SignFile(const Napi::CallbackInfo &info) { return FileKeyOp(info, mle_sign_file); }
// encryptFile(in, out?, key): key as 32 bytes.
Napi::Value MleAddon::EncryptFile(const Napi::CallbackInfo &info) { return FileKeyOp(info, mle_encrypt_file); }
// decryptFile(in, out?, key): key as 32 bytes.
Napi::Value MleAddon::DecryptFile(const Napi::CallbackInfo &info) { return FileKeyOp(info, mle_decrypt_file); }

}  // namespace

NODE_API_ADDON(MleAddon)
