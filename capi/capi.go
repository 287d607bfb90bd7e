// Command capi is libmle: the C ABI over MLE's Go core, built with
// `go build -buildmode=c-shared`. It only translates: handles to objects,
// C structs to engine types, Go errors to status codes. The public symbols
// are the C wrappers in wrappers.c, which guard against fork and call the
// mlego_* exports here.
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include -O2 -Wall
#include <stdlib.h>
#include <string.h>
#include "mle.h"
#include "internal.h"
*/
import "C"

import (
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/engine"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/fault"
	"github.com/mle-runtime/mle/core/format"
	"github.com/mle-runtime/mle/core/graph"
)

func main() {}

// ---------------------------------------------------------------- errors

// fail stores err's details in *cerr (if wanted) and returns its status.
func fail(cerr **C.mle_error, err error) C.mle_status {
	code := errs.CodeOf(err)
	if code == errs.OK {
		code = errs.Internal
	}
	if cerr != nil {
		e := (*C.mle_error)(C.malloc(C.size_t(unsafe.Sizeof(C.mle_error{}))))
		e.status = C.mle_status(code)
		e.message = C.CString(errs.Message(err)) // the code is reported separately
		*cerr = e
	}
	return C.mle_status(code)
}

func failf(cerr **C.mle_error, code errs.Code, format string, args ...any) C.mle_status {
	return fail(cerr, errs.New(code, format, args...))
}

func begin(cerr **C.mle_error) {
	if cerr != nil {
		*cerr = nil
	}
}

// recoverStatus turns a panic in an export into MLE_ERR_INTERNAL: a bug in
// MLE must never take the host process down.
func recoverStatus(st *C.mle_status, cerr **C.mle_error) {
	if v := recover(); v != nil {
		*st = fail(cerr, errs.New(errs.Internal, "panic in libmle: %v\n%s", v, debug.Stack()))
	}
}

// maxBufferBytes bounds any caller buffer: no process has more address
// space (and unsafe.Slice would panic on more).
const maxBufferBytes = 1 << 47

// cBytes views n bytes at p as a Go slice, refusing sizes no buffer can have
// (kind and name say whose buffer, for the message; formatted only then).
func cBytes(p unsafe.Pointer, n C.size_t, kind, name string) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	if p == nil {
		return nil, errs.New(errs.InvalidNull, "%s %q: data is NULL", kind, name)
	}
	if uint64(n) > maxBufferBytes || uintptr(p)+uintptr(n) < uintptr(p) {
		return nil, errs.New(errs.InvalidValue, "%s %q: nbytes %d is larger than any buffer can be", kind, name, uint64(n))
	}
	return unsafe.Slice((*byte)(p), int(n)), nil
}

// goStringView returns a Go string over a NUL-terminated C string without
// copying; it must not outlive the call.
func goStringView(s *C.char) string {
	return unsafe.String((*byte)(unsafe.Pointer(s)), int(C.strlen(s)))
}

// ---------------------------------------------------------------- models

// cmodel is what a model handle names. Its C strings (input/output names)
// are shared with its sessions and freed when the last of them goes.
type cmodel struct {
	m        *engine.Model
	inNames  []*C.char
	outNames []*C.char
	inIndex  map[string]int
	outIndex map[string]int
	refs     atomic.Int32
	calls    sync.Pool // *ccall scratch for mle_model_run
}

func newCModel(m *engine.Model) *cmodel {
	c := &cmodel{m: m, inIndex: map[string]int{}, outIndex: map[string]int{}}
	for i, v := range m.Inputs() {
		c.inNames = append(c.inNames, C.CString(v.Name))
		c.inIndex[v.Name] = i
	}
	for i, v := range m.Outputs() {
		c.outNames = append(c.outNames, C.CString(v.Name))
		c.outIndex[v.Name] = i
	}
	c.refs.Store(1)
	return c
}

// acquire takes a reference unless the last one is already gone.
func (c *cmodel) acquire() bool {
	for {
		r := c.refs.Load()
		if r <= 0 {
			return false
		}
		if c.refs.CompareAndSwap(r, r+1) {
			return true
		}
	}
}

func (c *cmodel) release() {
	if c.refs.Add(-1) != 0 {
		return
	}
	for _, s := range append(c.inNames, c.outNames...) {
		C.free(unsafe.Pointer(s))
	}
	c.inNames, c.outNames = nil, nil
}

func getModel(h C.uintptr_t) (*cmodel, bool) {
	o, ok := handles.get(kindModel, handle(h))
	if !ok {
		return nil, false
	}
	return o.(*cmodel), true
}

// checkStructSize validates a struct_size-style options struct: at least
// the known size, and any bytes beyond it zero (a newer caller asking for
// nothing new). Structs returned by value never grow: new fields go into
// new structs.
func checkStructSize(p unsafe.Pointer, size, known C.size_t, what, deflt string) error {
	if size < known {
		return errs.New(errs.InvalidOptions, "%s.struct_size is %d; this library needs %d (use %s)", what, size, known, deflt)
	}
	if size > 1<<16 {
		return errs.New(errs.InvalidOptions, "%s.struct_size %d is implausible", what, size)
	}
	if size > known {
		for _, b := range unsafe.Slice((*byte)(p), int(size))[known:] {
			if b != 0 {
				return errs.New(errs.InvalidOptions, "%s sets fields this library (ABI %d) does not know", what, C.MLE_ABI_VERSION)
			}
		}
	}
	return nil
}

// openOptions converts C options.
func openOptions(o *C.mle_open_options) (engine.Options, error) {
	if o == nil {
		return engine.Options{}, nil
	}
	known := C.size_t(unsafe.Sizeof(C.mle_open_options{}))
	if err := checkStructSize(unsafe.Pointer(o), o.struct_size, known, "mle_open_options", "mle_default_open_options"); err != nil {
		return engine.Options{}, err
	}
	opts := engine.Options{Verify: o.verify != 0, ReadAll: o.read_all != 0, Threads: int(o.threads), MaxArenaBytes: int64(o.max_arena_bytes)}
	switch o.device {
	case C.MLE_DEVICE_CPU:
	case C.MLE_DEVICE_CUDA:
		opts.Device = "cuda"
	default:
		return opts, errs.New(errs.InvalidOptions, "unknown device %d", o.device)
	}
	return opts, nil
}

// sessionOptions converts C session options (nil: the defaults).
func sessionOptions(o *C.mle_session_options) (engine.SessionOptions, error) {
	if o == nil {
		return engine.SessionOptions{}, nil
	}
	known := C.size_t(unsafe.Sizeof(C.mle_session_options{}))
	if err := checkStructSize(unsafe.Pointer(o), o.struct_size, known, "mle_session_options", "mle_default_session_options"); err != nil {
		return engine.SessionOptions{}, err
	}
	return engine.SessionOptions{MaxMemory: int64(o.max_arena_bytes), MaxPlans: int(o.max_cached_plans)}, nil
}

//export mlego_model_open
func mlego_model_open(path *C.char, copts *C.mle_open_options, out *C.uintptr_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return openPath("mle_model_open", path, copts, nil, out, cerr)
}

//export mlego_model_open_memory
func mlego_model_open_memory(data unsafe.Pointer, n C.size_t, copts *C.mle_open_options, out *C.uintptr_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return openMemory("mle_model_open_memory", data, n, copts, nil, out, cerr)
}

// openPath opens the model at path with options and keys (trust may be nil).
func openPath(fn string, path *C.char, copts *C.mle_open_options, trust *C.mle_trust_options, out *C.uintptr_t, cerr **C.mle_error) C.mle_status {
	begin(cerr)
	if path == nil || out == nil {
		return failf(cerr, errs.InvalidNull, "%s: path and model must not be NULL", fn)
	}
	opts, err := openWith(copts, trust)
	if err != nil {
		return fail(cerr, err)
	}
	m, err := engine.Open(C.GoString(path), opts)
	if err != nil {
		return fail(cerr, err)
	}
	return putModel(m, out, cerr)
}

// openMemory opens a model from a copy of the caller's bytes.
func openMemory(fn string, data unsafe.Pointer, n C.size_t, copts *C.mle_open_options, trust *C.mle_trust_options, out *C.uintptr_t, cerr **C.mle_error) C.mle_status {
	begin(cerr)
	if (data == nil && n > 0) || out == nil {
		return failf(cerr, errs.InvalidNull, "%s: data and model must not be NULL", fn)
	}
	opts, err := openWith(copts, trust)
	if err != nil {
		return fail(cerr, err)
	}
	if opts.ReadAll {
		return failf(cerr, errs.InvalidOptions, "read_all has no meaning for %s", fn)
	}
	buf, err := copyIn(data, n)
	if err != nil {
		return fail(cerr, err)
	}
	m, err := engine.OpenOwned(buf, opts)
	if err != nil {
		return fail(cerr, err)
	}
	return putModel(m, out, cerr)
}

// putModel hands out a handle for m (closing m if no handle is left).
func putModel(m *engine.Model, out *C.uintptr_t, cerr **C.mle_error) C.mle_status {
	c := newCModel(m)
	h, err := handles.put(kindModel, c)
	if err != nil {
		_ = m.Close()
		c.release()
		return fail(cerr, err)
	}
	*out = C.uintptr_t(h)
	return C.MLE_OK
}

//export mlego_model_free
func mlego_model_free(h C.uintptr_t) (st C.mle_status) {
	defer recoverStatus(&st, nil)
	o, ok := handles.remove(kindModel, handle(h))
	if !ok {
		return C.MLE_ERR_BAD_HANDLE
	}
	c := o.(*cmodel)
	err := c.m.Close()
	c.release()
	if err != nil {
		return fail(nil, err)
	}
	return C.MLE_OK
}

func badHandle(cerr **C.mle_error, what string) C.mle_status {
	return failf(cerr, errs.BadHandle, "invalid %s handle (NULL, freed, or not a %s)", what, what)
}

//export mlego_model_metadata
func mlego_model_metadata(h C.uintptr_t, buf *C.char, capacity C.size_t, n *C.size_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	begin(cerr)
	c, ok := getModel(h)
	if !ok {
		return badHandle(cerr, "model")
	}
	if n == nil {
		return failf(cerr, errs.InvalidNull, "mle_model_metadata: len must not be NULL")
	}
	js := c.m.File().MetadataJSON
	*n = C.size_t(len(js))
	if buf == nil {
		return C.MLE_OK
	}
	if capacity < C.size_t(len(js))+1 {
		return failf(cerr, errs.BufferTooSmall, "metadata needs %d bytes plus a NUL; the buffer holds %d", len(js), capacity)
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(buf)), len(js)+1)
	copy(dst, js)
	dst[len(js)] = 0
	return C.MLE_OK
}

// ioCount stores how many inputs (or outputs) the model has.
func ioCount(h C.uintptr_t, n *C.size_t, outputs bool) C.mle_status {
	c, ok := getModel(h)
	if !ok {
		return C.MLE_ERR_BAD_HANDLE
	}
	if n == nil {
		return C.MLE_ERR_INVALID_NULL
	}
	*n = C.size_t(len(c.inNames))
	if outputs {
		*n = C.size_t(len(c.outNames))
	}
	return C.MLE_OK
}

//export mlego_model_input_count
func mlego_model_input_count(h C.uintptr_t, n *C.size_t) (st C.mle_status) {
	defer recoverStatus(&st, nil)
	return ioCount(h, n, false)
}

//export mlego_model_output_count
func mlego_model_output_count(h C.uintptr_t, n *C.size_t) (st C.mle_status) {
	defer recoverStatus(&st, nil)
	return ioCount(h, n, true)
}

func ioInfo(h C.uintptr_t, index C.size_t, info *C.mle_io_info, cerr **C.mle_error, outputs bool) C.mle_status {
	begin(cerr)
	c, ok := getModel(h)
	if !ok {
		return badHandle(cerr, "model")
	}
	if info == nil {
		return failf(cerr, errs.InvalidNull, "info must not be NULL")
	}
	if info.struct_size < C.size_t(unsafe.Sizeof(*info)) {
		return failf(cerr, errs.InvalidOptions, "mle_io_info.struct_size is %d; set it to sizeof(mle_io_info) = %d", info.struct_size, unsafe.Sizeof(*info))
	}
	sig, names, what := c.m.Inputs(), c.inNames, "input"
	if outputs {
		sig, names, what = c.m.Outputs(), c.outNames, "output"
	}
	if index >= C.size_t(len(sig)) {
		return failf(cerr, errs.InvalidValue, "%s index %d is out of range (the model has %d)", what, index, len(sig))
	}
	v := sig[index]
	info.name = names[index]
	info.dtype = C.mle_dtype(v.DType)
	info.rank = C.int32_t(len(v.Shape))
	for i := range info.shape {
		info.shape[i] = 0
	}
	for i, d := range v.Shape {
		info.shape[i] = C.int64_t(d)
	}
	return C.MLE_OK
}

//export mlego_model_input_info
func mlego_model_input_info(h C.uintptr_t, index C.size_t, info *C.mle_io_info, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return ioInfo(h, index, info, cerr, false)
}

//export mlego_model_output_info
func mlego_model_output_info(h C.uintptr_t, index C.size_t, info *C.mle_io_info, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return ioInfo(h, index, info, cerr, true)
}

// ccall is the scratch of one C run, kept so that a steady-state run
// allocates nothing: a session owns one; a model keeps a pool for
// mle_model_run.
type ccall struct {
	ins     []engine.Tensor
	outs    []engine.Tensor
	outMap  []int            // C output position → graph output index
	seen    []bool           // scratch for duplicate detection
	mallocd []bool           // by C output position: the library allocated its buffer
	alloc   engine.AllocFunc // cc.mallocOutput, made once
}

func newCCall(c *cmodel) *ccall {
	nIn, nOut := len(c.inNames), len(c.outNames)
	cc := &ccall{ins: make([]engine.Tensor, nIn), outs: make([]engine.Tensor, nOut),
		outMap: make([]int, nOut), seen: make([]bool, max(nIn, nOut)), mallocd: make([]bool, nOut)}
	cc.alloc = cc.mallocOutput
	return cc
}

// csession is what a session handle names.
type csession struct {
	s    *engine.Session
	c    *cmodel
	call *ccall
	// busy guards the scratch: a second thread must be refused before it
	// touches anything (the engine's own check comes too late for that).
	busy atomic.Bool
}

// mallocOutput allocates output i's buffer with C malloc (the caller frees
// it with mle_free).
func (cc *ccall) mallocOutput(i int, _ *engine.Tensor, n int64) ([]byte, error) {
	p := C.malloc(C.size_t(max(n, 1)))
	if p == nil {
		return nil, errs.New(errs.NoMemorySystem, "output %d: malloc(%d) failed", i, n)
	}
	cc.mallocd[i] = true
	return unsafe.Slice((*byte)(p), int(max(n, 1)))[:n:n], nil
}

//export mlego_session_new
func mlego_session_new(h C.uintptr_t, out *C.uintptr_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return sessionNew(h, nil, out, cerr)
}

//export mlego_session_new_opts
func mlego_session_new_opts(h C.uintptr_t, copts *C.mle_session_options, out *C.uintptr_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return sessionNew(h, copts, out, cerr)
}

func sessionNew(h C.uintptr_t, copts *C.mle_session_options, out *C.uintptr_t, cerr **C.mle_error) C.mle_status {
	begin(cerr)
	c, ok := getModel(h)
	if !ok {
		return badHandle(cerr, "model")
	}
	if out == nil {
		return failf(cerr, errs.InvalidNull, "mle_session_new: session must not be NULL")
	}
	opts, err := sessionOptions(copts)
	if err != nil {
		return fail(cerr, err)
	}
	// Take the names' reference first: a concurrent mle_model_free must not
	// free them under the new session.
	if !c.acquire() {
		return badHandle(cerr, "model")
	}
	s, err := c.m.NewSessionWith(opts)
	if err != nil {
		c.release()
		return fail(cerr, err)
	}
	cs := &csession{s: s, c: c, call: newCCall(c)}
	hs, err := handles.put(kindSession, cs)
	if err != nil {
		_ = s.Close()
		c.release()
		return fail(cerr, err)
	}
	*out = C.uintptr_t(hs)
	return C.MLE_OK
}

//export mlego_session_free
func mlego_session_free(h C.uintptr_t) (st C.mle_status) {
	defer recoverStatus(&st, nil)
	o, ok := handles.get(kindSession, handle(h))
	if !ok {
		return C.MLE_ERR_BAD_HANDLE
	}
	cs := o.(*csession)
	if !cs.busy.CompareAndSwap(false, true) {
		return C.MLE_ERR_BUSY
	}
	defer cs.busy.Store(false)
	if err := cs.s.Close(); err != nil {
		return fail(nil, err)
	}
	if _, ok := handles.remove(kindSession, handle(h)); !ok {
		return C.MLE_ERR_BAD_HANDLE // another thread freed it first
	}
	cs.c.release()
	return C.MLE_OK
}

// lookup resolves a tensor's position: by name if given, else its index.
func lookup(name *C.char, i int, index map[string]int, what string) (int, error) {
	if name == nil {
		return i, nil
	}
	j, ok := index[goStringView(name)]
	if !ok {
		return 0, errs.New(errs.InvalidName, "the model has no %s named %q", what, C.GoString(name))
	}
	return j, nil
}

//export mlego_session_run
func mlego_session_run(h C.uintptr_t, inputs *C.mle_tensor, nIn C.size_t, outputs *C.mle_tensor, nOut C.size_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return sessionRun(h, inputs, nIn, outputs, nOut, nil, cerr)
}

//export mlego_session_run_opts
func mlego_session_run_opts(h C.uintptr_t, inputs *C.mle_tensor, nIn C.size_t, outputs *C.mle_tensor, nOut C.size_t, opts *C.mle_run_options, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return sessionRun(h, inputs, nIn, outputs, nOut, opts, cerr)
}

// runOptions converts C run options (nil: none).
func runOptions(o *C.mle_run_options) (engine.RunOptions, error) {
	var ro engine.RunOptions
	if o == nil {
		return ro, nil
	}
	known := C.size_t(unsafe.Sizeof(C.mle_run_options{}))
	if err := checkStructSize(unsafe.Pointer(o), o.struct_size, known, "mle_run_options", "mle_default_run_options"); err != nil {
		return ro, err
	}
	if o.timeout_us < 0 {
		return ro, errs.New(errs.InvalidOptions, "mle_run_options.timeout_us is %d; it must be >= 0 (0: no limit)", o.timeout_us)
	}
	if o.timeout_us > 0 {
		ro.Timeout = time.Duration(min(int64(o.timeout_us), int64(time.Duration(1<<62)/time.Microsecond))) * time.Microsecond
	}
	if o.cancel != nil {
		ro.Cancel = (*atomic.Int32)(unsafe.Pointer(o.cancel))
	}
	return ro, nil
}

func sessionRun(h C.uintptr_t, inputs *C.mle_tensor, nIn C.size_t, outputs *C.mle_tensor, nOut C.size_t, copts *C.mle_run_options, cerr **C.mle_error) C.mle_status {
	begin(cerr)
	o, ok := handles.get(kindSession, handle(h))
	if !ok {
		return badHandle(cerr, "session")
	}
	cs := o.(*csession)
	if !cs.busy.CompareAndSwap(false, true) {
		return failf(cerr, errs.Busy, "session is in use by another thread; use one session per thread")
	}
	defer cs.busy.Store(false)
	return cs.call.run(cs.c, cs.s, inputs, nIn, outputs, nOut, copts, cerr)
}

//export mlego_model_set_options
func mlego_model_set_options(h C.uintptr_t, o *C.mle_model_options, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	begin(cerr)
	c, ok := getModel(h)
	if !ok {
		return badHandle(cerr, "model")
	}
	if o == nil {
		return failf(cerr, errs.InvalidNull, "mle_model_set_options: opts must not be NULL")
	}
	known := C.size_t(unsafe.Sizeof(C.mle_model_options{}))
	if err := checkStructSize(unsafe.Pointer(o), o.struct_size, known, "mle_model_options", "mle_default_model_options"); err != nil {
		return fail(cerr, err)
	}
	if err := c.m.SetServeOptions(engine.ServeOptions{MaxSessions: int(o.max_sessions), SpinMicros: int(o.spin_us)}); err != nil {
		return fail(cerr, err)
	}
	return C.MLE_OK
}

//export mlego_model_run
func mlego_model_run(h C.uintptr_t, inputs *C.mle_tensor, nIn C.size_t, outputs *C.mle_tensor, nOut C.size_t, copts *C.mle_run_options, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	begin(cerr)
	c, ok := getModel(h)
	if !ok || !c.acquire() { // the names must outlive the run
		return badHandle(cerr, "model")
	}
	defer c.release()
	cc, _ := c.calls.Get().(*ccall)
	if cc == nil {
		cc = newCCall(c)
	}
	defer c.calls.Put(cc)
	return cc.run(c, nil, inputs, nIn, outputs, nOut, copts, cerr)
}

// run converts the C tensors and runs them on s, or on the model's session
// pool when s is nil.
func (cs *ccall) run(c *cmodel, s *engine.Session, inputs *C.mle_tensor, nIn C.size_t, outputs *C.mle_tensor, nOut C.size_t, copts *C.mle_run_options, cerr **C.mle_error) C.mle_status {
	opts, err := runOptions(copts)
	if err != nil {
		return fail(cerr, err)
	}
	if int(nIn) != len(cs.ins) || nOut == 0 || int(nOut) > len(cs.outs) {
		return failf(cerr, errs.InvalidValue, "the model takes %d inputs and gives 1 to %d outputs; %d and %d given", len(cs.ins), len(cs.outs), nIn, nOut)
	}
	if (nIn > 0 && inputs == nil) || (nOut > 0 && outputs == nil) {
		return failf(cerr, errs.InvalidNull, "mle_session_run: inputs and outputs must not be NULL")
	}
	defer func() {
		for j := range cs.ins {
			cs.ins[j].Data = nil // never keep the caller's memory
		}
	}()
	cin := unsafe.Slice(inputs, int(nIn))
	cout := unsafe.Slice(outputs, int(nOut))
	clear(cs.seen)
	for i := range cin {
		t := &cin[i]
		j, err := lookup(t.name, i, c.inIndex, "input")
		if err != nil {
			return fail(cerr, err)
		}
		name := c.m.Inputs()[j].Name
		if cs.seen[j] {
			return failf(cerr, errs.InvalidValue, "input %q is given twice", name)
		}
		cs.seen[j] = true
		if t.rank < 0 || t.rank > C.MLE_MAX_RANK {
			return failf(cerr, errs.Shape, "input %q: rank %d is outside 0..%d", name, t.rank, C.MLE_MAX_RANK)
		}
		if t.dtype < 0 || t.dtype > 255 || !dtype.DType(t.dtype).Valid() {
			return failf(cerr, errs.DType, "input %q: unknown dtype id %d", name, t.dtype)
		}
		et := &cs.ins[j]
		et.DType, et.Rank = dtype.DType(t.dtype), int(t.rank)
		for d := 0; d < et.Rank; d++ {
			et.Dims[d] = int64(t.shape[d])
		}
		if et.Data, err = cBytes(t.data, t.nbytes, "input", name); err != nil {
			return fail(cerr, err)
		}
	}
	clear(cs.seen)
	n := len(cout)
	outs, which := cs.outs[:n], cs.outMap[:n] // by C position: output i is graph output which[i]
	for i := range cout {
		t := &cout[i]
		j, err := lookup(t.name, i, c.outIndex, "output")
		if err != nil {
			return fail(cerr, err)
		}
		name := c.m.Outputs()[j].Name
		if cs.seen[j] {
			return failf(cerr, errs.InvalidValue, "output %q is requested twice", name)
		}
		cs.seen[j] = true
		which[i] = j
		cs.mallocd[i] = false
		outs[i].Data = nil
		if t.data != nil {
			if outs[i].Data, err = cBytes(t.data, t.nbytes, "output", name); err != nil {
				return fail(cerr, err)
			}
			if outs[i].Data == nil {
				outs[i].Data = []byte{} // a caller's empty buffer, not a request to allocate
			}
		}
	}
	if s != nil {
		err = s.RunAlloc(cs.ins, outs, which, opts, cs.alloc)
	} else {
		err = c.m.Run(cs.ins, outs, which, opts, cs.alloc)
	}
	code := errs.CodeOf(err)
	for i := range cout {
		t, et := &cout[i], &outs[i]
		t.name = c.outNames[which[i]]
		if err != nil && cs.mallocd[i] {
			// The caller gets nothing to free from a failed run.
			C.free(unsafe.Pointer(unsafe.SliceData(et.Data)))
			t.data, t.nbytes = nil, 0
			if code != errs.BufferTooSmall {
				et.Data = nil
				continue
			}
		}
		if err != nil && code != errs.BufferTooSmall {
			et.Data = nil
			continue
		}
		t.dtype, t.rank = C.mle_dtype(et.DType), C.int32_t(et.Rank)
		for d := range t.shape {
			t.shape[d] = 0
		}
		for d := 0; d < et.Rank; d++ {
			t.shape[d] = C.int64_t(et.Dims[d])
		}
		need, _ := dtype.ByteSize(et.DType, et.Shape())
		if et.DType.IsString() {
			need = max(et.NBytes, 0) // packed; unknown (0) when the run stopped before computing it
		}
		t.nbytes = C.size_t(need)
		if cs.mallocd[i] && err == nil {
			t.data = unsafe.Pointer(unsafe.SliceData(et.Data))
		}
		et.Data = nil
	}
	if err != nil {
		return fail(cerr, err)
	}
	return C.MLE_OK
}

// --------------------------------------------------------------- builder

// cbuilder is what a builder handle names.
type cbuilder struct {
	b    *format.Builder
	busy atomic.Bool
}

func withBuilder(h C.uintptr_t, cerr **C.mle_error, fn func(b *format.Builder) error) C.mle_status {
	begin(cerr)
	o, ok := handles.get(kindBuilder, handle(h))
	if !ok {
		return badHandle(cerr, "builder")
	}
	cb := o.(*cbuilder)
	if !cb.busy.CompareAndSwap(false, true) {
		return failf(cerr, errs.Busy, "builder is in use by another thread")
	}
	defer cb.busy.Store(false)
	if err := callerMemory(func() error { return fn(cb.b) }); err != nil {
		return fail(cerr, err)
	}
	return C.MLE_OK
}

// callerMemory runs fn, which reads a caller's buffers: a fault there (a
// buffer shorter than its length says) is the caller's error, not a crash.
func callerMemory(fn func() error) error {
	return fault.Guard(fn, func(addr uintptr) error {
		return errs.New(errs.InvalidBuffer, "reading a caller's buffer faulted at %#x: it holds fewer bytes than its length says", addr)
	})
}

//export mlego_builder_new
func mlego_builder_new(out *C.uintptr_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	begin(cerr)
	if out == nil {
		return failf(cerr, errs.InvalidNull, "mle_builder_new: builder must not be NULL")
	}
	hb, err := handles.put(kindBuilder, &cbuilder{b: format.NewBuilder()})
	if err != nil {
		return fail(cerr, err)
	}
	*out = C.uintptr_t(hb)
	return C.MLE_OK
}

//export mlego_builder_free
func mlego_builder_free(h C.uintptr_t) (st C.mle_status) {
	defer recoverStatus(&st, nil)
	o, ok := handles.get(kindBuilder, handle(h))
	if !ok {
		return C.MLE_ERR_BAD_HANDLE
	}
	if !o.(*cbuilder).busy.CompareAndSwap(false, true) {
		return C.MLE_ERR_BUSY
	}
	if _, ok := handles.remove(kindBuilder, handle(h)); !ok {
		return C.MLE_ERR_BAD_HANDLE
	}
	return C.MLE_OK
}

func needString(s *C.char, what string) (string, error) {
	if s == nil {
		return "", errs.New(errs.InvalidNull, "%s must not be NULL", what)
	}
	return C.GoString(s), nil
}

func shapeOf(shape *C.int64_t, rank C.int32_t) ([]int64, error) {
	if rank < 0 || rank > C.MLE_MAX_RANK {
		return nil, errs.New(errs.InvalidValue, "rank %d is outside 0..%d", rank, C.MLE_MAX_RANK)
	}
	if rank > 0 && shape == nil {
		return nil, errs.New(errs.InvalidNull, "shape must not be NULL when rank > 0")
	}
	out := make([]int64, int(rank))
	for i, d := range unsafe.Slice(shape, int(rank)) {
		out[i] = int64(d)
	}
	return out, nil
}

func dtypeOf(d C.mle_dtype) (dtype.DType, error) {
	if d < 0 || d > 255 || !dtype.DType(d).Valid() {
		return 0, errs.New(errs.InvalidValue, "unknown dtype %d", d)
	}
	return dtype.DType(d), nil
}

//export mlego_builder_set_metadata_json
func mlego_builder_set_metadata_json(h C.uintptr_t, js *C.char, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return withBuilder(h, cerr, func(b *format.Builder) error {
		s, err := needString(js, "json")
		if err != nil {
			return err
		}
		return b.SetMetadataJSON([]byte(s))
	})
}

//export mlego_builder_add_input
func mlego_builder_add_input(h C.uintptr_t, name *C.char, dt C.mle_dtype, shape *C.int64_t, rank C.int32_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return withBuilder(h, cerr, func(b *format.Builder) error {
		n, err := needString(name, "name")
		if err != nil {
			return err
		}
		d, err := dtypeOf(dt)
		if err != nil {
			return err
		}
		s, err := shapeOf(shape, rank)
		if err != nil {
			return err
		}
		return b.AddInput(n, d, s)
	})
}

//export mlego_builder_add_output
func mlego_builder_add_output(h C.uintptr_t, name *C.char, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return withBuilder(h, cerr, func(b *format.Builder) error {
		n, err := needString(name, "name")
		if err != nil {
			return err
		}
		return b.AddOutput(n)
	})
}

//export mlego_builder_add_tensor
func mlego_builder_add_tensor(h C.uintptr_t, name *C.char, dt C.mle_dtype, shape *C.int64_t, rank C.int32_t, data unsafe.Pointer, n C.size_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return withBuilder(h, cerr, func(b *format.Builder) error {
		nm, err := needString(name, "name")
		if err != nil {
			return err
		}
		d, err := dtypeOf(dt)
		if err != nil {
			return err
		}
		s, err := shapeOf(shape, rank)
		if err != nil {
			return err
		}
		bytes, err := cBytes(data, n, "tensor", nm)
		if err != nil {
			return err
		}
		return b.AddTensor(nm, d, s, bytes) // copies
	})
}

func cStrings(p **C.char, n C.size_t) []string {
	out := make([]string, int(n))
	for i, s := range unsafe.Slice(p, int(n)) {
		if s != nil {
			out[i] = C.GoString(s)
		}
	}
	return out
}

//export mlego_builder_add_node
func mlego_builder_add_node(h C.uintptr_t, op, name *C.char, inputs **C.char, nIn C.size_t, outputs **C.char, nOut C.size_t, index *C.size_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return withBuilder(h, cerr, func(b *format.Builder) error {
		o, err := needString(op, "op")
		if err != nil {
			return err
		}
		if (nIn > 0 && inputs == nil) || (nOut > 0 && outputs == nil) {
			return errs.New(errs.InvalidNull, "node %s: inputs/outputs array is NULL", o)
		}
		if nIn > 1<<16 || nOut > 1<<16 {
			return errs.New(errs.InvalidValue, "node %s: too many inputs or outputs", o)
		}
		n := graph.Node{Op: o, Inputs: cStrings(inputs, nIn), Outputs: cStrings(outputs, nOut)}
		if name != nil {
			n.Name = C.GoString(name)
		}
		i := b.AddNode(n)
		if index != nil {
			*index = C.size_t(i)
		}
		return nil
	})
}

func setAttr(h C.uintptr_t, node C.size_t, name *C.char, cerr **C.mle_error, a graph.Attr) C.mle_status {
	return withBuilder(h, cerr, func(b *format.Builder) error {
		n, err := needString(name, "attribute name")
		if err != nil {
			return err
		}
		a.Name = n
		if node > 1<<40 {
			return errs.New(errs.InvalidValue, "no node %d", node)
		}
		return b.SetAttr(int(node), a)
	})
}

//export mlego_builder_set_attr_int
func mlego_builder_set_attr_int(h C.uintptr_t, node C.size_t, name *C.char, v C.int64_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return setAttr(h, node, name, cerr, graph.Attr{Type: graph.AttrInt, Int: int64(v)})
}

//export mlego_builder_set_attr_float
func mlego_builder_set_attr_float(h C.uintptr_t, node C.size_t, name *C.char, v C.double, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return setAttr(h, node, name, cerr, graph.Attr{Type: graph.AttrFloat, Float: float64(v)})
}

//export mlego_builder_set_attr_string
func mlego_builder_set_attr_string(h C.uintptr_t, node C.size_t, name *C.char, v *C.char, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	if v == nil {
		return failf(cerr, errs.InvalidNull, "attribute value must not be NULL")
	}
	return setAttr(h, node, name, cerr, graph.Attr{Type: graph.AttrString, String: C.GoString(v)})
}

//export mlego_builder_set_attr_ints
func mlego_builder_set_attr_ints(h C.uintptr_t, node C.size_t, name *C.char, v *C.int64_t, n C.size_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	if v == nil && n > 0 {
		return failf(cerr, errs.InvalidNull, "attribute values must not be NULL")
	}
	vals := make([]int64, int(n))
	for i, x := range unsafe.Slice(v, int(n)) {
		vals[i] = int64(x)
	}
	return setAttr(h, node, name, cerr, graph.Attr{Type: graph.AttrInts, Ints: vals})
}

//export mlego_builder_set_attr_floats
func mlego_builder_set_attr_floats(h C.uintptr_t, node C.size_t, name *C.char, v *C.double, n C.size_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	if v == nil && n > 0 {
		return failf(cerr, errs.InvalidNull, "attribute values must not be NULL")
	}
	vals := make([]float64, int(n))
	for i, x := range unsafe.Slice(v, int(n)) {
		vals[i] = float64(x)
	}
	return setAttr(h, node, name, cerr, graph.Attr{Type: graph.AttrFloats, Floats: vals})
}

//export mlego_builder_save
func mlego_builder_save(h C.uintptr_t, path *C.char, written *C.uint64_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return withBuilder(h, cerr, func(b *format.Builder) error {
		p, err := needString(path, "path")
		if err != nil {
			return err
		}
		n, err := b.Save(p)
		if err != nil {
			return err
		}
		if written != nil {
			*written = C.uint64_t(n)
		}
		return nil
	})
}

//export mlego_builder_save_flags
func mlego_builder_save_flags(h C.uintptr_t, path *C.char, flags C.uint32_t, written *C.uint64_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return withBuilder(h, cerr, func(b *format.Builder) error {
		p, err := needString(path, "path")
		if err != nil {
			return err
		}
		if unknown := flags &^ C.MLE_SAVE_NO_SYNC; unknown != 0 {
			return errs.New(errs.InvalidValue, "mle_builder_save_flags: unknown flag bits 0x%x", uint32(unknown))
		}
		n, err := b.SaveWith(p, format.SaveOptions{NoSync: flags&C.MLE_SAVE_NO_SYNC != 0})
		if err != nil {
			return err
		}
		if written != nil {
			*written = C.uint64_t(n)
		}
		return nil
	})
}

//export mlego_builder_serialize
func mlego_builder_serialize(h C.uintptr_t, data *unsafe.Pointer, n *C.size_t, cerr **C.mle_error) (st C.mle_status) {
	defer recoverStatus(&st, cerr)
	return withBuilder(h, cerr, func(b *format.Builder) error {
		if data == nil || n == nil {
			return errs.New(errs.InvalidNull, "mle_builder_serialize: data and len must not be NULL")
		}
		bs, err := b.Bytes()
		if err != nil {
			return err
		}
		p := C.malloc(C.size_t(max(len(bs), 1)))
		copy(unsafe.Slice((*byte)(p), len(bs)), bs)
		*data, *n = p, C.size_t(len(bs))
		return nil
	})
}
