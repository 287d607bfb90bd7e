package main

import (
	"fmt"
	"math"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// pool lays out the constants the kernels use in one read-only symbol:
// each scalar as 8 copies (a full AVX2 or AVX-512 memory operand), each
// table row of 16 float64 contiguously (two zmm, four ymm).
type pool struct {
	consts *goConsts
	slots  map[string]int
	words  []uint64
}

const poolSym = "vmathconst"

func (p *pool) mem(off int) operand.Mem {
	return operand.NewDataAddr(operand.Symbol{Name: poolSym, Static: true}, off)
}

func (p *pool) slot(key string, words []uint64) operand.Mem {
	if off, ok := p.slots[key]; ok {
		return p.mem(off)
	}
	off := len(p.words) * 8
	p.slots[key] = off
	p.words = append(p.words, words...)
	return p.mem(off)
}

func splat(v uint64) []uint64 {
	w := make([]uint64, 8)
	for i := range w {
		w[i] = v
	}
	return w
}

// c is the named scalar constant of kernels/vmath.
func (p *pool) c(name string) operand.Mem {
	v, ok := p.consts.scalars[name]
	if !ok {
		panic("no constant " + name)
	}
	return p.slot(name, splat(v.bits))
}

// f is a float64 literal of the generator itself (1, 2, 0.5, ±Inf …).
func (p *pool) f(v float64) operand.Mem {
	return p.slot(fmt.Sprintf("f:%x", math.Float64bits(v)), splat(math.Float64bits(v)))
}

// u64 is an integer pattern of the generator itself.
func (p *pool) u64(v uint64) operand.Mem { return p.slot(fmt.Sprintf("u:%x", v), splat(v)) }

// elem is element i of a one-dimensional table, broadcast.
func (p *pool) elem(name string, i int) operand.Mem {
	a, ok := p.consts.arrays[name]
	if !ok || i >= len(a) {
		panic(fmt.Sprintf("no element %s[%d]", name, i))
	}
	return p.slot(fmt.Sprintf("%s[%d]", name, i), splat(math.Float64bits(a[i])))
}

// rowValues is a [16]float64 table (row < 0) or row of a [n][16]float64
// one.
func (p *pool) rowValues(name string, row int) []float64 {
	var vals []float64
	if row < 0 {
		vals = p.consts.arrays[name]
	} else if t, ok := p.consts.tables[name]; ok && row < len(t) {
		vals = t[row]
	}
	if len(vals) != 16 {
		panic(fmt.Sprintf("no 16-entry row %s[%d]", name, row))
	}
	return vals
}

// row16 is a 16-entry row (rowValues) as float64.
func (p *pool) row16(name string, row int) operand.Mem {
	vals := p.rowValues(name, row)
	w := make([]uint64, 16)
	for i, v := range vals {
		w[i] = math.Float64bits(v)
	}
	return p.slot(fmt.Sprintf("%s#%d", name, row), w)
}

func (p *pool) emit() {
	GLOBL(poolSym, RODATA|NOPTR)
	for i, w := range p.words {
		DATA(8*i, operand.U64(w))
	}
}

// vec is a value of the kernels: u registers (ymm or zmm) of float64 or
// 64-bit integer lanes, for the u vectors a loop iteration interleaves.
// Every operation below emits its instruction for all u before the next
// operation, so independent work sits side by side in the instruction
// stream: the kernels' dependency chains are long (100+ cycles), and
// without this the out-of-order window holds too few of them to keep the
// vector units busy.
type vec []reg.VecVirtual

// mask is a per-lane condition: all-ones/zero vectors on AVX2, opmask
// registers on AVX-512.
type mask struct {
	v vec
	k []reg.OpmaskVirtual
}

// isa emits the kernels' operations for AVX2+FMA (4 lanes) or AVX-512F
// (8 lanes), u vectors at a time. Every method returns new virtual
// registers and leaves its inputs alone, so the kernels read as the Go code
// they mirror; operands written as "x, y" compute x OP y. An operand is a
// vec or a memory constant (the same for every vector).
type isa struct {
	name   string
	lanes  int
	avx512 bool
	u      int
	*pool
}

func (a *isa) newReg() reg.VecVirtual {
	if a.avx512 {
		return ZMM()
	}
	return YMM()
}

func (a *isa) newVec() vec {
	v := make(vec, a.u)
	for i := range v {
		v[i] = a.newReg()
	}
	return v
}

// at is operand o for vector i.
func at(o operand.Op, i int) operand.Op {
	if v, ok := o.(vec); ok {
		return v[i]
	}
	return o
}

// Asm makes vec an operand.Op, so that methods take vecs and constants
// alike; vec itself is never handed to avo.
func (v vec) Asm() string { panic("vec used as an avo operand") }

// reg returns op in registers, loading a memory operand once.
func (a *isa) reg(op operand.Op) vec {
	if v, ok := op.(vec); ok {
		return v
	}
	r := a.newReg()
	VMOVUPD(op, r)
	v := make(vec, a.u)
	for i := range v {
		v[i] = r
	}
	return v
}

// copyOf returns fresh registers holding op (for destructive forms).
func (a *isa) copyOf(op operand.Op) vec {
	d := a.newVec()
	for i := range d {
		if v, ok := op.(vec); ok {
			VMOVAPD(v[i], d[i])
		} else {
			VMOVUPD(op, d[i])
		}
	}
	return d
}

// bin emits a three-operand instruction d = x OP y (Intel order d, x, y;
// avo and Go take y, x, d). y may be memory; x must be a register.
func (a *isa) bin(f func(y, x, d operand.Op), x, y operand.Op) vec {
	d := a.newVec()
	xr := a.reg(x)
	for i := range d {
		f(at(y, i), xr[i], d[i])
	}
	return d
}

// v3 adapts avo's variadic instruction builders to bin.
func v3(f func(...operand.Op)) func(y, x, d operand.Op) {
	return func(y, x, d operand.Op) { f(y, x, d) }
}

// comm orders the operands of a commutative operation so that a memory
// operand goes where the encoding allows it (only NaN payloads could tell).
func comm(x, y operand.Op) (operand.Op, operand.Op) {
	if _, ok := x.(vec); !ok {
		return y, x
	}
	return x, y
}

func (a *isa) add(x, y operand.Op) vec { x, y = comm(x, y); return a.bin(v3(VADDPD), x, y) }
func (a *isa) sub(x, y operand.Op) vec { return a.bin(v3(VSUBPD), x, y) }
func (a *isa) mul(x, y operand.Op) vec { x, y = comm(x, y); return a.bin(v3(VMULPD), x, y) }

func (a *isa) div(x, y operand.Op) vec  { return a.bin(v3(VDIVPD), x, y) }
func (a *isa) addq(x, y operand.Op) vec { return a.bin(v3(VPADDQ), x, y) }

func (a *isa) xor(x, y operand.Op) vec {
	if a.avx512 {
		return a.bin(v3(VPXORQ), x, y)
	}
	return a.bin(VPXOR, x, y)
}

func (a *isa) and(x, y operand.Op) vec {
	if a.avx512 {
		return a.bin(v3(VPANDQ), x, y)
	}
	return a.bin(VPAND, x, y)
}

func (a *isa) or(x, y operand.Op) vec {
	if a.avx512 {
		return a.bin(v3(VPORQ), x, y)
	}
	return a.bin(VPOR, x, y)
}

func (a *isa) shl(x vec, n int) vec {
	return a.bin(func(y, x, d operand.Op) { VPSLLQ(y, x, d) }, x, operand.Imm(uint64(n)))
}

func (a *isa) shr(x vec, n int) vec {
	return a.bin(func(y, x, d operand.Op) { VPSRLQ(y, x, d) }, x, operand.Imm(uint64(n)))
}

// fma is x·y + z rounded once (math.FMA(x, y, z)).
func (a *isa) fma(x vec, y, z operand.Op) vec {
	d := a.copyOf(x)
	a.fmaInto(d, y, z)
	return d
}

// fmaInto sets d = d·y + z.
func (a *isa) fmaInto(d vec, y, z operand.Op) {
	if yv, ok := y.(vec); ok {
		for i := range d {
			VFMADD213PD(at(z, i), yv[i], d[i]) // d = y·d + z
		}
		return
	}
	zr := a.reg(z)
	for i := range d {
		VFMADD132PD(y, zr[i], d[i]) // d = d·y + z
	}
}

// fnma is −(x·y) + z rounded once (math.FMA(−x, y, z)).
func (a *isa) fnma(x vec, y, z operand.Op) vec {
	d := a.copyOf(x)
	if yv, ok := y.(vec); ok {
		for i := range d {
			VFNMADD213PD(at(z, i), yv[i], d[i])
		}
		return d
	}
	zr := a.reg(z)
	for i := range d {
		VFNMADD132PD(y, zr[i], d[i])
	}
	return d
}

func (a *isa) round(x vec, mode uint64) vec {
	return a.bin(func(y, x, d operand.Op) {
		if a.avx512 {
			VRNDSCALEPD(y, x, d)
		} else {
			VROUNDPD(y, x, d)
		}
	}, x, operand.Imm(8|mode)) // 8: no precision exception
}

func (a *isa) floor(x vec) vec { return a.round(x, 1) }

// atLeast is Go's `if x < lo { x = lo }`: MAXPD returns its second source
// (x) when either is NaN, so NaN passes.
func (a *isa) atLeast(x vec, lo operand.Mem) vec {
	l := a.reg(lo)
	d := a.newVec()
	for i := range d {
		VMAXPD(x[i], l[i], d[i])
	}
	return d
}

// atMost is Go's `if x > hi { x = hi }`, NaN passing.
func (a *isa) atMost(x vec, hi operand.Mem) vec {
	h := a.reg(hi)
	d := a.newVec()
	for i := range d {
		VMINPD(x[i], h[i], d[i])
	}
	return d
}

// Comparison predicates (the ordered ones are false for NaN).
const (
	cmpEQ    = 0x00 // EQ_OQ
	cmpUNORD = 0x03 // UNORD_Q: either is NaN
	cmpLT    = 0x11 // LT_OQ
	cmpGE    = 0x1d // GE_OQ
)

func (a *isa) cmp(pred uint64, x vec, y operand.Op) mask {
	if a.avx512 {
		m := mask{k: make([]reg.OpmaskVirtual, a.u)}
		for i := range x {
			m.k[i] = K()
			VCMPPD(operand.Imm(pred), at(y, i), x[i], m.k[i])
		}
		return m
	}
	d := a.newVec()
	for i := range x {
		VCMPPD(operand.Imm(pred), at(y, i), x[i], d[i])
	}
	return mask{v: d}
}

// blend is m ? t : f.
func (a *isa) blend(m mask, t, f operand.Op) vec {
	d := a.newVec()
	fr := a.reg(f)
	for i := range d {
		if a.avx512 {
			VBLENDMPD(at(t, i), fr[i], m.k[i], d[i])
		} else {
			VBLENDVPD(m.v[i], at(t, i), fr[i], d[i])
		}
	}
	return d
}

func (a *isa) abs(x vec) vec    { return a.and(x, a.u64(0x7fffffffffffffff)) }
func (a *isa) negAbs(x vec) vec { return a.or(x, a.c("signBit")) }

// copySign gives mag (>= +0 or NaN) the sign of s: math.Copysign for
// non-negative magnitudes.
func (a *isa) copySign(mag, s vec) vec { return a.or(mag, a.and(s, a.c("signBit"))) }

// pow2 is 2^k for integral k in [−1022, 1023] (vmath.pow2).
func (a *isa) pow2(k vec) vec { return a.shl(a.add(k, a.c("pow2Shift")), 52) }

// horner evaluates Σ t[i]·x^i for the one-dimensional table t.
func (a *isa) horner(t string, x vec) vec {
	n := len(a.consts.arrays[t])
	y := a.copyOf(a.elem(t, n-1))
	for i := n - 2; i >= 0; i-- {
		a.fmaInto(y, x, a.elem(t, i))
	}
	return y
}

// lookup16 selects, per lane, entries of 16-entry table rows by an index
// whose low 4 bits are the entry. On AVX-512 one VPERMT2PD per row; on
// AVX2 four VPERMPS (4 entries each) and three blends on bits 2 and 3.
type lookup16 struct {
	a      *isa
	idx    vec // AVX-512: the index; AVX2: dword pairs (2j, 2j+1), j = i&3
	m2, m3 vec // AVX2: bit 2 and bit 3 of the index in the sign bit
	isZero mask
}

func (a *isa) newLookup(idx vec) *lookup16 {
	l := &lookup16{a: a}
	if a.avx512 {
		l.idx = idx
		l.isZero = mask{k: make([]reg.OpmaskVirtual, a.u)}
		for i := range idx {
			l.isZero.k[i] = K()
			VPTESTNMQ(a.u64(15), idx[i], l.isZero.k[i]) // (idx & 15) == 0
		}
		return l
	}
	i := a.and(idx, a.u64(15))
	j2 := a.and(i, a.u64(3))
	j2 = a.addq(j2, j2)
	hi := a.shl(a.addq(j2, a.u64(1)), 32)
	l.idx = a.or(j2, hi)
	l.m2 = a.shl(i, 61)
	l.m3 = a.shl(i, 60)
	z := a.newVec()
	for k := range z {
		VPCMPEQQ(a.u64(0), i[k], z[k])
	}
	l.isZero = mask{v: z}
	return l
}

func (l *lookup16) get(row operand.Mem) vec {
	a := l.a
	if a.avx512 {
		d := a.copyOf(row)
		for i := range d {
			VPERMT2PD(row.Offset(64), l.idx[i], d[i])
		}
		return d
	}
	var t [4]vec
	for k := range t {
		t[k] = a.newVec()
		for i := range t[k] {
			VPERMPS(row.Offset(32*k), l.idx[i], t[k][i])
		}
	}
	lo := a.blendv(l.m2, t[1], t[0])
	hi := a.blendv(l.m2, t[3], t[2])
	return a.blendv(l.m3, hi, lo)
}

// blendv is AVX2's sign-bit blend: m<0 ? t : f.
func (a *isa) blendv(m, t, f vec) vec {
	d := a.newVec()
	for i := range d {
		VBLENDVPD(m[i], t[i], f[i], d[i])
	}
	return d
}
