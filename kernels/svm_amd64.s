//go:build amd64 && !purego

#include "textflag.h"

// SVM kernels (svm.go): every SIMD lane repeats, for its own support vector
// or argument, the scalar operations of the Go code in the same order, so
// the results are the Go code's bit for bit. No fused operation appears
// where the Go code rounds twice, and none is split where it fuses.

// ---- Dot products and squared distances -------------------------------
//
// A packed block is 16 vectors, feature i's 16 values at 128*i bytes. The
// AVX-512 kernels take a block per iteration, vectors 0-7 and 8-15 in two
// ZMM registers (A, B); the AVX2 kernels a quarter block (4 vectors) in
// one YMM register. Per lane, the order is SVMDot's: lane group l = 0..3
// of the 16 folded lanes is a_k = z[8k+l] + z[8k+l+4] (k = 0..3, z[t]
// summing terms t, t+32, ... below n32 with FMAs), plus term n32+4k+l when
// a block of 16 follows, s_l = ((a_0+a_1)+a_2)+a_3; the dot is
// (s_0+s_2)+(s_1+s_3), then the terms past n16 one FMA each.
//
// Registers: DI dst, SI x, DX the block (quarter), CX the block stride
// (128f), R8 blocks left, BX n32/32, R12 x+8*n32, AX 128*n32 (the block of
// 16 in a packed block), R13 x+8*n16, R14 128*n16, R15 f&15; R9, R10, R11
// walk x, the block and a count.

// One term for halves A and B: x at XO(R9), the block's row at YO(R10).
#define DOT512(XO, YO, A, B) \
	VBROADCASTSD (XO)(R9), Z24; \
	VFMADD231PD (YO)(R10), Z24, A; \
	VFMADD231PD (YO+64)(R10), Z24, B

// The same for (x-y)²: the difference rounded, then the FMA.
#define SQ512(XO, YO, A, B) \
	VBROADCASTSD (XO)(R9), Z24; \
	VSUBPD (YO)(R10), Z24, Z26; \
	VSUBPD (YO+64)(R10), Z24, Z27; \
	VFMADD231PD Z26, Z26, A; \
	VFMADD231PD Z27, Z27, B

// LANE32 leaves a_k of lane group L (before the block of 16) in Z8:Z9,
// Z12:Z13, Z16:Z17, Z20:Z21: the z[8k+L] in those, z[8k+L+4] in Z10:Z11,
// Z14:Z15, Z18:Z19, Z22:Z23, over the n32/32 blocks of 32 terms.
#define LANE32(TERM, L, LOOP) \
	VPXORQ Z8, Z8, Z8; VPXORQ Z9, Z9, Z9; VPXORQ Z10, Z10, Z10; VPXORQ Z11, Z11, Z11; \
	VPXORQ Z12, Z12, Z12; VPXORQ Z13, Z13, Z13; VPXORQ Z14, Z14, Z14; VPXORQ Z15, Z15, Z15; \
	VPXORQ Z16, Z16, Z16; VPXORQ Z17, Z17, Z17; VPXORQ Z18, Z18, Z18; VPXORQ Z19, Z19, Z19; \
	VPXORQ Z20, Z20, Z20; VPXORQ Z21, Z21, Z21; VPXORQ Z22, Z22, Z22; VPXORQ Z23, Z23, Z23; \
	MOVQ SI, R9; \
	MOVQ DX, R10; \
	MOVQ BX, R11; \
LOOP: \
	TERM(8*(L), 128*(L), Z8, Z9); \
	TERM(8*(L)+32, 128*(L)+512, Z10, Z11); \
	TERM(8*(8+L), 128*(8+L), Z12, Z13); \
	TERM(8*(8+L)+32, 128*(8+L)+512, Z14, Z15); \
	TERM(8*(16+L), 128*(16+L), Z16, Z17); \
	TERM(8*(16+L)+32, 128*(16+L)+512, Z18, Z19); \
	TERM(8*(24+L), 128*(24+L), Z20, Z21); \
	TERM(8*(24+L)+32, 128*(24+L)+512, Z22, Z23); \
	ADDQ $256, R9; \
	ADDQ $4096, R10; \
	DECQ R11; \
	JNZ LOOP; \
	VADDPD Z10, Z8, Z8; VADDPD Z11, Z9, Z9; \
	VADDPD Z14, Z12, Z12; VADDPD Z15, Z13, Z13; \
	VADDPD Z18, Z16, Z16; VADDPD Z19, Z17, Z17; \
	VADDPD Z22, Z20, Z20; VADDPD Z23, Z21, Z21

// LANE16 adds the block of 16's terms n32+4k+L to the a_k.
#define LANE16(TERM, L) \
	MOVQ R12, R9; \
	LEAQ (DX)(AX*1), R10; \
	TERM(8*(L), 128*(L), Z8, Z9); \
	TERM(8*(4+L), 128*(4+L), Z12, Z13); \
	TERM(8*(8+L), 128*(8+L), Z16, Z17); \
	TERM(8*(12+L), 128*(12+L), Z20, Z21)

// LANE16Z is LANE16 onto zeros (no block of 32 terms).
#define LANE16Z(TERM, L) \
	VPXORQ Z8, Z8, Z8; VPXORQ Z9, Z9, Z9; VPXORQ Z12, Z12, Z12; VPXORQ Z13, Z13, Z13; \
	VPXORQ Z16, Z16, Z16; VPXORQ Z17, Z17, Z17; VPXORQ Z20, Z20, Z20; VPXORQ Z21, Z21, Z21; \
	LANE16(TERM, L)

// SUM4 sets SA:SB to s_l = ((a_0+a_1)+a_2)+a_3.
#define SUM4(SA, SB) \
	VADDPD Z12, Z8, SA; VADDPD Z13, Z9, SB; \
	VADDPD Z16, SA, SA; VADDPD Z17, SB, SB; \
	VADDPD Z20, SA, SA; VADDPD Z21, SB, SB

// FOLD512 sets Z0:Z1 to (s_0+s_2)+(s_1+s_3), s_l in Z(2l):Z(2l+1).
#define FOLD512 \
	VADDPD Z4, Z0, Z0; VADDPD Z5, Z1, Z1; \
	VADDPD Z6, Z2, Z2; VADDPD Z7, Z3, Z3; \
	VADDPD Z2, Z0, Z0; VADDPD Z3, Z1, Z1

// TAIL512 adds the terms past n16 to Z0:Z1, then stores them and moves to
// the next block, jumping to NEXT while blocks remain.
#define TAIL512(TERM, LOOP, STORE, NEXT) \
	MOVQ R15, R11; \
	TESTQ R11, R11; \
	JZ STORE; \
	MOVQ R13, R9; \
	LEAQ (DX)(R14*1), R10; \
LOOP: \
	TERM(0, 0, Z0, Z1); \
	ADDQ $8, R9; \
	ADDQ $128, R10; \
	DECQ R11; \
	JNZ LOOP; \
STORE: \
	VMOVUPD Z0, (DI); \
	VMOVUPD Z1, 64(DI); \
	ADDQ $128, DI; \
	ADDQ CX, DX; \
	DECQ R8; \
	JNZ NEXT

// SETUP loads the arguments and the derived offsets above.
#define SETUP \
	MOVQ dst+0(FP), DI; \
	MOVQ x+8(FP), SI; \
	MOVQ packed+16(FP), DX; \
	MOVQ f+24(FP), CX; \
	MOVQ nb+32(FP), R8; \
	MOVQ CX, BX; \
	SHRQ $5, BX; \
	MOVQ BX, R12; \
	SHLQ $8, R12; \
	ADDQ SI, R12; \
	MOVQ BX, AX; \
	SHLQ $12, AX; \
	MOVQ CX, R14; \
	ANDQ $-16, R14; \
	LEAQ (SI)(R14*8), R13; \
	SHLQ $7, R14; \
	MOVQ CX, R15; \
	ANDQ $15, R15; \
	SHLQ $7, CX

// DOTS512 is a whole kernel for TERM. Paths: f < 16 (the tail alone),
// f < 32 (a block of 16, no blocks of 32), blocks of 32 without or with a
// block of 16 after them.
#define DOTS512(TERM) \
	SETUP; \
	CMPQ R14, $0; \
	JEQ short; \
	TESTQ BX, BX; \
	JZ b16; \
	TESTQ $16, f+24(FP); \
	JNZ b32b16; \
b32: \
	LANE32(TERM, 0, b32l0); SUM4(Z0, Z1); \
	LANE32(TERM, 1, b32l1); SUM4(Z2, Z3); \
	LANE32(TERM, 2, b32l2); SUM4(Z4, Z5); \
	LANE32(TERM, 3, b32l3); SUM4(Z6, Z7); \
	FOLD512; \
	TAIL512(TERM, b32t, b32s, b32); \
	JMP done; \
b32b16: \
	LANE32(TERM, 0, b3216l0); LANE16(TERM, 0); SUM4(Z0, Z1); \
	LANE32(TERM, 1, b3216l1); LANE16(TERM, 1); SUM4(Z2, Z3); \
	LANE32(TERM, 2, b3216l2); LANE16(TERM, 2); SUM4(Z4, Z5); \
	LANE32(TERM, 3, b3216l3); LANE16(TERM, 3); SUM4(Z6, Z7); \
	FOLD512; \
	TAIL512(TERM, b3216t, b3216s, b32b16); \
	JMP done; \
b16: \
	LANE16Z(TERM, 0); SUM4(Z0, Z1); \
	LANE16Z(TERM, 1); SUM4(Z2, Z3); \
	LANE16Z(TERM, 2); SUM4(Z4, Z5); \
	LANE16Z(TERM, 3); SUM4(Z6, Z7); \
	FOLD512; \
	TAIL512(TERM, b16t, b16s, b16); \
	JMP done; \
short: \
	VPXORQ Z0, Z0, Z0; \
	VPXORQ Z1, Z1, Z1; \
	TAIL512(TERM, shortt, shorts, short); \
done: \
	VZEROUPPER; \
	RET

// func svmDotsAVX512(dst, x, packed *float64, f, nb int)
TEXT ·svmDotsAVX512(SB), NOSPLIT, $0-40
	DOTS512(DOT512)

// func svmDistsAVX512(dst, x, packed *float64, f, nb int)
TEXT ·svmDistsAVX512(SB), NOSPLIT, $0-40
	DOTS512(SQ512)

// AVX2: the same per quarter block, one YMM per quantity: s_l in Y0-Y3,
// a_k in Y4, Y6, Y8, Y10 (z[8k+L+4] in Y5, Y7, Y9, Y11). DX is the
// quarter's base; the quarter loop is inside the block loop.

#define DOT256(XO, YO, A) \
	VBROADCASTSD (XO)(R9), Y12; \
	VFMADD231PD (YO)(R10), Y12, A

#define SQ256(XO, YO, A) \
	VBROADCASTSD (XO)(R9), Y12; \
	VSUBPD (YO)(R10), Y12, Y13; \
	VFMADD231PD Y13, Y13, A

#define LANE32Q(TERM, L, LOOP) \
	VXORPD Y4, Y4, Y4; VXORPD Y5, Y5, Y5; VXORPD Y6, Y6, Y6; VXORPD Y7, Y7, Y7; \
	VXORPD Y8, Y8, Y8; VXORPD Y9, Y9, Y9; VXORPD Y10, Y10, Y10; VXORPD Y11, Y11, Y11; \
	MOVQ SI, R9; \
	MOVQ DX, R10; \
	MOVQ BX, R11; \
LOOP: \
	TERM(8*(L), 128*(L), Y4); \
	TERM(8*(L)+32, 128*(L)+512, Y5); \
	TERM(8*(8+L), 128*(8+L), Y6); \
	TERM(8*(8+L)+32, 128*(8+L)+512, Y7); \
	TERM(8*(16+L), 128*(16+L), Y8); \
	TERM(8*(16+L)+32, 128*(16+L)+512, Y9); \
	TERM(8*(24+L), 128*(24+L), Y10); \
	TERM(8*(24+L)+32, 128*(24+L)+512, Y11); \
	ADDQ $256, R9; \
	ADDQ $4096, R10; \
	DECQ R11; \
	JNZ LOOP; \
	VADDPD Y5, Y4, Y4; VADDPD Y7, Y6, Y6; VADDPD Y9, Y8, Y8; VADDPD Y11, Y10, Y10

#define LANE16Q(TERM, L) \
	MOVQ R12, R9; \
	LEAQ (DX)(AX*1), R10; \
	TERM(8*(L), 128*(L), Y4); \
	TERM(8*(4+L), 128*(4+L), Y6); \
	TERM(8*(8+L), 128*(8+L), Y8); \
	TERM(8*(12+L), 128*(12+L), Y10)

#define LANE16QZ(TERM, L) \
	VXORPD Y4, Y4, Y4; VXORPD Y6, Y6, Y6; VXORPD Y8, Y8, Y8; VXORPD Y10, Y10, Y10; \
	LANE16Q(TERM, L)

#define SUM4Q(S) \
	VADDPD Y6, Y4, S; \
	VADDPD Y8, S, S; \
	VADDPD Y10, S, S

#define FOLD256 \
	VADDPD Y2, Y0, Y0; \
	VADDPD Y3, Y1, Y1; \
	VADDPD Y1, Y0, Y0

// TAIL256 finishes a quarter, stores it and moves to the next quarter
// (DX_Q, a frame slot, counts them down within the block) or block,
// jumping to NEXT while any remain.
#define TAIL256(TERM, LOOP, STORE, NEXT) \
	MOVQ R15, R11; \
	TESTQ R11, R11; \
	JZ STORE; \
	MOVQ R13, R9; \
	LEAQ (DX)(R14*1), R10; \
LOOP: \
	TERM(0, 0, Y0); \
	ADDQ $8, R9; \
	ADDQ $128, R10; \
	DECQ R11; \
	JNZ LOOP; \
STORE: \
	VMOVUPD Y0, (DI); \
	ADDQ $32, DI; \
	ADDQ $32, DX; \
	DECQ DX_Q; \
	JNZ NEXT; \
	MOVQ $4, DX_Q; \
	ADDQ CX, DX; \
	SUBQ $128, DX; \
	DECQ R8; \
	JNZ NEXT

#define DX_Q quarters-8(SP)

#define DOTS256(TERM) \
	SETUP; \
	MOVQ $4, DX_Q; \
	CMPQ R14, $0; \
	JEQ short; \
	TESTQ BX, BX; \
	JZ b16; \
	TESTQ $16, f+24(FP); \
	JNZ b32b16; \
b32: \
	LANE32Q(TERM, 0, b32l0); SUM4Q(Y0); \
	LANE32Q(TERM, 1, b32l1); SUM4Q(Y1); \
	LANE32Q(TERM, 2, b32l2); SUM4Q(Y2); \
	LANE32Q(TERM, 3, b32l3); SUM4Q(Y3); \
	FOLD256; \
	TAIL256(TERM, b32t, b32s, b32); \
	JMP done; \
b32b16: \
	LANE32Q(TERM, 0, b3216l0); LANE16Q(TERM, 0); SUM4Q(Y0); \
	LANE32Q(TERM, 1, b3216l1); LANE16Q(TERM, 1); SUM4Q(Y1); \
	LANE32Q(TERM, 2, b3216l2); LANE16Q(TERM, 2); SUM4Q(Y2); \
	LANE32Q(TERM, 3, b3216l3); LANE16Q(TERM, 3); SUM4Q(Y3); \
	FOLD256; \
	TAIL256(TERM, b3216t, b3216s, b32b16); \
	JMP done; \
b16: \
	LANE16QZ(TERM, 0); SUM4Q(Y0); \
	LANE16QZ(TERM, 1); SUM4Q(Y1); \
	LANE16QZ(TERM, 2); SUM4Q(Y2); \
	LANE16QZ(TERM, 3); SUM4Q(Y3); \
	FOLD256; \
	TAIL256(TERM, b16t, b16s, b16); \
	JMP done; \
short: \
	VXORPD Y0, Y0, Y0; \
	TAIL256(TERM, shortt, shorts, short); \
done: \
	VZEROUPPER; \
	RET

// func svmDotsAVX2(dst, x, packed *float64, f, nb int)
TEXT ·svmDotsAVX2(SB), NOSPLIT, $8-40
	DOTS256(DOT256)

// func svmDistsAVX2(dst, x, packed *float64, f, nb int)
TEXT ·svmDistsAVX2(SB), NOSPLIT, $8-40
	DOTS256(SQ256)

// ---- exp ----------------------------------------------------------------
//
// SVMExp's operations on 8 (4) lanes; svmConsts holds its constants at
// these offsets. k comes from the bits of x·64/ln2 + 1.5·2^52, which are
// those of 1.5·2^52 plus k; the table entries are gathered. Lanes outside
// (-708, 709) or NaN compute garbage (the table index is masked to 0..63)
// and are reported: the caller replaces them with math.Exp's values.

#define C_INVSTEP 0
#define C_SHIFTER 8
#define C_LN2HI 16
#define C_LN2MID 24
#define C_LN2LO 32
#define C_P8 40
#define C_P7 48
#define C_P6 56
#define C_P5 64
#define C_P4 72
#define C_P3 80
#define C_HALF 88
#define C_ONE 96
#define C_MIN 104
#define C_MAX 112
#define C_SIGN 120
#define C_63 128
#define C_1023 136
#define C_BIAS 144
#define C_IOTA 152

// func svmExpAVX512(dst, src *float64, n int, scale float64) bool
//
// Two streams of 8 lanes (A in Z0-Z12, B in Z13-Z25, instructions
// interleaved: one stream's chain of dependent operations is too long for
// the scheduler to overlap on its own), then 8 lanes of A alone if n%16 is
// 8. Constants in Z26-Z31 or broadcast from memory.
TEXT ·svmExpAVX512(SB), NOSPLIT, $0-33
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	LEAQ ·svmConsts(SB), AX
	VBROADCASTSD scale+24(FP), Z26
	VBROADCASTSD C_SHIFTER(AX), Z27
	VBROADCASTSD C_ONE(AX), Z28
	VBROADCASTSD C_HALF(AX), Z29
	VBROADCASTSD C_LN2MID(AX), Z30
	VBROADCASTSD C_SIGN(AX), Z31
	LEAQ ·svmExpHi(SB), R10
	LEAQ ·svmExpLo(SB), R11
	KXNORW K3, K3, K3 // AND of the in-range masks
	MOVQ CX, DX
	SHRQ $4, DX
	JZ exp512one

exp512two:
	VMULPD (SI), Z26, Z0                   // x = scale·src
	VMULPD 64(SI), Z26, Z13
	VCMPPD.BCST $0x1e, C_MIN(AX), Z0, K1   // x > -708
	VCMPPD.BCST $0x1e, C_MIN(AX), Z13, K6
	VCMPPD.BCST $0x11, C_MAX(AX), Z0, K2   // x < 709
	VCMPPD.BCST $0x11, C_MAX(AX), Z13, K7
	KANDW K1, K2, K1
	KANDW K6, K7, K6
	KANDW K1, K3, K3
	KANDW K6, K3, K3
	VMULPD.BCST C_INVSTEP(AX), Z0, Z1
	VMULPD.BCST C_INVSTEP(AX), Z13, Z14
	VADDPD Z27, Z1, Z1                     // x·64/ln2 + shifter
	VADDPD Z27, Z14, Z14
	VSUBPD Z27, Z1, Z2                     // kf
	VSUBPD Z27, Z14, Z15
	VPSUBQ Z27, Z1, Z1                     // k
	VPSUBQ Z27, Z14, Z14
	VMULPD.BCST C_LN2HI(AX), Z2, Z3
	VMULPD.BCST C_LN2HI(AX), Z15, Z16
	VSUBPD Z3, Z0, Z3                      // r0 = x - kf·hi
	VSUBPD Z16, Z13, Z16
	VMULPD Z30, Z2, Z4                     // p = kf·mid
	VMULPD Z30, Z15, Z17
	VMOVAPD Z4, Z5
	VMOVAPD Z17, Z18
	VFMSUB231PD Z30, Z2, Z5                // pe = kf·mid - p, fused
	VFMSUB231PD Z30, Z15, Z18
	VPXORQ Z31, Z4, Z6                     // -p
	VPXORQ Z31, Z17, Z19
	VADDPD Z6, Z3, Z7                      // rh = r0 + -p
	VADDPD Z19, Z16, Z20
	VSUBPD Z3, Z7, Z8                      // bb = rh - r0
	VSUBPD Z16, Z20, Z21
	VSUBPD Z8, Z7, Z9
	VSUBPD Z21, Z20, Z22
	VSUBPD Z9, Z3, Z9                      // r0 - (rh - bb)
	VSUBPD Z22, Z16, Z22
	VSUBPD Z8, Z6, Z10                     // -p - bb
	VSUBPD Z21, Z19, Z23
	VADDPD Z10, Z9, Z9                     // rl
	VADDPD Z23, Z22, Z22
	VSUBPD Z5, Z9, Z9                      // rl -= pe
	VSUBPD Z18, Z22, Z22
	VMULPD.BCST C_LN2LO(AX), Z2, Z10
	VMULPD.BCST C_LN2LO(AX), Z15, Z23
	VSUBPD Z10, Z9, Z9                     // rl -= kf·lo
	VSUBPD Z23, Z22, Z22
	VADDPD Z9, Z7, Z10                     // rh' = rh + rl
	VADDPD Z22, Z20, Z23
	VSUBPD Z7, Z10, Z11
	VSUBPD Z20, Z23, Z24
	VSUBPD Z11, Z9, Z9                     // rl' = rl - (rh' - rh)
	VSUBPD Z24, Z22, Z22
	VMULPD Z10, Z10, Z3                    // s = rh²
	VMULPD Z23, Z23, Z16
	VMOVAPD Z3, Z4
	VMOVAPD Z16, Z17
	VFMSUB231PD Z10, Z10, Z4               // se = rh·rh - s, fused
	VFMSUB231PD Z23, Z23, Z17
	VMULPD.BCST C_P8(AX), Z10, Z5          // Horner, each step rounded twice
	VMULPD.BCST C_P8(AX), Z23, Z18
	VADDPD.BCST C_P7(AX), Z5, Z5
	VADDPD.BCST C_P7(AX), Z18, Z18
	VMULPD Z10, Z5, Z5
	VMULPD Z23, Z18, Z18
	VADDPD.BCST C_P6(AX), Z5, Z5
	VADDPD.BCST C_P6(AX), Z18, Z18
	VMULPD Z10, Z5, Z5
	VMULPD Z23, Z18, Z18
	VADDPD.BCST C_P5(AX), Z5, Z5
	VADDPD.BCST C_P5(AX), Z18, Z18
	VMULPD Z10, Z5, Z5
	VMULPD Z23, Z18, Z18
	VADDPD.BCST C_P4(AX), Z5, Z5
	VADDPD.BCST C_P4(AX), Z18, Z18
	VMULPD Z10, Z5, Z5
	VMULPD Z23, Z18, Z18
	VADDPD.BCST C_P3(AX), Z5, Z5           // h
	VADDPD.BCST C_P3(AX), Z18, Z18
	VMULPD Z3, Z10, Z6
	VMULPD Z16, Z23, Z19
	VMULPD Z5, Z6, Z6                      // tail = (rh·s)·h
	VMULPD Z18, Z19, Z19
	VMULPD Z9, Z10, Z7
	VMULPD Z22, Z23, Z20
	VADDPD Z7, Z9, Z7                      // rl + rh·rl
	VADDPD Z20, Z22, Z20
	VMULPD Z29, Z4, Z4                     // se/2
	VMULPD Z29, Z17, Z17
	VADDPD Z4, Z7, Z7
	VADDPD Z17, Z20, Z20
	VADDPD Z6, Z7, Z7                      // low
	VADDPD Z19, Z20, Z20
	VADDPD Z10, Z28, Z4                    // a = 1 + rh
	VADDPD Z23, Z28, Z17
	VSUBPD Z28, Z4, Z5                     // bb = a - 1
	VSUBPD Z28, Z17, Z18
	VSUBPD Z5, Z4, Z6
	VSUBPD Z18, Z17, Z19
	VSUBPD Z6, Z28, Z6                     // 1 - (a - bb)
	VSUBPD Z19, Z28, Z19
	VSUBPD Z5, Z10, Z5                     // rh - bb
	VSUBPD Z18, Z23, Z18
	VADDPD Z5, Z6, Z5                      // ae
	VADDPD Z18, Z19, Z18
	VMULPD Z29, Z3, Z3                     // s/2
	VMULPD Z29, Z16, Z16
	VADDPD Z3, Z4, Z6                      // b = a + s/2
	VADDPD Z16, Z17, Z19
	VSUBPD Z4, Z6, Z8                      // bb = b - a
	VSUBPD Z17, Z19, Z21
	VSUBPD Z8, Z6, Z9
	VSUBPD Z21, Z19, Z22
	VSUBPD Z9, Z4, Z9                      // a - (b - bb)
	VSUBPD Z22, Z17, Z22
	VSUBPD Z8, Z3, Z8                      // s/2 - bb
	VSUBPD Z21, Z16, Z21
	VADDPD Z8, Z9, Z9                      // be
	VADDPD Z21, Z22, Z22
	VADDPD Z9, Z5, Z5
	VADDPD Z22, Z18, Z18
	VADDPD Z7, Z5, Z5                      // c = (ae + be) + low
	VADDPD Z20, Z18, Z18
	VADDPD Z5, Z6, Z7                      // eh = b + c
	VADDPD Z18, Z19, Z20
	VSUBPD Z6, Z7, Z8
	VSUBPD Z19, Z20, Z21
	VSUBPD Z8, Z5, Z8                      // el = c - (eh - b)
	VSUBPD Z21, Z18, Z21
	VPANDQ.BCST C_63(AX), Z1, Z9           // j = k & 63
	VPANDQ.BCST C_63(AX), Z14, Z22
	KXNORW K1, K1, K1
	KXNORW K6, K6, K6
	VGATHERQPD (R10)(Z9*8), K1, Z10        // th
	VGATHERQPD (R10)(Z22*8), K6, Z23
	KXNORW K2, K2, K2
	KXNORW K7, K7, K7
	VGATHERQPD (R11)(Z9*8), K2, Z11        // tl
	VGATHERQPD (R11)(Z22*8), K7, Z24
	VMULPD Z7, Z10, Z12                    // hi = th·eh
	VMULPD Z20, Z23, Z25
	VMOVAPD Z12, Z6
	VMOVAPD Z25, Z19
	VFMSUB231PD Z7, Z10, Z6                // th·eh - hi, fused
	VFMSUB231PD Z20, Z23, Z19
	VMULPD Z8, Z10, Z8
	VMULPD Z21, Z23, Z21
	VADDPD Z8, Z6, Z6                      // + th·el
	VADDPD Z21, Z19, Z19
	VMULPD Z7, Z11, Z7
	VMULPD Z20, Z24, Z20
	VADDPD Z7, Z6, Z6                      // lo = ... + tl·eh
	VADDPD Z20, Z19, Z19
	VADDPD Z6, Z12, Z12                    // hi + lo
	VADDPD Z19, Z25, Z25
	VPSRAQ $6, Z1, Z1                      // m = (k - j)/64
	VPSRAQ $6, Z14, Z14
	VPADDQ.BCST C_1023(AX), Z1, Z1
	VPADDQ.BCST C_1023(AX), Z14, Z14
	VPSLLQ $52, Z1, Z1                     // 2^m
	VPSLLQ $52, Z14, Z14
	VMULPD Z1, Z12, Z12
	VMULPD Z14, Z25, Z25
	VMOVUPD Z12, (DI)
	VMOVUPD Z25, 64(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	DECQ DX
	JNZ exp512two

exp512one:
	TESTQ $8, CX
	JZ exp512done
	VMULPD (SI), Z26, Z0                   // x = scale·src
	VCMPPD.BCST $0x1e, C_MIN(AX), Z0, K1   // x > -708
	VCMPPD.BCST $0x11, C_MAX(AX), Z0, K2   // x < 709
	KANDW K1, K2, K1
	KANDW K1, K3, K3
	VMULPD.BCST C_INVSTEP(AX), Z0, Z1
	VADDPD Z27, Z1, Z1                     // x·64/ln2 + shifter
	VSUBPD Z27, Z1, Z2                     // kf
	VPSUBQ Z27, Z1, Z1                     // k
	VMULPD.BCST C_LN2HI(AX), Z2, Z3
	VSUBPD Z3, Z0, Z3                      // r0 = x - kf·hi
	VMULPD Z30, Z2, Z4                     // p = kf·mid
	VMOVAPD Z4, Z5
	VFMSUB231PD Z30, Z2, Z5                // pe = kf·mid - p, fused
	VPXORQ Z31, Z4, Z6                     // -p
	VADDPD Z6, Z3, Z7                      // rh = r0 + -p
	VSUBPD Z3, Z7, Z8                      // bb = rh - r0
	VSUBPD Z8, Z7, Z9
	VSUBPD Z9, Z3, Z9                      // r0 - (rh - bb)
	VSUBPD Z8, Z6, Z10                     // -p - bb
	VADDPD Z10, Z9, Z9                     // rl
	VSUBPD Z5, Z9, Z9                      // rl -= pe
	VMULPD.BCST C_LN2LO(AX), Z2, Z10
	VSUBPD Z10, Z9, Z9                     // rl -= kf·lo
	VADDPD Z9, Z7, Z10                     // rh' = rh + rl
	VSUBPD Z7, Z10, Z11
	VSUBPD Z11, Z9, Z9                     // rl' = rl - (rh' - rh)
	VMULPD Z10, Z10, Z3                    // s = rh²
	VMOVAPD Z3, Z4
	VFMSUB231PD Z10, Z10, Z4               // se = rh·rh - s, fused
	VMULPD.BCST C_P8(AX), Z10, Z5          // Horner, each step rounded twice
	VADDPD.BCST C_P7(AX), Z5, Z5
	VMULPD Z10, Z5, Z5
	VADDPD.BCST C_P6(AX), Z5, Z5
	VMULPD Z10, Z5, Z5
	VADDPD.BCST C_P5(AX), Z5, Z5
	VMULPD Z10, Z5, Z5
	VADDPD.BCST C_P4(AX), Z5, Z5
	VMULPD Z10, Z5, Z5
	VADDPD.BCST C_P3(AX), Z5, Z5           // h
	VMULPD Z3, Z10, Z6
	VMULPD Z5, Z6, Z6                      // tail = (rh·s)·h
	VMULPD Z9, Z10, Z7
	VADDPD Z7, Z9, Z7                      // rl + rh·rl
	VMULPD Z29, Z4, Z4                     // se/2
	VADDPD Z4, Z7, Z7
	VADDPD Z6, Z7, Z7                      // low
	VADDPD Z10, Z28, Z4                    // a = 1 + rh
	VSUBPD Z28, Z4, Z5                     // bb = a - 1
	VSUBPD Z5, Z4, Z6
	VSUBPD Z6, Z28, Z6                     // 1 - (a - bb)
	VSUBPD Z5, Z10, Z5                     // rh - bb
	VADDPD Z5, Z6, Z5                      // ae
	VMULPD Z29, Z3, Z3                     // s/2
	VADDPD Z3, Z4, Z6                      // b = a + s/2
	VSUBPD Z4, Z6, Z8                      // bb = b - a
	VSUBPD Z8, Z6, Z9
	VSUBPD Z9, Z4, Z9                      // a - (b - bb)
	VSUBPD Z8, Z3, Z8                      // s/2 - bb
	VADDPD Z8, Z9, Z9                      // be
	VADDPD Z9, Z5, Z5
	VADDPD Z7, Z5, Z5                      // c = (ae + be) + low
	VADDPD Z5, Z6, Z7                      // eh = b + c
	VSUBPD Z6, Z7, Z8
	VSUBPD Z8, Z5, Z8                      // el = c - (eh - b)
	VPANDQ.BCST C_63(AX), Z1, Z9           // j = k & 63
	KXNORW K1, K1, K1
	VGATHERQPD (R10)(Z9*8), K1, Z10        // th
	KXNORW K2, K2, K2
	VGATHERQPD (R11)(Z9*8), K2, Z11        // tl
	VMULPD Z7, Z10, Z12                    // hi = th·eh
	VMOVAPD Z12, Z6
	VFMSUB231PD Z7, Z10, Z6                // th·eh - hi, fused
	VMULPD Z8, Z10, Z8
	VADDPD Z8, Z6, Z6                      // + th·el
	VMULPD Z7, Z11, Z7
	VADDPD Z7, Z6, Z6                      // lo = ... + tl·eh
	VADDPD Z6, Z12, Z12                    // hi + lo
	VPSRAQ $6, Z1, Z1                      // m = (k - j)/64
	VPADDQ.BCST C_1023(AX), Z1, Z1
	VPSLLQ $52, Z1, Z1                     // 2^m
	VMULPD Z1, Z12, Z12
	VMOVUPD Z12, (DI)

exp512done:
	KMOVW K3, AX
	CMPB AX, $0xff
	SETNE ret+32(FP)
	VZEROUPPER
	RET

// The AVX2 exp: 4 lanes, constants as memory operands from svmConsts4 (each
// constant 4 times), the in-range mask ANDed in Y15, k's scale from
// (k + 1023·64) >> 6 (no 64-bit arithmetic shift): floor(k/64) + 1023 for
// every in-range k (k > -65472).

#define C4(off) (4*off)(AX)

// func svmExpAVX2(dst, src *float64, n int, scale float64) bool
TEXT ·svmExpAVX2(SB), NOSPLIT, $0-33
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $2, CX
	VBROADCASTSD scale+24(FP), Y14
	LEAQ ·svmConsts4(SB), AX
	LEAQ ·svmExpHi(SB), R10
	LEAQ ·svmExpLo(SB), R11
	VPCMPEQQ Y15, Y15, Y15

exp256:
	VMULPD (SI), Y14, Y0           // x = scale·src
	VCMPPD $0x1e, C4(C_MIN), Y0, Y1
	VCMPPD $0x11, C4(C_MAX), Y0, Y2
	VANDPD Y2, Y1, Y1
	VANDPD Y1, Y15, Y15
	VMULPD C4(C_INVSTEP), Y0, Y1
	VADDPD C4(C_SHIFTER), Y1, Y1
	VSUBPD C4(C_SHIFTER), Y1, Y2   // kf
	VPSUBQ C4(C_SHIFTER), Y1, Y1   // k
	VMULPD C4(C_LN2HI), Y2, Y3
	VSUBPD Y3, Y0, Y3              // r0
	VMULPD C4(C_LN2MID), Y2, Y4    // p
	VMOVAPD Y4, Y5
	VFMSUB231PD C4(C_LN2MID), Y2, Y5 // pe
	VXORPD C4(C_SIGN), Y4, Y6      // -p
	VADDPD Y6, Y3, Y7              // rh
	VSUBPD Y3, Y7, Y8
	VSUBPD Y8, Y7, Y9
	VSUBPD Y9, Y3, Y9
	VSUBPD Y8, Y6, Y10
	VADDPD Y10, Y9, Y9             // rl
	VSUBPD Y5, Y9, Y9
	VMULPD C4(C_LN2LO), Y2, Y10
	VSUBPD Y10, Y9, Y9
	VADDPD Y9, Y7, Y10             // rh'
	VSUBPD Y7, Y10, Y11
	VSUBPD Y11, Y9, Y9             // rl'
	VMULPD Y10, Y10, Y3            // s
	VMOVAPD Y3, Y4
	VFMSUB231PD Y10, Y10, Y4       // se
	VMULPD C4(C_P8), Y10, Y5
	VADDPD C4(C_P7), Y5, Y5
	VMULPD Y10, Y5, Y5
	VADDPD C4(C_P6), Y5, Y5
	VMULPD Y10, Y5, Y5
	VADDPD C4(C_P5), Y5, Y5
	VMULPD Y10, Y5, Y5
	VADDPD C4(C_P4), Y5, Y5
	VMULPD Y10, Y5, Y5
	VADDPD C4(C_P3), Y5, Y5        // h
	VMULPD Y3, Y10, Y6
	VMULPD Y5, Y6, Y6              // tail
	VMULPD Y9, Y10, Y7
	VADDPD Y7, Y9, Y7
	VMULPD C4(C_HALF), Y4, Y4
	VADDPD Y4, Y7, Y7
	VADDPD Y6, Y7, Y7              // low
	VMOVUPD C4(C_ONE), Y12
	VADDPD Y10, Y12, Y4            // a
	VSUBPD Y12, Y4, Y5             // bb
	VSUBPD Y5, Y4, Y6
	VSUBPD Y6, Y12, Y6
	VSUBPD Y5, Y10, Y5
	VADDPD Y5, Y6, Y5              // ae
	VMULPD C4(C_HALF), Y3, Y3      // s/2
	VADDPD Y3, Y4, Y6              // b
	VSUBPD Y4, Y6, Y8
	VSUBPD Y8, Y6, Y9
	VSUBPD Y9, Y4, Y9
	VSUBPD Y8, Y3, Y8
	VADDPD Y8, Y9, Y9              // be
	VADDPD Y9, Y5, Y5
	VADDPD Y7, Y5, Y5              // c
	VADDPD Y5, Y6, Y7              // eh
	VSUBPD Y6, Y7, Y8
	VSUBPD Y8, Y5, Y8              // el
	VPAND C4(C_63), Y1, Y9         // j
	VPCMPEQQ Y13, Y13, Y13
	VGATHERQPD Y13, (R10)(Y9*8), Y10 // th
	VPCMPEQQ Y13, Y13, Y13
	VGATHERQPD Y13, (R11)(Y9*8), Y11 // tl
	VMULPD Y7, Y10, Y12            // hi
	VMOVAPD Y12, Y6
	VFMSUB231PD Y7, Y10, Y6
	VMULPD Y8, Y10, Y8
	VADDPD Y8, Y6, Y6
	VMULPD Y7, Y11, Y7
	VADDPD Y7, Y6, Y6              // lo
	VADDPD Y6, Y12, Y12
	VPADDQ C4(C_BIAS), Y1, Y1
	VPSRLQ $6, Y1, Y1              // m + 1023
	VPSLLQ $52, Y1, Y1
	VMULPD Y1, Y12, Y12
	VMOVUPD Y12, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ exp256

	VMOVMSKPD Y15, AX
	CMPB AX, $0x0f
	SETNE ret+32(FP)
	VZEROUPPER
	RET

// ---- poly -----------------------------------------------------------------

// func svmPolyAVX512(dst, src *float64, n int, gamma, coef0 float64, degree int)
TEXT ·svmPolyAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	VBROADCASTSD gamma+24(FP), Z31
	VBROADCASTSD coef0+32(FP), Z30
	MOVQ degree+40(FP), DX
	LEAQ ·svmConsts(SB), AX
	VBROADCASTSD C_ONE(AX), Z29

poly512:
	VMULPD (SI), Z31, Z0
	VADDPD Z30, Z0, Z0             // tmp = gamma·d + coef0
	VMOVAPD Z29, Z1                // ret = 1
	MOVQ DX, R9
	TESTQ R9, R9
	JZ poly512store

poly512bit:
	TESTQ $1, R9
	JZ poly512sq
	VMULPD Z0, Z1, Z1              // ret *= tmp

poly512sq:
	VMULPD Z0, Z0, Z0              // tmp *= tmp
	SHRQ $1, R9
	JNZ poly512bit

poly512store:
	VMOVUPD Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ poly512
	VZEROUPPER
	RET

// func svmPolyAVX2(dst, src *float64, n int, gamma, coef0 float64, degree int)
TEXT ·svmPolyAVX2(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $3, CX
	VBROADCASTSD gamma+24(FP), Y15
	VBROADCASTSD coef0+32(FP), Y14
	MOVQ degree+40(FP), DX
	LEAQ ·svmConsts4(SB), AX
	VMOVUPD C4(C_ONE), Y13

poly256:
	VMULPD (SI), Y15, Y0
	VMULPD 32(SI), Y15, Y2
	VADDPD Y14, Y0, Y0
	VADDPD Y14, Y2, Y2
	VMOVAPD Y13, Y1
	VMOVAPD Y13, Y3
	MOVQ DX, R9
	TESTQ R9, R9
	JZ poly256store

poly256bit:
	TESTQ $1, R9
	JZ poly256sq
	VMULPD Y0, Y1, Y1
	VMULPD Y2, Y3, Y3

poly256sq:
	VMULPD Y0, Y0, Y0
	VMULPD Y2, Y2, Y2
	SHRQ $1, R9
	JNZ poly256bit

poly256store:
	VMOVUPD Y1, (DI)
	VMOVUPD Y3, 32(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ poly256
	VZEROUPPER
	RET

// ---- decision sums ------------------------------------------------------

// func svmSums32AVX512(acc, k *float64, ld int, w *float64, n int)
//
// 32 rows in four chains of 8 lanes (Z0-Z3); each step gathers column t of
// the rows (row r at r·ld), multiplies by w[t] and adds, as SVMSums' Go
// loop does per row.
TEXT ·svmSums32AVX512(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ k+8(FP), BX
	MOVQ ld+16(FP), DX
	MOVQ w+24(FP), SI
	MOVQ n+32(FP), CX
	LEAQ ·svmConsts(SB), AX
	VMOVDQU64 C_IOTA(AX), Z8
	VPBROADCASTQ DX, Z16
	VPMULUDQ Z16, Z8, Z8           // row offsets r·ld, r = 0..7 (ld < 2^31)
	SHLQ $3, DX
	VPBROADCASTQ DX, Z17
	VPADDQ Z17, Z8, Z9             // rows 8-15
	VPADDQ Z17, Z9, Z10            // rows 16-23
	VPADDQ Z17, Z10, Z11           // rows 24-31
	VMOVUPD (DI), Z0
	VMOVUPD 64(DI), Z1
	VMOVUPD 128(DI), Z2
	VMOVUPD 192(DI), Z3

sums32:
	KXNORW K1, K1, K1
	VGATHERQPD (BX)(Z8*8), K1, Z12
	KXNORW K2, K2, K2
	VGATHERQPD (BX)(Z9*8), K2, Z13
	KXNORW K3, K3, K3
	VGATHERQPD (BX)(Z10*8), K3, Z14
	KXNORW K4, K4, K4
	VGATHERQPD (BX)(Z11*8), K4, Z15
	VMULPD.BCST (SI), Z12, Z12
	VMULPD.BCST (SI), Z13, Z13
	VMULPD.BCST (SI), Z14, Z14
	VMULPD.BCST (SI), Z15, Z15
	VADDPD Z12, Z0, Z0
	VADDPD Z13, Z1, Z1
	VADDPD Z14, Z2, Z2
	VADDPD Z15, Z3, Z3
	ADDQ $8, BX
	ADDQ $8, SI
	DECQ CX
	JNZ sums32

	VMOVUPD Z0, (DI)
	VMOVUPD Z1, 64(DI)
	VMOVUPD Z2, 128(DI)
	VMOVUPD Z3, 192(DI)
	VZEROUPPER
	RET
