// Command vmath generates kernels/vmath's AVX2+FMA and AVX-512 kernels:
//
//	cd kernels/asmgen/vmath && go run . -out ../../vmath/vmath_amd64.s -stubs ../../vmath/vmath_stub_amd64.go -pkg vmath
//
// The constants and polynomial tables come from kernels/vmath/consts.go
// and coeffs.go, parsed here, so the assembly and the pure-Go kernels share
// one set of values; the algorithms are written out in kernels.go, one
// vector operation per operation of the Go kernels in scalar.go.
package main

import (
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"regexp"
	"strings"

	. "github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

var (
	posInf = math.Inf(1)
	negInf = math.Inf(-1)
)

var constDir = flag.String("consts", "../../vmath", "directory of kernels/vmath (consts.go, coeffs.go)")

// block is the element count every kernel's loop iteration divides:
// vmath's dispatch hands the assembly multiples of it.
const block = 16

// unroll is the number of vectors a loop iteration interleaves: two, and
// one for AVX2 kernels that would need more than the 16 registers VEX can
// encode (avo's allocator knows 32, so checkRegisters guards this).
func unroll(a *isa, kernel string) int {
	if !a.avx512 {
		switch kernel {
		case "erf", "geluErf", "tanh", "geluTanh", "sigmoid", "expSub":
			return 1
		}
	}
	return 2
}

// kernel names a function and its vector body for each element type.
type kernel struct {
	name     string
	f64, f32 func(a *isa, x vec) vec
}

var kernels = []kernel{
	{"exp", (*isa).exp64, (*isa).expF32},
	{"log", (*isa).log64, (*isa).logF32},
	{"tanh", (*isa).tanh64, nil}, // float32: tanh32, in float32
	{"erf", (*isa).erf64, (*isa).erfF32},
	{"sigmoid", (*isa).sigmoid64, nil}, // float32: sigmoid32, in float32
	{"geluErf", (*isa).geluErf64, nil}, // float32: geluErf32, in float32
	{"geluTanh", (*isa).geluTanh64, (*isa).geluTanhF32},
}

func main() {
	flag.Parse()
	consts, err := parseConsts(*constDir, "consts.go", "coeffs.go")
	if err != nil {
		log.Fatal(err)
	}
	ConstraintExpr("!purego")
	p := &pool{consts: consts, slots: map[string]int{}}
	for _, a := range []*isa{
		{name: "AVX2", lanes: 4, pool: p},
		{name: "AVX512", lanes: 8, avx512: true, pool: p},
	} {
		for _, k := range kernels {
			a.u = unroll(a, k.name)
			a.loop(k.name+"F64"+a.name, false, k.f64)
			if k.f32 != nil {
				a.loop(k.name+"F32"+a.name, true, k.f32)
			}
		}
		a.geluErf32("geluErfF32" + a.name)
		a.sigmoid32("sigmoidF32" + a.name)
		a.tanh32("tanhF32" + a.name)
		a.u = unroll(a, "expSub")
		a.expSub("expSubF64"+a.name, false)
		a.expSub("expSubF32"+a.name, true)
		a.relu("reluF64"+a.name, false)
		a.relu("reluF32"+a.name, true)
		for _, f32 := range []bool{false, true} {
			t := "F64"
			if f32 {
				t = "F32"
			}
			a.laneSum("sum"+t+a.name, f32, false)
			a.laneSum("sumSqDev"+t+a.name, f32, true)
			a.affine("affine"+t+a.name, f32, false)
			a.affine("affineBias"+t+a.name, f32, true)
		}
	}
	p.emit()
	Generate()
	if err := checkRegisters(flag.Lookup("out").Value.String()); err != nil {
		log.Fatal(err)
	}
}

// checkRegisters fails if an AVX2 kernel in the generated file uses a
// vector register above 15: VEX cannot encode them, and the assembler would
// silently pick EVEX encodings that need AVX-512.
func checkRegisters(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	high := regexp.MustCompile(`\b[XYZ](1[6-9]|2[0-9]|3[01])\b`)
	fn := ""
	for _, line := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(line, "TEXT ") {
			fn = line
		}
		if strings.Contains(fn, "AVX2(") && high.MatchString(line) {
			return fmt.Errorf("%s: AVX2 kernel uses %q; unroll it less", path, strings.TrimSpace(line))
		}
	}
	return nil
}

// loop emits func name(dst, src *T, n int), which applies body to n
// elements, n a multiple of the block (lanes × u). float32 elements are
// widened to float64 on load and rounded once on store.
func (a *isa) loop(name string, f32 bool, body func(*isa, vec) vec) {
	typ := "float64"
	if f32 {
		typ = "float32"
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src *%s, n int)", typ))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes n (a multiple of %d) elements with %s; see vmath's %s kernels.", name, block, a.name, typ))
	a.body(name, f32, 1, func(x vec, _ int) vec { return body(a, x) })
	VZEROUPPER()
	RET()
}

// expSub emits func name(dst, src *T, n int, c float64, acc *[8]float64):
// dst[i] = e^(src[i] − c) for n (a multiple of the block) elements, and
// acc[i%8] += that value in float64 (before a float32 store rounds it), in
// order of i: the sum vmath's ExpSub defines, whatever the vector width.
func (a *isa) expSub(name string, f32 bool) {
	typ := "float64"
	if f32 {
		typ = "float32"
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src *%s, n int, c float64, acc *[8]float64)", typ))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes dst = e^(src − c) and per-lane sums of n (a multiple of %d) elements with %s.", name, block, a.name))
	c := a.newReg()
	cm, err := Param("c").Resolve()
	if err != nil {
		panic(err)
	}
	VBROADCASTSD(cm.Addr, c)
	accp := Load(Param("acc"), GP64())
	// 8 lanes of sums: one zmm, or two ymm (elements 0-3 and 4-7 of each 8).
	accs := make([]reg.VecVirtual, 8/a.lanes)
	for j := range accs {
		accs[j] = a.newReg()
		VMOVUPD(operand.Mem{Base: accp, Disp: 32 * j}, accs[j])
	}
	// Vector j of an iteration holds elements j·lanes … of the 8-lane
	// cycle: with 4 lanes, groups of vectors alternate between the sums.
	groups := len(accs) / a.u
	if groups < 1 {
		groups = 1
	}
	a.body(name, f32, groups, func(x vec, g int) vec {
		cs := make(vec, a.u)
		for i := range cs {
			cs[i] = c
		}
		var e vec
		if f32 {
			e = a.expF32(a.sub(x, cs))
		} else {
			e = a.exp64(a.sub(x, cs))
		}
		for i := range e {
			acc := accs[(g*a.u+i)%len(accs)]
			VADDPD(e[i], acc, acc)
		}
		return e
	})
	for j := range accs {
		VMOVUPD(accs[j], operand.Mem{Base: accp, Disp: 32 * j})
	}
	VZEROUPPER()
	RET()
}

// body emits the loop over n elements: per iteration, groups rounds of u
// interleaved vectors, one after the other.
func (a *isa) body(name string, f32 bool, groups int, f func(x vec, g int) vec) {
	size := 8
	if f32 {
		size = 4
	}
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	Label(name + "_loop")
	CMPQ(n, operand.Imm(uint64(groups*a.u*a.lanes))) // never past n, whatever n is
	JL(operand.LabelRef(name + "_done"))
	for g := 0; g < groups; g++ {
		base := g * a.u * a.lanes * size
		x := a.newVec()
		for i := range x {
			in := operand.Mem{Base: src, Disp: base + i*a.lanes*size}
			if f32 {
				VCVTPS2PD(in, x[i])
			} else {
				VMOVUPD(in, x[i])
			}
		}
		y := f(x, g)
		for i := range y {
			out := operand.Mem{Base: dst, Disp: base + i*a.lanes*size}
			if f32 {
				var h reg.VecVirtual
				if a.avx512 {
					h = YMM()
					VCVTPD2PS(y[i], h)
				} else {
					h = XMM()
					VCVTPD2PSY(y[i], h)
				}
				VMOVUPS(h, out)
			} else {
				VMOVUPD(y[i], out)
			}
		}
	}
	step := operand.Imm(uint64(groups * a.u * a.lanes * size))
	ADDQ(step, src)
	ADDQ(step, dst)
	SUBQ(operand.Imm(uint64(groups*a.u*a.lanes)), n)
	JMP(operand.LabelRef(name + "_loop"))
	Label(name + "_done")
}

// relu emits func name(dst, src *T, n int): dst[i] = max(src[i], 0) as Go's
// max computes it (NaN stays NaN, −0 becomes +0) for n a multiple of the
// block, in the element type's native width (no widening: the result is
// exact). MAXPS returns its second source when either is NaN or both are
// zero, so max(0, x) keeps a NaN x and gives −0 for −0; adding +0 then
// turns −0 into +0 and leaves every other value as it is.
func (a *isa) relu(name string, f32 bool) {
	typ, size := "float64", 8
	if f32 {
		typ, size = "float32", 4
	}
	TEXT(name, NOSPLIT, fmt.Sprintf("func(dst, src *%s, n int)", typ))
	Pragma("noescape")
	Doc(fmt.Sprintf("%s computes n (a multiple of %d) elements of ReLU with %s; see vmath's Relu kernels.", name, block, a.name))
	vecBytes := 32
	if a.avx512 {
		vecBytes = 64
	}
	perBlock := block * size / vecBytes // vectors per block of 16 elements
	vmax, vadd := VMAXPD, VADDPD
	if f32 {
		vmax, vadd = VMAXPS, VADDPS
	}
	zero := a.newReg()
	if a.avx512 {
		VPXORD(zero, zero, zero)
	} else {
		VXORPD(zero, zero, zero)
	}
	dst := Load(Param("dst"), GP64())
	src := Load(Param("src"), GP64())
	n := Load(Param("n"), GP64())
	// Four vectors an iteration while they last, then one block at a time.
	iters := []int{1}
	if big := max(4/perBlock, 1); big > 1 {
		iters = []int{big, 1}
	}
	for _, blocks := range iters {
		loop, done := fmt.Sprintf("%s_loop%d", name, blocks), fmt.Sprintf("%s_done%d", name, blocks)
		Label(loop)
		CMPQ(n, operand.Imm(uint64(blocks*block)))
		JL(operand.LabelRef(done))
		x := make([]reg.VecVirtual, blocks*perBlock)
		for i := range x {
			x[i] = a.newReg()
			vmax(operand.Mem{Base: src, Disp: i * vecBytes}, zero, x[i])
		}
		for i := range x {
			vadd(zero, x[i], x[i])
			VMOVUPD(x[i], operand.Mem{Base: dst, Disp: i * vecBytes})
		}
		step := operand.U32(uint32(blocks * block * size))
		ADDQ(step, src)
		ADDQ(step, dst)
		SUBQ(operand.Imm(uint64(blocks*block)), n)
		JMP(operand.LabelRef(loop))
		Label(done)
	}
	VZEROUPPER()
	RET()
}
