//go:build amd64 && !purego

#include "textflag.h"

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
