package format

import (
	"encoding/binary"
	"math"

	"github.com/mle-runtime/mle/core/errs"
)

// cursor reads little-endian values from a byte slice, checking every read
// against the bytes that remain. The first failure sticks: later reads return
// zero values and err reports where decoding stopped.
type cursor struct {
	b    []byte
	off  int
	what string    // the section being decoded, for messages
	code errs.Code // the code a short read reports
	err  error
}

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = errs.New(c.code, c.what+": "+format, args...)
	}
}

func (c *cursor) take(n int) []byte {
	if c.err != nil {
		return nil
	}
	if n < 0 || n > len(c.b)-c.off {
		c.fail("needs %d bytes at offset %d, but only %d remain", n, c.off, len(c.b)-c.off)
		return nil
	}
	s := c.b[c.off : c.off+n]
	c.off += n
	return s
}

func (c *cursor) u8() uint8 {
	if s := c.take(1); s != nil {
		return s[0]
	}
	return 0
}

func (c *cursor) u16() uint16 {
	if s := c.take(2); s != nil {
		return binary.LittleEndian.Uint16(s)
	}
	return 0
}

func (c *cursor) u32() uint32 {
	if s := c.take(4); s != nil {
		return binary.LittleEndian.Uint32(s)
	}
	return 0
}

func (c *cursor) u64() uint64 {
	if s := c.take(8); s != nil {
		return binary.LittleEndian.Uint64(s)
	}
	return 0
}

func (c *cursor) i64() int64   { return int64(c.u64()) }
func (c *cursor) f64() float64 { return math.Float64frombits(c.u64()) }

// count reads a u32 element count and checks that count elements of at
// least minSize bytes each can still fit, before anyone allocates for them.
func (c *cursor) count(what string, minSize int) int {
	n := c.u32()
	if c.err != nil {
		return 0
	}
	if uint64(n)*uint64(minSize) > uint64(len(c.b)-c.off) {
		c.fail("%s count %d at offset %d needs at least %d bytes, but only %d remain", what, n, c.off-4, uint64(n)*uint64(minSize), len(c.b)-c.off)
		return 0
	}
	return int(n)
}

// writer appends little-endian values.
type writer struct{ b []byte }

func (w *writer) u8(v uint8)    { w.b = append(w.b, v) }
func (w *writer) u16(v uint16)  { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *writer) u32(v uint32)  { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *writer) u64(v uint64)  { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *writer) i64(v int64)   { w.u64(uint64(v)) }
func (w *writer) f64(v float64) { w.u64(math.Float64bits(v)) }
