package seal

import (
	"crypto/cipher"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/par"
)

// The AEAD from crypto/cipher.NewGCM holds only the expanded key once made;
// Seal and Open do not change it, so one value serves every goroutine.

// Seal encrypts plain (len == p.PlainLen) under key into a new slice of
// p.SealedLen() bytes. Chunks are sealed in parallel, on at most GOMAXPROCS
// goroutines.
func Seal(key []byte, p *Params, bind [32]byte, plain []byte) ([]byte, error) {
	g, err := open(key, p)
	if err != nil {
		return nil, err
	}
	if uint64(len(plain)) != p.PlainLen {
		return nil, errs.New(errs.InvalidValue, "the plaintext is %d bytes; the parameters say %d", len(plain), p.PlainLen)
	}
	if p.SealedLen() > math.MaxInt {
		return nil, errs.New(errs.InvalidValue, "the sealed data would be %d bytes, more than this platform can address", p.SealedLen())
	}
	out := make([]byte, p.SealedLen())
	c := int(p.ChunkSize)
	n := int(p.Chunks())
	err = par.For(n, func(i int) error {
		lo, hi := i*c, min(len(plain), (i+1)*c)
		at := i * (c + TagSize)
		nc, ad := nonce(uint64(i), i == n-1), adata(&bind, uint64(i))
		// Capacity capped at the chunk's slot: Seal writes in place.
		g.Seal(out[at:at:at+hi-lo+TagSize], nc[:], plain[lo:hi], ad[:])
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// chunkState records one chunk's decryption. err is written before done
// is set, so a reader that sees done may read err without the lock.
type chunkState struct {
	done atomic.Bool
	mu   sync.Mutex
	err  error
}

// Opener decrypts a SEALED section into dst chunk by chunk, on demand.
// Each chunk is decrypted at most once; a chunk that fails keeps failing
// with the same error. It is safe for concurrent use.
type Opener struct {
	g      cipher.AEAD
	p      Params
	bind   [32]byte
	sealed []byte // never written: it may be a read-only mapping
	dst    []byte
	chunks []chunkState
}

// NewOpener checks key against p (errs.KeyInvalid, errs.KeyWrong) and the
// sealed section's length (errs.FormatEncryption) and returns an Opener
// that will decrypt into dst, which must hold p.PlainLen bytes and must
// not overlap sealed. Nothing is decrypted yet.
func NewOpener(key []byte, p *Params, bind [32]byte, sealed []byte, dst []byte) (*Opener, error) {
	g, err := open(key, p)
	if err != nil {
		return nil, err
	}
	if want := p.SealedLen(); uint64(len(sealed)) != want {
		return nil, errs.New(errs.FormatEncryption, "the SEALED section is %d bytes; %d plaintext bytes in %d chunks of %d need %d: it was truncated or extended",
			len(sealed), p.PlainLen, p.Chunks(), p.ChunkSize, want)
	}
	if uint64(len(dst)) != p.PlainLen {
		return nil, errs.New(errs.InvalidValue, "the destination is %d bytes; the plaintext is %d", len(dst), p.PlainLen)
	}
	if overlap(sealed, dst) {
		return nil, errs.New(errs.InvalidValue, "the destination overlaps the sealed data")
	}
	return &Opener{g: g, p: *p, bind: bind, sealed: sealed, dst: dst, chunks: make([]chunkState, p.Chunks())}, nil
}

// Ensure decrypts every chunk that overlaps [lo, hi) and was not decrypted
// yet, in parallel when there are several. It returns the error of the
// lowest failing chunk (errs.Decrypt naming it); other chunks are still
// decrypted. An empty range touches no chunk.
func (o *Opener) Ensure(lo, hi uint64) error {
	if lo > hi || hi > o.p.PlainLen {
		return errs.New(errs.InvalidValue, "range [%d, %d) is not inside the %d-byte plaintext", lo, hi, o.p.PlainLen)
	}
	if lo == hi {
		return nil
	}
	c := uint64(o.p.ChunkSize)
	return o.ensureChunks(int(lo/c), int((hi-1)/c)+1)
}

// All decrypts the whole plaintext. Unlike Ensure(0, 0) it also
// authenticates the one empty chunk of an empty plaintext.
func (o *Opener) All() error {
	return o.ensureChunks(0, len(o.chunks))
}

// ensureChunks decrypts chunks [first, end).
func (o *Opener) ensureChunks(first, end int) error {
	var todo []int
	for i := first; i < end; i++ {
		if !o.chunks[i].done.Load() {
			todo = append(todo, i)
		}
	}
	// Every chunk is tried, failing or not: errors are collected below.
	err := par.For(len(todo), func(k int) error {
		o.chunk(todo[k])
		return nil
	})
	if err != nil {
		return err
	}
	// Report the lowest failing chunk, including failures from earlier calls.
	for i := first; i < end; i++ {
		if err := o.chunk(i); err != nil {
			return err
		}
	}
	return nil
}

// chunk decrypts chunk i once and returns its (sticky) result. Only chunk
// i's own lock is held while decrypting, so goroutines that need other
// chunks never wait for it.
func (o *Opener) chunk(i int) error {
	s := &o.chunks[i]
	if s.done.Load() {
		return s.err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.done.Load() {
		s.err = o.decrypt(i)
		s.done.Store(true)
	}
	return s.err
}

func (o *Opener) decrypt(i int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errs.New(errs.Internal, "decrypting chunk %d: panic: %v", i, r)
		}
	}()
	c, n := int(o.p.ChunkSize), len(o.chunks)
	lo, hi := i*c, min(len(o.dst), (i+1)*c)
	at := i * (c + TagSize)
	ct := o.sealed[at : at+hi-lo+TagSize]
	nc, ad := nonce(uint64(i), i == n-1), adata(&o.bind, uint64(i))
	// Capacity capped at the chunk: Open writes in place, never past it.
	// On failure GCM zeroes what it wrote, so no unauthenticated bytes stay.
	if _, err := o.g.Open(o.dst[lo:lo:hi], nc[:], ct, ad[:]); err != nil {
		return errs.New(errs.Decrypt, "chunk %d of %d (plaintext bytes %d..%d, sealed bytes %d..%d) fails authentication: the file was tampered with, truncated or reordered, or its metadata changed",
			i, n, lo, hi, at, at+len(ct))
	}
	return nil
}

// overlap reports whether a and b share memory.
func overlap(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	pa, pb := uintptr(unsafe.Pointer(unsafe.SliceData(a))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return pa < pb+uintptr(len(b)) && pb < pa+uintptr(len(a))
}
