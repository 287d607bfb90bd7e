//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA kernels of the GEMM direct path (few rows of op(A)); see
// gemv_amd64.go for the contract. All share one frame:
//   m+0 k+8 a+16 lda+24 b+32 ldb+40 c+48 ldc+56 n+64
//
// N kernels (B row-major): each output column is one FMA chain over p in
// order, so a column's value does not depend on the block or pass that
// computed it. They keep m×W accumulators (8 or more, to cover the FMA
// latency) and loop over p inside, in passes of GEMVKB rows of B: a pass
// runs over every block of the n columns, storing the partial sums in c
// and reloading them in the next pass (exactly: the chain just goes on).
// Walking all k rows for one block would touch one new page per row, which
// the hardware prefetchers do not follow; eight rows at a time read as
// eight sequential streams, 1.5-3× faster once B is out of L2.
//
// T kernels (B stored n×k): each output is a dot product over k kept in the
// lanes of one YMM accumulator (lane = p mod lanes, masked last step), then
// summed by the same hadd tree in every kernel, so again an output does
// not depend on which kernel or group computed it.
//
// Rows of A past m-1 repeat row m-1 (GEMVROWS) so that 3-row products can
// use the 4-row kernels; C is the caller's 4-row scratch, so every kernel
// may write all the rows it computes.

// GEMVKB is the depth of the N kernels' passes over B. 4 to 10 measured
// the same; 16 and more lose the streams' prefetch (1.5-2× slower).
#define GEMVKB 8

// gemvMask<>+32-4·r (r in 0..8) is a YMM mask whose first r 32-bit lanes are set.
DATA gemvMask<>+0(SB)/8, $0xffffffffffffffff
DATA gemvMask<>+8(SB)/8, $0xffffffffffffffff
DATA gemvMask<>+16(SB)/8, $0xffffffffffffffff
DATA gemvMask<>+24(SB)/8, $0xffffffffffffffff
DATA gemvMask<>+32(SB)/8, $0
DATA gemvMask<>+40(SB)/8, $0
DATA gemvMask<>+48(SB)/8, $0
DATA gemvMask<>+56(SB)/8, $0
GLOBL gemvMask<>(SB), RODATA|NOPTR, $64

// GEMVMASK loads into Y the mask of the first r 32-bit lanes; r is clobbered.
#define GEMVMASK(r, tmp, Y) \
	SHLQ $2, r; \
	LEAQ gemvMask<>+32(SB), tmp; \
	SUBQ r, tmp; \
	VMOVDQU (tmp), Y

// GEMVROWS sets R14, AX, R9 to the byte offsets of A rows 1, 2, 3 from row
// 0 (R14 holds lda in bytes on entry), repeating the last row when m < 4.
// Clobbers R11, R13.
#define GEMVROWS \
	LEAQ (R14)(R14*1), AX; \
	LEAQ (R14)(R14*2), R9; \
	XORQ R13, R13; \
	MOVQ m+0(FP), R11; \
	CMPQ R11, $4; \
	CMOVQLT AX, R9; \
	CMPQ R11, $3; \
	CMOVQLT R14, AX; \
	CMOVQLT R14, R9; \
	CMPQ R11, $2; \
	CMOVQLT R13, R14; \
	CMOVQLT R13, AX; \
	CMOVQLT R13, R9

#define ZERO8 \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7

#define ZERO12 \
	ZERO8; \
	VXORPS Y8, Y8, Y8; \
	VXORPS Y9, Y9, Y9; \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11

// ---------------------------------------------------------------- float32

// sgemvN1: m = 1, n blocks of 64 columns (eight accumulators). B comes in
// as FMA memory operands: one load per FMA, which is all the L2 gives anyway.
TEXT ·sgemvN1(SB), NOSPLIT, $0-72
	MOVQ ldb+40(FP), BX
	SHLQ $2, BX
	XORQ SI, SI

sn1pass:
	// CX = depth of this pass, SI = rows of B done before it.
	MOVQ k+8(FP), CX
	SUBQ SI, CX
	CMPQ CX, $GEMVKB
	JLE  sn1depth
	MOVQ $GEMVKB, CX
sn1depth:
	MOVQ  SI, DI
	IMULQ BX, DI
	ADDQ  b+32(FP), DI
	MOVQ  c+48(FP), DX
	MOVQ  n+64(FP), R8

sn1blk:
	TESTQ SI, SI
	JNZ   sn1load
	ZERO8
	JMP   sn1go

sn1load:
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS 64(DX), Y2
	VMOVUPS 96(DX), Y3
	VMOVUPS 128(DX), Y4
	VMOVUPS 160(DX), Y5
	VMOVUPS 192(DX), Y6
	VMOVUPS 224(DX), Y7

sn1go:
	MOVQ a+16(FP), R12
	LEAQ (R12)(SI*4), R12
	MOVQ DI, R13
	MOVQ CX, R11

sn1loop:
	VBROADCASTSS (R12), Y8
	VFMADD231PS (R13), Y8, Y0
	VFMADD231PS 32(R13), Y8, Y1
	VFMADD231PS 64(R13), Y8, Y2
	VFMADD231PS 96(R13), Y8, Y3
	VFMADD231PS 128(R13), Y8, Y4
	VFMADD231PS 160(R13), Y8, Y5
	VFMADD231PS 192(R13), Y8, Y6
	VFMADD231PS 224(R13), Y8, Y7
	ADDQ $4, R12
	ADDQ BX, R13
	DECQ R11
	JNZ  sn1loop

	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	VMOVUPS Y4, 128(DX)
	VMOVUPS Y5, 160(DX)
	VMOVUPS Y6, 192(DX)
	VMOVUPS Y7, 224(DX)
	ADDQ $256, DI
	ADDQ $256, DX
	DECQ R8
	JNZ  sn1blk
	ADDQ CX, SI
	CMPQ SI, k+8(FP)
	JLT  sn1pass
	VZEROUPPER
	RET

// sgemvN2: m = 2, n blocks of 32 columns; each B vector feeds both rows.
TEXT ·sgemvN2(SB), NOSPLIT, $0-72
	MOVQ lda+24(FP), R14
	SHLQ $2, R14
	MOVQ ldb+40(FP), BX
	SHLQ $2, BX
	MOVQ ldc+56(FP), R10
	SHLQ $2, R10
	XORQ SI, SI

sn2pass:
	// CX = depth of this pass, SI = rows of B done before it.
	MOVQ k+8(FP), CX
	SUBQ SI, CX
	CMPQ CX, $GEMVKB
	JLE  sn2depth
	MOVQ $GEMVKB, CX
sn2depth:
	MOVQ  SI, DI
	IMULQ BX, DI
	ADDQ  b+32(FP), DI
	MOVQ  c+48(FP), DX
	MOVQ  n+64(FP), R8

sn2blk:
	TESTQ SI, SI
	JNZ   sn2load
	ZERO8
	JMP   sn2go

sn2load:
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS 64(DX), Y2
	VMOVUPS 96(DX), Y3
	VMOVUPS (DX)(R10*1), Y4
	VMOVUPS 32(DX)(R10*1), Y5
	VMOVUPS 64(DX)(R10*1), Y6
	VMOVUPS 96(DX)(R10*1), Y7

sn2go:
	MOVQ a+16(FP), R12
	LEAQ (R12)(SI*4), R12
	MOVQ DI, R13
	MOVQ CX, R11

sn2loop:
	VBROADCASTSS (R12), Y8
	VBROADCASTSS (R12)(R14*1), Y9
	VMOVUPS (R13), Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y4
	VMOVUPS 32(R13), Y11
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y11, Y9, Y5
	VMOVUPS 64(R13), Y10
	VFMADD231PS Y10, Y8, Y2
	VFMADD231PS Y10, Y9, Y6
	VMOVUPS 96(R13), Y11
	VFMADD231PS Y11, Y8, Y3
	VFMADD231PS Y11, Y9, Y7
	ADDQ $4, R12
	ADDQ BX, R13
	DECQ R11
	JNZ  sn2loop

	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	VMOVUPS Y4, (DX)(R10*1)
	VMOVUPS Y5, 32(DX)(R10*1)
	VMOVUPS Y6, 64(DX)(R10*1)
	VMOVUPS Y7, 96(DX)(R10*1)
	ADDQ $128, DI
	ADDQ $128, DX
	DECQ R8
	JNZ  sn2blk
	ADDQ CX, SI
	CMPQ SI, k+8(FP)
	JLT  sn2pass
	VZEROUPPER
	RET

// sgemvN4: m = 3 or 4, n blocks of 24 columns (twelve accumulators).
TEXT ·sgemvN4(SB), NOSPLIT, $0-72
	MOVQ lda+24(FP), R14
	SHLQ $2, R14
	GEMVROWS
	MOVQ ldb+40(FP), BX
	SHLQ $2, BX
	MOVQ ldc+56(FP), R10
	SHLQ $2, R10
	XORQ SI, SI

sn4pass:
	// CX = depth of this pass, SI = rows of B done before it.
	MOVQ k+8(FP), CX
	SUBQ SI, CX
	CMPQ CX, $GEMVKB
	JLE  sn4depth
	MOVQ $GEMVKB, CX
sn4depth:
	MOVQ  SI, DI
	IMULQ BX, DI
	ADDQ  b+32(FP), DI
	MOVQ  c+48(FP), DX
	MOVQ  n+64(FP), R8

sn4blk:
	TESTQ SI, SI
	JNZ   sn4load
	ZERO12
	JMP   sn4go

sn4load:
	LEAQ (R10)(R10*2), R11
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS 64(DX), Y2
	VMOVUPS (DX)(R10*1), Y3
	VMOVUPS 32(DX)(R10*1), Y4
	VMOVUPS 64(DX)(R10*1), Y5
	VMOVUPS (DX)(R10*2), Y6
	VMOVUPS 32(DX)(R10*2), Y7
	VMOVUPS 64(DX)(R10*2), Y8
	VMOVUPS (DX)(R11*1), Y9
	VMOVUPS 32(DX)(R11*1), Y10
	VMOVUPS 64(DX)(R11*1), Y11

sn4go:
	MOVQ a+16(FP), R12
	LEAQ (R12)(SI*4), R12
	MOVQ DI, R13
	MOVQ CX, R11

sn4loop:
	VMOVUPS (R13), Y12
	VMOVUPS 32(R13), Y13
	VMOVUPS 64(R13), Y14
	VBROADCASTSS (R12), Y15
	VFMADD231PS Y12, Y15, Y0
	VFMADD231PS Y13, Y15, Y1
	VFMADD231PS Y14, Y15, Y2
	VBROADCASTSS (R12)(R14*1), Y15
	VFMADD231PS Y12, Y15, Y3
	VFMADD231PS Y13, Y15, Y4
	VFMADD231PS Y14, Y15, Y5
	VBROADCASTSS (R12)(AX*1), Y15
	VFMADD231PS Y12, Y15, Y6
	VFMADD231PS Y13, Y15, Y7
	VFMADD231PS Y14, Y15, Y8
	VBROADCASTSS (R12)(R9*1), Y15
	VFMADD231PS Y12, Y15, Y9
	VFMADD231PS Y13, Y15, Y10
	VFMADD231PS Y14, Y15, Y11
	ADDQ $4, R12
	ADDQ BX, R13
	DECQ R11
	JNZ  sn4loop

	LEAQ (R10)(R10*2), R11
	VMOVUPS Y0, (DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, (DX)(R10*1)
	VMOVUPS Y4, 32(DX)(R10*1)
	VMOVUPS Y5, 64(DX)(R10*1)
	VMOVUPS Y6, (DX)(R10*2)
	VMOVUPS Y7, 32(DX)(R10*2)
	VMOVUPS Y8, 64(DX)(R10*2)
	VMOVUPS Y9, (DX)(R11*1)
	VMOVUPS Y10, 32(DX)(R11*1)
	VMOVUPS Y11, 64(DX)(R11*1)
	ADDQ $96, DI
	ADDQ $96, DX
	DECQ R8
	JNZ  sn4blk
	ADDQ CX, SI
	CMPQ SI, k+8(FP)
	JLT  sn4pass
	VZEROUPPER
	RET

// sgemvNTail: any m in 1..4, n columns (n >= 1) 16 at a time, the two
// vectors masked to the columns left, so nothing past column n-1 is read or
// written. Four rows × two vectors keep eight chains in flight (for m = 4;
// fewer rows repeat the same chains). Only used for products narrower
// than one block, so all of B is small and there are no passes over k.
TEXT ·sgemvNTail(SB), NOSPLIT, $0-72
	MOVQ k+8(FP), CX
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R14
	SHLQ $2, R14
	GEMVROWS
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), BX
	SHLQ $2, BX
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R10
	SHLQ $2, R10
	MOVQ n+64(FP), R8

sntstep:
	// Y11 masks min(n, 8) columns, Y12 clamp(n-8, 0, 8).
	MOVQ     R8, R12
	MOVQ     $8, R13
	CMPQ     R12, R13
	CMOVQGT  R13, R12
	GEMVMASK(R12, R13, Y11)
	MOVQ     R8, R12
	SUBQ     $8, R12
	XORQ     R13, R13
	CMPQ     R12, R13
	CMOVQLT  R13, R12
	MOVQ     $8, R13
	CMPQ     R12, R13
	CMOVQGT  R13, R12
	GEMVMASK(R12, R13, Y12)
	ZERO8
	MOVQ     SI, R12
	MOVQ     DI, R13
	MOVQ     CX, R11

sntloop:
	VMASKMOVPS   (R13), Y11, Y8
	VMASKMOVPS   32(R13), Y12, Y9
	VBROADCASTSS (R12), Y10
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VBROADCASTSS (R12)(R14*1), Y10
	VFMADD231PS  Y8, Y10, Y2
	VFMADD231PS  Y9, Y10, Y3
	VBROADCASTSS (R12)(AX*1), Y10
	VFMADD231PS  Y8, Y10, Y4
	VFMADD231PS  Y9, Y10, Y5
	VBROADCASTSS (R12)(R9*1), Y10
	VFMADD231PS  Y8, Y10, Y6
	VFMADD231PS  Y9, Y10, Y7
	ADDQ         $4, R12
	ADDQ         BX, R13
	DECQ         R11
	JNZ          sntloop

	LEAQ       (R10)(R10*2), R11
	VMASKMOVPS Y0, Y11, (DX)
	VMASKMOVPS Y1, Y12, 32(DX)
	VMASKMOVPS Y2, Y11, (DX)(R10*1)
	VMASKMOVPS Y3, Y12, 32(DX)(R10*1)
	VMASKMOVPS Y4, Y11, (DX)(R10*2)
	VMASKMOVPS Y5, Y12, 32(DX)(R10*2)
	VMASKMOVPS Y6, Y11, (DX)(R11*1)
	VMASKMOVPS Y7, Y12, 32(DX)(R11*1)
	ADDQ       $64, DI
	ADDQ       $64, DX
	SUBQ       $16, R8
	JGT        sntstep
	VZEROUPPER
	RET

// SHSUM8 leaves in Y0 the eight sums of the lanes of Y0..Y7.
#define SHSUM8 \
	VHADDPS    Y1, Y0, Y0; \
	VHADDPS    Y3, Y2, Y2; \
	VHADDPS    Y5, Y4, Y4; \
	VHADDPS    Y7, Y6, Y6; \
	VHADDPS    Y2, Y0, Y0; \
	VHADDPS    Y6, Y4, Y4; \
	VPERM2F128 $0x20, Y4, Y0, Y1; \
	VPERM2F128 $0x31, Y4, Y0, Y2; \
	VADDPS     Y2, Y1, Y0

// T prologue: CX = k/8 full steps, Y15 = mask of the k%8 tail lanes.
#define STPROLOGUE \
	MOVQ k+8(FP), CX; \
	MOVQ CX, R11; \
	ANDQ $7, R11; \
	GEMVMASK(R11, R12, Y15); \
	SHRQ $3, CX

// sgemvT1: m = 1, n groups of 8 rows of B, one accumulator each; B comes
// in as FMA memory operands.
TEXT ·sgemvT1(SB), NOSPLIT, $0-72
	STPROLOGUE
	MOVQ a+16(FP), SI
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), BX
	SHLQ $2, BX
	LEAQ (BX)(BX*2), R9
	MOVQ c+48(FP), DX
	MOVQ n+64(FP), R8

st1grp:
	ZERO8
	MOVQ  SI, R12
	MOVQ  DI, R13
	LEAQ  (DI)(BX*4), R10
	MOVQ  CX, R11
	TESTQ R11, R11
	JZ    st1tail

st1loop:
	VMOVUPS     (R12), Y8
	VFMADD231PS (R13), Y8, Y0
	VFMADD231PS (R13)(BX*1), Y8, Y1
	VFMADD231PS (R13)(BX*2), Y8, Y2
	VFMADD231PS (R13)(R9*1), Y8, Y3
	VFMADD231PS (R10), Y8, Y4
	VFMADD231PS (R10)(BX*1), Y8, Y5
	VFMADD231PS (R10)(BX*2), Y8, Y6
	VFMADD231PS (R10)(R9*1), Y8, Y7
	ADDQ        $32, R12
	ADDQ        $32, R13
	ADDQ        $32, R10
	DECQ        R11
	JNZ         st1loop

st1tail:
	TESTQ       $7, k+8(FP)
	JZ          st1sum
	VMASKMOVPS  (R12), Y15, Y8
	VMASKMOVPS  (R13), Y15, Y9
	VFMADD231PS Y9, Y8, Y0
	VMASKMOVPS  (R13)(BX*1), Y15, Y9
	VFMADD231PS Y9, Y8, Y1
	VMASKMOVPS  (R13)(BX*2), Y15, Y9
	VFMADD231PS Y9, Y8, Y2
	VMASKMOVPS  (R13)(R9*1), Y15, Y9
	VFMADD231PS Y9, Y8, Y3
	VMASKMOVPS  (R10), Y15, Y9
	VFMADD231PS Y9, Y8, Y4
	VMASKMOVPS  (R10)(BX*1), Y15, Y9
	VFMADD231PS Y9, Y8, Y5
	VMASKMOVPS  (R10)(BX*2), Y15, Y9
	VFMADD231PS Y9, Y8, Y6
	VMASKMOVPS  (R10)(R9*1), Y15, Y9
	VFMADD231PS Y9, Y8, Y7

st1sum:
	SHSUM8
	VMOVUPS Y0, (DX)
	ADDQ    $32, DX
	LEAQ    (DI)(BX*8), DI
	DECQ    R8
	JNZ     st1grp
	VZEROUPPER
	RET

// sgemvT2: m = 2, n groups of 4 rows of B; each B load feeds both rows.
TEXT ·sgemvT2(SB), NOSPLIT, $0-72
	STPROLOGUE
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R14
	SHLQ $2, R14
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), BX
	SHLQ $2, BX
	LEAQ (BX)(BX*2), R9
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R10
	SHLQ $2, R10
	MOVQ n+64(FP), R8

st2grp:
	ZERO8
	MOVQ  SI, R12
	MOVQ  DI, R13
	MOVQ  CX, R11
	TESTQ R11, R11
	JZ    st2tail

st2loop:
	VMOVUPS     (R12), Y8
	VMOVUPS     (R12)(R14*1), Y9
	VMOVUPS     (R13), Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y4
	VMOVUPS     (R13)(BX*1), Y11
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y11, Y9, Y5
	VMOVUPS     (R13)(BX*2), Y10
	VFMADD231PS Y10, Y8, Y2
	VFMADD231PS Y10, Y9, Y6
	VMOVUPS     (R13)(R9*1), Y11
	VFMADD231PS Y11, Y8, Y3
	VFMADD231PS Y11, Y9, Y7
	ADDQ        $32, R12
	ADDQ        $32, R13
	DECQ        R11
	JNZ         st2loop

st2tail:
	TESTQ       $7, k+8(FP)
	JZ          st2sum
	VMASKMOVPS  (R12), Y15, Y8
	VMASKMOVPS  (R12)(R14*1), Y15, Y9
	VMASKMOVPS  (R13), Y15, Y10
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y10, Y9, Y4
	VMASKMOVPS  (R13)(BX*1), Y15, Y10
	VFMADD231PS Y10, Y8, Y1
	VFMADD231PS Y10, Y9, Y5
	VMASKMOVPS  (R13)(BX*2), Y15, Y10
	VFMADD231PS Y10, Y8, Y2
	VFMADD231PS Y10, Y9, Y6
	VMASKMOVPS  (R13)(R9*1), Y15, Y10
	VFMADD231PS Y10, Y8, Y3
	VFMADD231PS Y10, Y9, Y7

st2sum:
	// Same tree as SHSUM8: row 0's four sums in the low half, row 1's high.
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y5, Y4, Y4
	VHADDPS      Y7, Y6, Y6
	VHADDPS      Y2, Y0, Y0
	VHADDPS      Y6, Y4, Y4
	VPERM2F128   $0x20, Y4, Y0, Y1
	VPERM2F128   $0x31, Y4, Y0, Y2
	VADDPS       Y2, Y1, Y0
	VMOVUPS      X0, (DX)
	VEXTRACTF128 $1, Y0, (DX)(R10*1)
	ADDQ         $16, DX
	LEAQ         (DI)(BX*4), DI
	DECQ         R8
	JNZ          st2grp
	VZEROUPPER
	RET

// sgemvT4: m = 3 or 4, n groups of 2 rows of B.
TEXT ·sgemvT4(SB), NOSPLIT, $0-72
	STPROLOGUE
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R14
	SHLQ $2, R14
	GEMVROWS
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), BX
	SHLQ $2, BX
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R10
	SHLQ $2, R10
	MOVQ n+64(FP), R8

st4grp:
	ZERO8
	MOVQ  SI, R12
	MOVQ  DI, R13
	MOVQ  CX, R11
	TESTQ R11, R11
	JZ    st4tail

st4loop:
	VMOVUPS     (R13), Y8
	VMOVUPS     (R13)(BX*1), Y9
	VMOVUPS     (R12), Y10
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y10, Y1
	VMOVUPS     (R12)(R14*1), Y11
	VFMADD231PS Y8, Y11, Y2
	VFMADD231PS Y9, Y11, Y3
	VMOVUPS     (R12)(AX*1), Y10
	VFMADD231PS Y8, Y10, Y4
	VFMADD231PS Y9, Y10, Y5
	VMOVUPS     (R12)(R9*1), Y11
	VFMADD231PS Y8, Y11, Y6
	VFMADD231PS Y9, Y11, Y7
	ADDQ        $32, R12
	ADDQ        $32, R13
	DECQ        R11
	JNZ         st4loop

st4tail:
	TESTQ       $7, k+8(FP)
	JZ          st4sum
	VMASKMOVPS  (R13), Y15, Y8
	VMASKMOVPS  (R13)(BX*1), Y15, Y9
	VMASKMOVPS  (R12), Y15, Y10
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y10, Y1
	VMASKMOVPS  (R12)(R14*1), Y15, Y10
	VFMADD231PS Y8, Y10, Y2
	VFMADD231PS Y9, Y10, Y3
	VMASKMOVPS  (R12)(AX*1), Y15, Y10
	VFMADD231PS Y8, Y10, Y4
	VFMADD231PS Y9, Y10, Y5
	VMASKMOVPS  (R12)(R9*1), Y15, Y10
	VFMADD231PS Y8, Y10, Y6
	VFMADD231PS Y9, Y10, Y7

st4sum:
	// Same tree as SHSUM8; each XMM ends as [r·0, r·1, (r+1)·0, (r+1)·1].
	LEAQ         (R10)(R10*2), R11
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y5, Y4, Y4
	VHADDPS      Y7, Y6, Y6
	VHADDPS      Y2, Y0, Y0
	VHADDPS      Y6, Y4, Y4
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VEXTRACTF128 $1, Y4, X5
	VADDPS       X5, X4, X4
	VMOVLPS      X0, (DX)
	VMOVHPS      X0, (DX)(R10*1)
	VMOVLPS      X4, (DX)(R10*2)
	VMOVHPS      X4, (DX)(R11*1)
	ADDQ         $8, DX
	LEAQ         (DI)(BX*2), DI
	DECQ         R8
	JNZ          st4grp
	VZEROUPPER
	RET

// sgemvTTail: any m in 1..4, n single rows of B (for products narrower
// than a group).
TEXT ·sgemvTTail(SB), NOSPLIT, $0-72
	STPROLOGUE
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R14
	SHLQ $2, R14
	GEMVROWS
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), BX
	SHLQ $2, BX
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R10
	SHLQ $2, R10
	MOVQ n+64(FP), R8

sttrow:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ   SI, R12
	MOVQ   DI, R13
	MOVQ   CX, R11
	TESTQ  R11, R11
	JZ     stttail

sttloop:
	VMOVUPS     (R13), Y4
	VFMADD231PS (R12), Y4, Y0
	VFMADD231PS (R12)(R14*1), Y4, Y1
	VFMADD231PS (R12)(AX*1), Y4, Y2
	VFMADD231PS (R12)(R9*1), Y4, Y3
	ADDQ        $32, R12
	ADDQ        $32, R13
	DECQ        R11
	JNZ         sttloop

stttail:
	TESTQ       $7, k+8(FP)
	JZ          sttsum
	VMASKMOVPS  (R13), Y15, Y4
	VMASKMOVPS  (R12), Y15, Y5
	VFMADD231PS Y4, Y5, Y0
	VMASKMOVPS  (R12)(R14*1), Y15, Y5
	VFMADD231PS Y4, Y5, Y1
	VMASKMOVPS  (R12)(AX*1), Y15, Y5
	VFMADD231PS Y4, Y5, Y2
	VMASKMOVPS  (R12)(R9*1), Y15, Y5
	VFMADD231PS Y4, Y5, Y3

sttsum:
	// Same tree as SHSUM8; X0 ends as the sums of rows 0..3.
	LEAQ         (R10)(R10*2), R11
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVSS       X0, (DX)
	VEXTRACTPS   $1, X0, (DX)(R10*1)
	VEXTRACTPS   $2, X0, (DX)(R10*2)
	VEXTRACTPS   $3, X0, (DX)(R11*1)
	ADDQ         $4, DX
	ADDQ         BX, DI
	DECQ         R8
	JNZ          sttrow
	VZEROUPPER
	RET

// ---------------------------------------------------------------- float64
// The same kernels with 4-lane vectors: blocks of 32, 16 and 12 columns,
// 8-column tail steps, 4-element steps along k.

TEXT ·dgemvN1(SB), NOSPLIT, $0-72
	MOVQ ldb+40(FP), BX
	SHLQ $3, BX
	XORQ SI, SI

dn1pass:
	// CX = depth of this pass, SI = rows of B done before it.
	MOVQ k+8(FP), CX
	SUBQ SI, CX
	CMPQ CX, $GEMVKB
	JLE  dn1depth
	MOVQ $GEMVKB, CX
dn1depth:
	MOVQ  SI, DI
	IMULQ BX, DI
	ADDQ  b+32(FP), DI
	MOVQ  c+48(FP), DX
	MOVQ  n+64(FP), R8

dn1blk:
	TESTQ SI, SI
	JNZ   dn1load
	ZERO8
	JMP   dn1go

dn1load:
	VMOVUPD (DX), Y0
	VMOVUPD 32(DX), Y1
	VMOVUPD 64(DX), Y2
	VMOVUPD 96(DX), Y3
	VMOVUPD 128(DX), Y4
	VMOVUPD 160(DX), Y5
	VMOVUPD 192(DX), Y6
	VMOVUPD 224(DX), Y7

dn1go:
	MOVQ a+16(FP), R12
	LEAQ (R12)(SI*8), R12
	MOVQ DI, R13
	MOVQ CX, R11

dn1loop:
	VBROADCASTSD (R12), Y8
	VFMADD231PD (R13), Y8, Y0
	VFMADD231PD 32(R13), Y8, Y1
	VFMADD231PD 64(R13), Y8, Y2
	VFMADD231PD 96(R13), Y8, Y3
	VFMADD231PD 128(R13), Y8, Y4
	VFMADD231PD 160(R13), Y8, Y5
	VFMADD231PD 192(R13), Y8, Y6
	VFMADD231PD 224(R13), Y8, Y7
	ADDQ $8, R12
	ADDQ BX, R13
	DECQ R11
	JNZ  dn1loop

	VMOVUPD Y0, (DX)
	VMOVUPD Y1, 32(DX)
	VMOVUPD Y2, 64(DX)
	VMOVUPD Y3, 96(DX)
	VMOVUPD Y4, 128(DX)
	VMOVUPD Y5, 160(DX)
	VMOVUPD Y6, 192(DX)
	VMOVUPD Y7, 224(DX)
	ADDQ $256, DI
	ADDQ $256, DX
	DECQ R8
	JNZ  dn1blk
	ADDQ CX, SI
	CMPQ SI, k+8(FP)
	JLT  dn1pass
	VZEROUPPER
	RET

TEXT ·dgemvN2(SB), NOSPLIT, $0-72
	MOVQ lda+24(FP), R14
	SHLQ $3, R14
	MOVQ ldb+40(FP), BX
	SHLQ $3, BX
	MOVQ ldc+56(FP), R10
	SHLQ $3, R10
	XORQ SI, SI

dn2pass:
	// CX = depth of this pass, SI = rows of B done before it.
	MOVQ k+8(FP), CX
	SUBQ SI, CX
	CMPQ CX, $GEMVKB
	JLE  dn2depth
	MOVQ $GEMVKB, CX
dn2depth:
	MOVQ  SI, DI
	IMULQ BX, DI
	ADDQ  b+32(FP), DI
	MOVQ  c+48(FP), DX
	MOVQ  n+64(FP), R8

dn2blk:
	TESTQ SI, SI
	JNZ   dn2load
	ZERO8
	JMP   dn2go

dn2load:
	VMOVUPD (DX), Y0
	VMOVUPD 32(DX), Y1
	VMOVUPD 64(DX), Y2
	VMOVUPD 96(DX), Y3
	VMOVUPD (DX)(R10*1), Y4
	VMOVUPD 32(DX)(R10*1), Y5
	VMOVUPD 64(DX)(R10*1), Y6
	VMOVUPD 96(DX)(R10*1), Y7

dn2go:
	MOVQ a+16(FP), R12
	LEAQ (R12)(SI*8), R12
	MOVQ DI, R13
	MOVQ CX, R11

dn2loop:
	VBROADCASTSD (R12), Y8
	VBROADCASTSD (R12)(R14*1), Y9
	VMOVUPD (R13), Y10
	VFMADD231PD Y10, Y8, Y0
	VFMADD231PD Y10, Y9, Y4
	VMOVUPD 32(R13), Y11
	VFMADD231PD Y11, Y8, Y1
	VFMADD231PD Y11, Y9, Y5
	VMOVUPD 64(R13), Y10
	VFMADD231PD Y10, Y8, Y2
	VFMADD231PD Y10, Y9, Y6
	VMOVUPD 96(R13), Y11
	VFMADD231PD Y11, Y8, Y3
	VFMADD231PD Y11, Y9, Y7
	ADDQ $8, R12
	ADDQ BX, R13
	DECQ R11
	JNZ  dn2loop

	VMOVUPD Y0, (DX)
	VMOVUPD Y1, 32(DX)
	VMOVUPD Y2, 64(DX)
	VMOVUPD Y3, 96(DX)
	VMOVUPD Y4, (DX)(R10*1)
	VMOVUPD Y5, 32(DX)(R10*1)
	VMOVUPD Y6, 64(DX)(R10*1)
	VMOVUPD Y7, 96(DX)(R10*1)
	ADDQ $128, DI
	ADDQ $128, DX
	DECQ R8
	JNZ  dn2blk
	ADDQ CX, SI
	CMPQ SI, k+8(FP)
	JLT  dn2pass
	VZEROUPPER
	RET

TEXT ·dgemvN4(SB), NOSPLIT, $0-72
	MOVQ lda+24(FP), R14
	SHLQ $3, R14
	GEMVROWS
	MOVQ ldb+40(FP), BX
	SHLQ $3, BX
	MOVQ ldc+56(FP), R10
	SHLQ $3, R10
	XORQ SI, SI

dn4pass:
	// CX = depth of this pass, SI = rows of B done before it.
	MOVQ k+8(FP), CX
	SUBQ SI, CX
	CMPQ CX, $GEMVKB
	JLE  dn4depth
	MOVQ $GEMVKB, CX
dn4depth:
	MOVQ  SI, DI
	IMULQ BX, DI
	ADDQ  b+32(FP), DI
	MOVQ  c+48(FP), DX
	MOVQ  n+64(FP), R8

dn4blk:
	TESTQ SI, SI
	JNZ   dn4load
	ZERO12
	JMP   dn4go

dn4load:
	LEAQ (R10)(R10*2), R11
	VMOVUPD (DX), Y0
	VMOVUPD 32(DX), Y1
	VMOVUPD 64(DX), Y2
	VMOVUPD (DX)(R10*1), Y3
	VMOVUPD 32(DX)(R10*1), Y4
	VMOVUPD 64(DX)(R10*1), Y5
	VMOVUPD (DX)(R10*2), Y6
	VMOVUPD 32(DX)(R10*2), Y7
	VMOVUPD 64(DX)(R10*2), Y8
	VMOVUPD (DX)(R11*1), Y9
	VMOVUPD 32(DX)(R11*1), Y10
	VMOVUPD 64(DX)(R11*1), Y11

dn4go:
	MOVQ a+16(FP), R12
	LEAQ (R12)(SI*8), R12
	MOVQ DI, R13
	MOVQ CX, R11

dn4loop:
	VMOVUPD (R13), Y12
	VMOVUPD 32(R13), Y13
	VMOVUPD 64(R13), Y14
	VBROADCASTSD (R12), Y15
	VFMADD231PD Y12, Y15, Y0
	VFMADD231PD Y13, Y15, Y1
	VFMADD231PD Y14, Y15, Y2
	VBROADCASTSD (R12)(R14*1), Y15
	VFMADD231PD Y12, Y15, Y3
	VFMADD231PD Y13, Y15, Y4
	VFMADD231PD Y14, Y15, Y5
	VBROADCASTSD (R12)(AX*1), Y15
	VFMADD231PD Y12, Y15, Y6
	VFMADD231PD Y13, Y15, Y7
	VFMADD231PD Y14, Y15, Y8
	VBROADCASTSD (R12)(R9*1), Y15
	VFMADD231PD Y12, Y15, Y9
	VFMADD231PD Y13, Y15, Y10
	VFMADD231PD Y14, Y15, Y11
	ADDQ $8, R12
	ADDQ BX, R13
	DECQ R11
	JNZ  dn4loop

	LEAQ (R10)(R10*2), R11
	VMOVUPD Y0, (DX)
	VMOVUPD Y1, 32(DX)
	VMOVUPD Y2, 64(DX)
	VMOVUPD Y3, (DX)(R10*1)
	VMOVUPD Y4, 32(DX)(R10*1)
	VMOVUPD Y5, 64(DX)(R10*1)
	VMOVUPD Y6, (DX)(R10*2)
	VMOVUPD Y7, 32(DX)(R10*2)
	VMOVUPD Y8, 64(DX)(R10*2)
	VMOVUPD Y9, (DX)(R11*1)
	VMOVUPD Y10, 32(DX)(R11*1)
	VMOVUPD Y11, 64(DX)(R11*1)
	ADDQ $96, DI
	ADDQ $96, DX
	DECQ R8
	JNZ  dn4blk
	ADDQ CX, SI
	CMPQ SI, k+8(FP)
	JLT  dn4pass
	VZEROUPPER
	RET

TEXT ·dgemvNTail(SB), NOSPLIT, $0-72
	MOVQ k+8(FP), CX
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R14
	SHLQ $3, R14
	GEMVROWS
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), BX
	SHLQ $3, BX
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R10
	SHLQ $3, R10
	MOVQ n+64(FP), R8

dntstep:
	// Y11 masks min(n, 4) columns, Y12 clamp(n-4, 0, 4); two 32-bit mask
	// lanes per column.
	MOVQ     R8, R12
	MOVQ     $4, R13
	CMPQ     R12, R13
	CMOVQGT  R13, R12
	SHLQ     $1, R12
	GEMVMASK(R12, R13, Y11)
	MOVQ     R8, R12
	SUBQ     $4, R12
	XORQ     R13, R13
	CMPQ     R12, R13
	CMOVQLT  R13, R12
	MOVQ     $4, R13
	CMPQ     R12, R13
	CMOVQGT  R13, R12
	SHLQ     $1, R12
	GEMVMASK(R12, R13, Y12)
	ZERO8
	MOVQ     SI, R12
	MOVQ     DI, R13
	MOVQ     CX, R11

dntloop:
	VMASKMOVPD   (R13), Y11, Y8
	VMASKMOVPD   32(R13), Y12, Y9
	VBROADCASTSD (R12), Y10
	VFMADD231PD  Y8, Y10, Y0
	VFMADD231PD  Y9, Y10, Y1
	VBROADCASTSD (R12)(R14*1), Y10
	VFMADD231PD  Y8, Y10, Y2
	VFMADD231PD  Y9, Y10, Y3
	VBROADCASTSD (R12)(AX*1), Y10
	VFMADD231PD  Y8, Y10, Y4
	VFMADD231PD  Y9, Y10, Y5
	VBROADCASTSD (R12)(R9*1), Y10
	VFMADD231PD  Y8, Y10, Y6
	VFMADD231PD  Y9, Y10, Y7
	ADDQ         $8, R12
	ADDQ         BX, R13
	DECQ         R11
	JNZ          dntloop

	LEAQ       (R10)(R10*2), R11
	VMASKMOVPD Y0, Y11, (DX)
	VMASKMOVPD Y1, Y12, 32(DX)
	VMASKMOVPD Y2, Y11, (DX)(R10*1)
	VMASKMOVPD Y3, Y12, 32(DX)(R10*1)
	VMASKMOVPD Y4, Y11, (DX)(R10*2)
	VMASKMOVPD Y5, Y12, 32(DX)(R10*2)
	VMASKMOVPD Y6, Y11, (DX)(R11*1)
	VMASKMOVPD Y7, Y12, 32(DX)(R11*1)
	ADDQ       $64, DI
	ADDQ       $64, DX
	SUBQ       $8, R8
	JGT        dntstep
	VZEROUPPER
	RET

// DHSUM4 leaves in a0 the four sums of the lanes of a0..a3, each as
// (l0+l1)+(l2+l3).
#define DHSUM4(a0, a1, a2, a3, t0, t1) \
	VHADDPD    a1, a0, a0; \
	VHADDPD    a3, a2, a2; \
	VPERM2F128 $0x20, a2, a0, t0; \
	VPERM2F128 $0x31, a2, a0, t1; \
	VADDPD     t1, t0, a0

// T prologue: CX = k/4 full steps, Y15 = mask of the k%4 tail lanes.
#define DTPROLOGUE \
	MOVQ k+8(FP), CX; \
	MOVQ CX, R11; \
	ANDQ $3, R11; \
	SHLQ $1, R11; \
	GEMVMASK(R11, R12, Y15); \
	SHRQ $2, CX

TEXT ·dgemvT1(SB), NOSPLIT, $0-72
	DTPROLOGUE
	MOVQ a+16(FP), SI
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), BX
	SHLQ $3, BX
	LEAQ (BX)(BX*2), R9
	MOVQ c+48(FP), DX
	MOVQ n+64(FP), R8

dt1grp:
	ZERO8
	MOVQ  SI, R12
	MOVQ  DI, R13
	LEAQ  (DI)(BX*4), R10
	MOVQ  CX, R11
	TESTQ R11, R11
	JZ    dt1tail

dt1loop:
	VMOVUPD     (R12), Y8
	VFMADD231PD (R13), Y8, Y0
	VFMADD231PD (R13)(BX*1), Y8, Y1
	VFMADD231PD (R13)(BX*2), Y8, Y2
	VFMADD231PD (R13)(R9*1), Y8, Y3
	VFMADD231PD (R10), Y8, Y4
	VFMADD231PD (R10)(BX*1), Y8, Y5
	VFMADD231PD (R10)(BX*2), Y8, Y6
	VFMADD231PD (R10)(R9*1), Y8, Y7
	ADDQ        $32, R12
	ADDQ        $32, R13
	ADDQ        $32, R10
	DECQ        R11
	JNZ         dt1loop

dt1tail:
	TESTQ       $3, k+8(FP)
	JZ          dt1sum
	VMASKMOVPD  (R12), Y15, Y8
	VMASKMOVPD  (R13), Y15, Y9
	VFMADD231PD Y9, Y8, Y0
	VMASKMOVPD  (R13)(BX*1), Y15, Y9
	VFMADD231PD Y9, Y8, Y1
	VMASKMOVPD  (R13)(BX*2), Y15, Y9
	VFMADD231PD Y9, Y8, Y2
	VMASKMOVPD  (R13)(R9*1), Y15, Y9
	VFMADD231PD Y9, Y8, Y3
	VMASKMOVPD  (R10), Y15, Y9
	VFMADD231PD Y9, Y8, Y4
	VMASKMOVPD  (R10)(BX*1), Y15, Y9
	VFMADD231PD Y9, Y8, Y5
	VMASKMOVPD  (R10)(BX*2), Y15, Y9
	VFMADD231PD Y9, Y8, Y6
	VMASKMOVPD  (R10)(R9*1), Y15, Y9
	VFMADD231PD Y9, Y8, Y7

dt1sum:
	DHSUM4(Y0, Y1, Y2, Y3, Y8, Y9)
	DHSUM4(Y4, Y5, Y6, Y7, Y8, Y9)
	VMOVUPD Y0, (DX)
	VMOVUPD Y4, 32(DX)
	ADDQ    $64, DX
	LEAQ    (DI)(BX*8), DI
	DECQ    R8
	JNZ     dt1grp
	VZEROUPPER
	RET

TEXT ·dgemvT2(SB), NOSPLIT, $0-72
	DTPROLOGUE
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R14
	SHLQ $3, R14
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), BX
	SHLQ $3, BX
	LEAQ (BX)(BX*2), R9
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R10
	SHLQ $3, R10
	MOVQ n+64(FP), R8

dt2grp:
	ZERO8
	MOVQ  SI, R12
	MOVQ  DI, R13
	MOVQ  CX, R11
	TESTQ R11, R11
	JZ    dt2tail

dt2loop:
	VMOVUPD     (R12), Y8
	VMOVUPD     (R12)(R14*1), Y9
	VMOVUPD     (R13), Y10
	VFMADD231PD Y10, Y8, Y0
	VFMADD231PD Y10, Y9, Y4
	VMOVUPD     (R13)(BX*1), Y11
	VFMADD231PD Y11, Y8, Y1
	VFMADD231PD Y11, Y9, Y5
	VMOVUPD     (R13)(BX*2), Y10
	VFMADD231PD Y10, Y8, Y2
	VFMADD231PD Y10, Y9, Y6
	VMOVUPD     (R13)(R9*1), Y11
	VFMADD231PD Y11, Y8, Y3
	VFMADD231PD Y11, Y9, Y7
	ADDQ        $32, R12
	ADDQ        $32, R13
	DECQ        R11
	JNZ         dt2loop

dt2tail:
	TESTQ       $3, k+8(FP)
	JZ          dt2sum
	VMASKMOVPD  (R12), Y15, Y8
	VMASKMOVPD  (R12)(R14*1), Y15, Y9
	VMASKMOVPD  (R13), Y15, Y10
	VFMADD231PD Y10, Y8, Y0
	VFMADD231PD Y10, Y9, Y4
	VMASKMOVPD  (R13)(BX*1), Y15, Y10
	VFMADD231PD Y10, Y8, Y1
	VFMADD231PD Y10, Y9, Y5
	VMASKMOVPD  (R13)(BX*2), Y15, Y10
	VFMADD231PD Y10, Y8, Y2
	VFMADD231PD Y10, Y9, Y6
	VMASKMOVPD  (R13)(R9*1), Y15, Y10
	VFMADD231PD Y10, Y8, Y3
	VFMADD231PD Y10, Y9, Y7

dt2sum:
	DHSUM4(Y0, Y1, Y2, Y3, Y8, Y9)
	DHSUM4(Y4, Y5, Y6, Y7, Y8, Y9)
	VMOVUPD Y0, (DX)
	VMOVUPD Y4, (DX)(R10*1)
	ADDQ    $32, DX
	LEAQ    (DI)(BX*4), DI
	DECQ    R8
	JNZ     dt2grp
	VZEROUPPER
	RET

TEXT ·dgemvT4(SB), NOSPLIT, $0-72
	DTPROLOGUE
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R14
	SHLQ $3, R14
	GEMVROWS
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), BX
	SHLQ $3, BX
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R10
	SHLQ $3, R10
	MOVQ n+64(FP), R8

dt4grp:
	ZERO8
	MOVQ  SI, R12
	MOVQ  DI, R13
	MOVQ  CX, R11
	TESTQ R11, R11
	JZ    dt4tail

dt4loop:
	VMOVUPD     (R13), Y8
	VMOVUPD     (R13)(BX*1), Y9
	VMOVUPD     (R12), Y10
	VFMADD231PD Y8, Y10, Y0
	VFMADD231PD Y9, Y10, Y1
	VMOVUPD     (R12)(R14*1), Y11
	VFMADD231PD Y8, Y11, Y2
	VFMADD231PD Y9, Y11, Y3
	VMOVUPD     (R12)(AX*1), Y10
	VFMADD231PD Y8, Y10, Y4
	VFMADD231PD Y9, Y10, Y5
	VMOVUPD     (R12)(R9*1), Y11
	VFMADD231PD Y8, Y11, Y6
	VFMADD231PD Y9, Y11, Y7
	ADDQ        $32, R12
	ADDQ        $32, R13
	DECQ        R11
	JNZ         dt4loop

dt4tail:
	TESTQ       $3, k+8(FP)
	JZ          dt4sum
	VMASKMOVPD  (R13), Y15, Y8
	VMASKMOVPD  (R13)(BX*1), Y15, Y9
	VMASKMOVPD  (R12), Y15, Y10
	VFMADD231PD Y8, Y10, Y0
	VFMADD231PD Y9, Y10, Y1
	VMASKMOVPD  (R12)(R14*1), Y15, Y10
	VFMADD231PD Y8, Y10, Y2
	VFMADD231PD Y9, Y10, Y3
	VMASKMOVPD  (R12)(AX*1), Y15, Y10
	VFMADD231PD Y8, Y10, Y4
	VFMADD231PD Y9, Y10, Y5
	VMASKMOVPD  (R12)(R9*1), Y15, Y10
	VFMADD231PD Y8, Y10, Y6
	VFMADD231PD Y9, Y10, Y7

dt4sum:
	// Y0 ends as [r·0, r·1, (r+1)·0, (r+1)·1], Y4 the same for rows 2, 3.
	LEAQ         (R10)(R10*2), R11
	DHSUM4(Y0, Y1, Y2, Y3, Y8, Y9)
	DHSUM4(Y4, Y5, Y6, Y7, Y8, Y9)
	VMOVUPD      X0, (DX)
	VEXTRACTF128 $1, Y0, (DX)(R10*1)
	VMOVUPD      X4, (DX)(R10*2)
	VEXTRACTF128 $1, Y4, (DX)(R11*1)
	ADDQ         $16, DX
	LEAQ         (DI)(BX*2), DI
	DECQ         R8
	JNZ          dt4grp
	VZEROUPPER
	RET

TEXT ·dgemvTTail(SB), NOSPLIT, $0-72
	DTPROLOGUE
	MOVQ a+16(FP), SI
	MOVQ lda+24(FP), R14
	SHLQ $3, R14
	GEMVROWS
	MOVQ b+32(FP), DI
	MOVQ ldb+40(FP), BX
	SHLQ $3, BX
	MOVQ c+48(FP), DX
	MOVQ ldc+56(FP), R10
	SHLQ $3, R10
	MOVQ n+64(FP), R8

dttrow:
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	MOVQ   SI, R12
	MOVQ   DI, R13
	MOVQ   CX, R11
	TESTQ  R11, R11
	JZ     dtttail

dttloop:
	VMOVUPD     (R13), Y4
	VFMADD231PD (R12), Y4, Y0
	VFMADD231PD (R12)(R14*1), Y4, Y1
	VFMADD231PD (R12)(AX*1), Y4, Y2
	VFMADD231PD (R12)(R9*1), Y4, Y3
	ADDQ        $32, R12
	ADDQ        $32, R13
	DECQ        R11
	JNZ         dttloop

dtttail:
	TESTQ       $3, k+8(FP)
	JZ          dttsum
	VMASKMOVPD  (R13), Y15, Y4
	VMASKMOVPD  (R12), Y15, Y5
	VFMADD231PD Y4, Y5, Y0
	VMASKMOVPD  (R12)(R14*1), Y15, Y5
	VFMADD231PD Y4, Y5, Y1
	VMASKMOVPD  (R12)(AX*1), Y15, Y5
	VFMADD231PD Y4, Y5, Y2
	VMASKMOVPD  (R12)(R9*1), Y15, Y5
	VFMADD231PD Y4, Y5, Y3

dttsum:
	LEAQ         (R10)(R10*2), R11
	DHSUM4(Y0, Y1, Y2, Y3, Y8, Y9)
	VEXTRACTF128 $1, Y0, X1
	VMOVSD       X0, (DX)
	VMOVHPD      X0, (DX)(R10*1)
	VMOVSD       X1, (DX)(R10*2)
	VMOVHPD      X1, (DX)(R11*1)
	ADDQ         $8, DX
	ADDQ         BX, DI
	DECQ         R8
	JNZ          dttrow
	VZEROUPPER
	RET
