//go:build amd64 && !purego

#include "textflag.h"

// BINROW(OP) is the body of func(o, a, b *float32, n int): o[i] = a[i] OP
// b[i] for i < n, 64 per iteration, a masked tail. a is the first operand,
// as in Go's scalar code, so which NaN a NaN OP NaN gives follows it.
#define BINROW(OP) \
	MOVQ o+0(FP), DI \
	MOVQ a+8(FP), SI \
	MOVQ b+16(FP), DX \
	MOVQ n+24(FP), CX \
loop64: \
	CMPQ CX, $64 \
	JLT  loop16 \
	VMOVUPS (SI), Z0 \
	VMOVUPS 64(SI), Z1 \
	VMOVUPS 128(SI), Z2 \
	VMOVUPS 192(SI), Z3 \
	OP (DX), Z0, Z0 \
	OP 64(DX), Z1, Z1 \
	OP 128(DX), Z2, Z2 \
	OP 192(DX), Z3, Z3 \
	VMOVUPS Z0, (DI) \
	VMOVUPS Z1, 64(DI) \
	VMOVUPS Z2, 128(DI) \
	VMOVUPS Z3, 192(DI) \
	ADDQ $256, SI \
	ADDQ $256, DI \
	ADDQ $256, DX \
	SUBQ $64, CX \
	JMP  loop64 \
loop16: \
	CMPQ CX, $16 \
	JLT  tail \
	VMOVUPS (SI), Z0 \
	OP (DX), Z0, Z0 \
	VMOVUPS Z0, (DI) \
	ADDQ $64, SI \
	ADDQ $64, DI \
	ADDQ $64, DX \
	SUBQ $16, CX \
	JMP  loop16 \
tail: \
	TESTQ CX, CX \
	JEQ   done \
	MOVQ  $1, AX \
	SHLQ  CX, AX \
	DECQ  AX \
	KMOVW AX, K1 \
	VMOVUPS.Z (SI), K1, Z0 \
	VMOVUPS.Z (DX), K1, Z1 \
	OP Z1, Z0, Z0 \
	VMOVUPS Z0, K1, (DI) \
done: \
	VZEROUPPER \
	RET

// BINSCALAR(OP) is the body of func(o, a *float32, n int, y float32):
// o[i] = a[i] OP y, as BINROW with b[i] = y.
#define BINSCALAR(OP) \
	MOVQ o+0(FP), DI \
	MOVQ a+8(FP), SI \
	MOVQ n+16(FP), CX \
	VBROADCASTSS y+24(FP), Z7 \
loop64: \
	CMPQ CX, $64 \
	JLT  loop16 \
	VMOVUPS (SI), Z0 \
	VMOVUPS 64(SI), Z1 \
	VMOVUPS 128(SI), Z2 \
	VMOVUPS 192(SI), Z3 \
	OP Z7, Z0, Z0 \
	OP Z7, Z1, Z1 \
	OP Z7, Z2, Z2 \
	OP Z7, Z3, Z3 \
	VMOVUPS Z0, (DI) \
	VMOVUPS Z1, 64(DI) \
	VMOVUPS Z2, 128(DI) \
	VMOVUPS Z3, 192(DI) \
	ADDQ $256, SI \
	ADDQ $256, DI \
	SUBQ $64, CX \
	JMP  loop64 \
loop16: \
	CMPQ CX, $16 \
	JLT  tail \
	VMOVUPS (SI), Z0 \
	OP Z7, Z0, Z0 \
	VMOVUPS Z0, (DI) \
	ADDQ $64, SI \
	ADDQ $64, DI \
	SUBQ $16, CX \
	JMP  loop16 \
tail: \
	TESTQ CX, CX \
	JEQ   done \
	MOVQ  $1, AX \
	SHLQ  CX, AX \
	DECQ  AX \
	KMOVW AX, K1 \
	VMOVUPS.Z (SI), K1, Z0 \
	OP Z7, Z0, Z0 \
	VMOVUPS Z0, K1, (DI) \
done: \
	VZEROUPPER \
	RET

// BINROWS(INSN, S1, S2) is the body of func(o, a, s *float32, rows,
// inner int): row r of o (inner elements) is INSN S1, S2 over row r of a
// and s[r] broadcast (Z0 holds a's vector, Z7 the scalar; the order of S1
// and S2 picks whose NaN a NaN op NaN gives), 16 lanes at a time and a
// masked tail, so that a short row costs no call.
#define BINROWS(INSN, S1, S2) \
	MOVQ o+0(FP), DI \
	MOVQ a+8(FP), SI \
	MOVQ s+16(FP), DX \
	MOVQ rows+24(FP), R8 \
	MOVQ inner+32(FP), R9 \
	MOVQ R9, CX \
	ANDQ $15, CX \
	MOVQ $1, AX \
	SHLQ CX, AX \
	DECQ AX \
	KMOVW AX, K1 \
row: \
	TESTQ R8, R8 \
	JEQ   done \
	VBROADCASTSS (DX), Z7 \
	MOVQ R9, CX \
loop16: \
	CMPQ CX, $16 \
	JLT  tail \
	VMOVUPS (SI), Z0 \
	INSN S1, S2, Z0 \
	VMOVUPS Z0, (DI) \
	ADDQ $64, SI \
	ADDQ $64, DI \
	SUBQ $16, CX \
	JMP  loop16 \
tail: \
	TESTQ CX, CX \
	JEQ   next \
	VMOVUPS.Z (SI), K1, Z0 \
	INSN S1, S2, Z0 \
	VMOVUPS Z0, K1, (DI) \
	LEAQ (SI)(CX*4), SI \
	LEAQ (DI)(CX*4), DI \
next: \
	ADDQ $4, DX \
	DECQ R8 \
	JMP  row \
done: \
	VZEROUPPER \
	RET

// o = a·s and a + s by rows; the XS forms take a's NaN first, the SX forms
// s's (Go operand order: the second source is x86's first).
TEXT ·mulRowsXSF32AVX512(SB), NOSPLIT, $0-40
	BINROWS(VMULPS, Z7, Z0)

TEXT ·mulRowsSXF32AVX512(SB), NOSPLIT, $0-40
	BINROWS(VMULPS, Z0, Z7)

TEXT ·addRowsXSF32AVX512(SB), NOSPLIT, $0-40
	BINROWS(VADDPS, Z7, Z0)

TEXT ·addRowsSXF32AVX512(SB), NOSPLIT, $0-40
	BINROWS(VADDPS, Z0, Z7)

// func axpy32AVX512(y, x *float32, n int, a float32)
// y[i] += a·x[i] for i < n, 64 elements per iteration, a masked tail.
TEXT ·axpy32AVX512(SB), NOSPLIT, $0-28
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS a+24(FP), Z0

loop64:
	CMPQ CX, $64
	JLT  loop16
	VMOVUPS (SI), Z1
	VMOVUPS 64(SI), Z2
	VMOVUPS 128(SI), Z3
	VMOVUPS 192(SI), Z4
	VFMADD213PS (DI), Z0, Z1
	VFMADD213PS 64(DI), Z0, Z2
	VFMADD213PS 128(DI), Z0, Z3
	VFMADD213PS 192(DI), Z0, Z4
	VMOVUPS Z1, (DI)
	VMOVUPS Z2, 64(DI)
	VMOVUPS Z3, 128(DI)
	VMOVUPS Z4, 192(DI)
	ADDQ $256, SI
	ADDQ $256, DI
	SUBQ $64, CX
	JMP  loop64

loop16:
	CMPQ CX, $16
	JLT  tail
	VMOVUPS (SI), Z1
	VFMADD213PS (DI), Z0, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  loop16

tail:
	TESTQ CX, CX
	JEQ   done
	MOVQ  $1, AX
	SHLQ  CX, AX
	DECQ  AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z1
	VMOVUPS.Z (DI), K1, Z2
	VFMADD231PS Z1, Z0, Z2
	VMOVUPS Z2, K1, (DI)

done:
	VZEROUPPER
	RET

// func max32AVX512(x *float32, n int) float32
// The largest of x[:n] (n >= 1), -Inf for none; NaN elements never win.
// VMAXPS returns its second source when either is NaN, and that is the
// accumulator here.
TEXT ·max32AVX512(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL $0xff800000, AX
	VPBROADCASTD AX, Z0
	VMOVAPS Z0, Z1

mloop32:
	CMPQ CX, $32
	JLT  mloop16
	VMOVUPS (SI), Z2
	VMOVUPS 64(SI), Z3
	VMAXPS  Z0, Z2, Z0
	VMAXPS  Z1, Z3, Z1
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  mloop32

mloop16:
	CMPQ CX, $16
	JLT  mtail
	VMOVUPS (SI), Z2
	VMAXPS  Z0, Z2, Z0
	ADDQ $64, SI
	SUBQ $16, CX
	JMP  mloop16

mtail:
	TESTQ CX, CX
	JEQ   mreduce
	MOVQ  $1, AX
	SHLQ  CX, AX
	DECQ  AX
	KMOVW AX, K1
	VMOVAPS Z0, Z2
	VMOVUPS (SI), K1, Z2
	VMAXPS  Z0, Z2, Z0

mreduce:
	VMAXPS        Z1, Z0, Z0
	VEXTRACTF32X8 $1, Z0, Y1
	VMAXPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0x4e, X0, X1
	VMAXPS        X1, X0, X0
	VPERMILPS     $0xb1, X0, X1
	VMAXPS        X1, X0, X0
	VMOVSS        X0, ret+16(FP)
	VZEROUPPER
	RET

// func hardSwish32AVX512(out, x *float32, n int)
// out[i] = x·min(max(x+3, 0), 6)/6 for i < n, as torch computes it in
// float32 (a division, not a product with 1/6). VMAXPS and VMINPS return
// their second source when either is NaN, and that is x+3 (then the
// clamped value), so NaN propagates as with Go's min and max.
TEXT ·hardSwish32AVX512(SB), NOSPLIT, $0-24
	MOVQ out+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL $0x40400000, AX // 3
	VPBROADCASTD AX, Z0
	MOVL $0x40C00000, AX // 6
	VPBROADCASTD AX, Z1
	VPXORD Z2, Z2, Z2

hsloop:
	CMPQ CX, $16
	JLT  hstail
	VMOVUPS (SI), Z3
	VADDPS Z0, Z3, Z4
	VMAXPS Z4, Z2, Z4
	VMINPS Z4, Z1, Z4
	VMULPS Z4, Z3, Z4
	VDIVPS Z1, Z4, Z4
	VMOVUPS Z4, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  hsloop

hstail:
	TESTQ CX, CX
	JEQ   hsdone
	MOVQ  $1, AX
	SHLQ  CX, AX
	DECQ  AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z3
	VADDPS Z0, Z3, Z4
	VMAXPS Z4, Z2, Z4
	VMINPS Z4, Z1, Z4
	VMULPS Z4, Z3, Z4
	VDIVPS Z1, Z4, Z4
	VMOVUPS Z4, K1, (DI)

hsdone:
	VZEROUPPER
	RET

DATA evenIdx<>+0(SB)/4, $0
DATA evenIdx<>+4(SB)/4, $2
DATA evenIdx<>+8(SB)/4, $4
DATA evenIdx<>+12(SB)/4, $6
DATA evenIdx<>+16(SB)/4, $8
DATA evenIdx<>+20(SB)/4, $10
DATA evenIdx<>+24(SB)/4, $12
DATA evenIdx<>+28(SB)/4, $14
DATA evenIdx<>+32(SB)/4, $16
DATA evenIdx<>+36(SB)/4, $18
DATA evenIdx<>+40(SB)/4, $20
DATA evenIdx<>+44(SB)/4, $22
DATA evenIdx<>+48(SB)/4, $24
DATA evenIdx<>+52(SB)/4, $26
DATA evenIdx<>+56(SB)/4, $28
DATA evenIdx<>+60(SB)/4, $30
GLOBL evenIdx<>(SB), RODATA|NOPTR, $64

// func stride2Gather32AVX512(dst, src *float32, n int)
// dst[c] = src[2c] for c < n (n >= 1), reading src[:2n-1] only: 32
// elements at a time, the even ones picked with VPERMT2PS; the tail with
// masked loads and stores.
TEXT ·stride2Gather32AVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VMOVDQU32 evenIdx<>(SB), Z0

s2loop:
	CMPQ CX, $16
	JLE  s2tail
	VMOVUPS (SI), Z1
	VPERMT2PS 64(SI), Z0, Z1
	VMOVUPS Z1, (DI)
	ADDQ $128, SI
	ADDQ $64, DI
	SUBQ $16, CX
	JMP  s2loop

s2tail:
	// 1 <= n <= 16: the 2n-1 elements src[0:2n-1], 16 in the first
	// vector at most.
	LEAQ -1(CX)(CX*1), BX
	MOVQ BX, DX
	CMPQ DX, $16
	JLE  s2k1
	MOVQ $16, DX

s2k1:
	MOVQ  $1, R8
	SHLXQ DX, R8, AX // BMI2, present wherever AVX-512 is
	DECQ  AX
	KMOVW AX, K1
	SUBQ  DX, BX
	SHLXQ BX, R8, AX
	DECQ  AX
	KMOVW AX, K2
	MOVQ  $1, AX
	SHLQ  CX, AX
	DECQ  AX
	KMOVW AX, K3
	VMOVUPS.Z (SI), K1, Z1
	VMOVUPS.Z 64(SI), K2, Z2
	VPERMT2PS Z2, Z0, Z1
	VMOVUPS Z1, K3, (DI)
	VZEROUPPER
	RET

// func maxTaps32AVX512(out *float32, ldo int, x *float32, ldx int, offs *int32, taps, rows, n int)
// out[r·ldo+i] = the max over t < taps (>= 1), in order, of
// x[r·ldx+offs[t]+i], for r < rows and i < n (n >= 1), in max pooling's
// order: a tap replaces the running max when it is larger or NaN (the first
// of equal values stays, NaN wins), as maxAccRows32AVX512 over each tap
// after a copy of the first, in one pass. The tail mask is computed once.
TEXT ·maxTaps32AVX512(SB), NOSPLIT, $0-64
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), R10
	SHLQ $2, R10
	MOVQ x+16(FP), SI
	MOVQ ldx+24(FP), R11
	SHLQ $2, R11
	MOVQ offs+32(FP), R12
	MOVQ taps+40(FP), R13
	MOVQ rows+48(FP), R8
	MOVQ n+56(FP), R9
	MOVQ R9, CX
	ANDQ $15, CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1 // the last n mod 16 elements of a row

mtrow:
	MOVQ DI, DX
	MOVQ SI, BX
	MOVQ R9, CX

mtloop:
	CMPQ CX, $16
	JLT  mttail
	MOVLQSX (R12), AX
	VMOVUPS (BX)(AX*4), Z3
	MOVQ    $1, R14

mttap:
	CMPQ R14, R13
	JGE  mtstore
	MOVLQSX (R12)(R14*4), AX
	VMOVUPS (BX)(AX*4), Z1
	VMAXPS  Z3, Z1, Z3     // the running max on ties and NaN
	VCMPPS  $3, Z1, Z1, K2 // unordered: the tap is NaN
	VMOVAPS Z1, K2, Z3
	INCQ    R14
	JMP     mttap

mtstore:
	VMOVUPS Z3, (DX)
	ADDQ $64, BX
	ADDQ $64, DX
	SUBQ $16, CX
	JMP  mtloop

mttail:
	TESTQ CX, CX
	JEQ   mtnext
	MOVLQSX   (R12), AX
	VMOVUPS.Z (BX)(AX*4), K1, Z3
	MOVQ      $1, R14

mttailtap:
	CMPQ R14, R13
	JGE  mttailstore
	MOVLQSX   (R12)(R14*4), AX
	VMOVUPS.Z (BX)(AX*4), K1, Z1
	VMAXPS    Z3, Z1, Z3
	VCMPPS    $3, Z1, Z1, K2
	VMOVAPS   Z1, K2, Z3
	INCQ      R14
	JMP       mttailtap

mttailstore:
	VMOVUPS Z3, K1, (DX)

mtnext:
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R8
	JNZ  mtrow
	VZEROUPPER
	RET

// func stride2GatherRows32AVX512(dst *float32, ldd int, src *float32, lds int, rows, n int)
// dst[r·ldd + c] = src[r·lds + 2c] for r < rows and c < n (n >= 1),
// reading src[r·lds : r·lds+2n-1] only: stride2Gather32AVX512 over rows,
// the tail masks computed once.
TEXT ·stride2GatherRows32AVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), R10
	SHLQ $2, R10
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), R11
	SHLQ $2, R11
	MOVQ rows+32(FP), R9
	MOVQ n+40(FP), R12
	VMOVDQU32 evenIdx<>(SB), Z0
	// The tail: t = n - 16·floor((n-1)/16) in 1..16 outputs, from 2t-1
	// source elements.
	LEAQ -1(R12), AX
	ANDQ $15, AX
	INCQ AX
	MOVQ AX, R13 // t
	LEAQ -1(AX)(AX*1), BX
	MOVQ BX, DX
	CMPQ DX, $16
	JLE  r2k1
	MOVQ $16, DX

r2k1:
	MOVQ  $1, R8
	SHLXQ DX, R8, AX
	DECQ  AX
	KMOVW AX, K1
	SUBQ  DX, BX
	SHLXQ BX, R8, AX
	DECQ  AX
	KMOVW AX, K2
	SHLXQ R13, R8, AX
	DECQ  AX
	KMOVW AX, K3

r2row:
	TESTQ R9, R9
	JEQ   r2done
	MOVQ  DI, R14
	MOVQ  SI, R15
	MOVQ  R12, CX

r2loop:
	CMPQ CX, $16
	JLE  r2tail
	VMOVUPS (R15), Z1
	VPERMT2PS 64(R15), Z0, Z1
	VMOVUPS Z1, (R14)
	ADDQ $128, R15
	ADDQ $64, R14
	SUBQ $16, CX
	JMP  r2loop

r2tail:
	VMOVUPS.Z (R15), K1, Z1
	VMOVUPS.Z 64(R15), K2, Z2
	VPERMT2PS Z2, Z0, Z1
	VMOVUPS Z1, K3, (R14)
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ R9
	JMP  r2row

r2done:
	VZEROUPPER
	RET

// func addF32AVX512(o, a, b *float32, n int)
TEXT ·addF32AVX512(SB), NOSPLIT, $0-32
	BINROW(VADDPS)

// func mulF32AVX512(o, a, b *float32, n int)
TEXT ·mulF32AVX512(SB), NOSPLIT, $0-32
	BINROW(VMULPS)

// func addScalarF32AVX512(o, a *float32, n int, y float32)
TEXT ·addScalarF32AVX512(SB), NOSPLIT, $0-28
	BINSCALAR(VADDPS)

// func mulScalarF32AVX512(o, a *float32, n int, y float32)
TEXT ·mulScalarF32AVX512(SB), NOSPLIT, $0-28
	BINSCALAR(VMULPS)
