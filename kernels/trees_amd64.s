//go:build amd64 && !purego

#include "textflag.h"

// treeWalk64 takes 64 walks through trees of plain nodes (see
// trees_amd64.go) in 8 groups of 8, a group's node indices in the 32-bit
// lanes of one YMM register: a step is three gathers per group (the node's
// column and child, its threshold, the value read) and the groups' gathers
// overlap. Walk k reads column j at p[j*n+lanes[k]].
//
// Frame: idx+0 depth+8 nodes+16 p+24 n+32 lanes+40

// One step of the group whose indices are in I and whose lanes are at
// OFF(BX). T1..T6 are scratch. Nodes are 16 bytes: Thr at 0, Feat at 8,
// Kid at 12; lanes index them as 2*idx with scale 8. DI keeps the AND of
// the groups' "did not move" masks.
#define STEP(I, OFF, T1, T2, T3, T4, T5, T6) \
	VPSLLD $1, I, T1; \
	KXNORW K1, K1, K1; \
	VPXORQ T2, T2, T2; \
	VPGATHERDQ 8(AX)(T1*8), K1, T2; \
	KXNORW K2, K2, K2; \
	VPXORQ T3, T3, T3; \
	VGATHERDPD (AX)(T1*8), K2, T3; \
	VPMOVQD T2, T4; \
	VPSRLQ $32, T2, T2; \
	VPMOVQD T2, T5; \
	VPMULLD T4, Y29, T4; \
	VPADDD OFF(BX), T4, T4; \
	KXNORW K3, K3, K3; \
	VPXORQ T6, T6, T6; \
	VGATHERDPD (R8)(T4*8), K3, T6; \
	VCMPPD $0x1e, T3, T6, K4; \
	VPADDD Y31, T5, K4, T5; \
	VPCMPEQD T5, I, K5; \
	KMOVW K5, SI; \
	ANDL SI, DI; \
	VMOVDQA32 T5, I

// func treeWalk64(idx *int32, depth int, nodes, p unsafe.Pointer, n int, lanes *int32)
TEXT ·treeWalk64(SB), NOSPLIT, $0-48
	MOVQ idx+0(FP), DX
	VMOVDQU32 0(DX), Y0
	VMOVDQU32 32(DX), Y1
	VMOVDQU32 64(DX), Y2
	VMOVDQU32 96(DX), Y3
	VMOVDQU32 128(DX), Y4
	VMOVDQU32 160(DX), Y5
	VMOVDQU32 192(DX), Y6
	VMOVDQU32 224(DX), Y7
	MOVQ depth+8(FP), CX
	MOVQ nodes+16(FP), AX
	MOVQ p+24(FP), R8
	MOVQ n+32(FP), SI
	VPBROADCASTD SI, Y29
	MOVQ lanes+40(FP), BX
	MOVL $1, SI
	VPBROADCASTD SI, Y31
	TESTQ CX, CX
	JLE done

loop:
	MOVL $0xff, DI
	STEP(Y0, 0, Y11, Z12, Z13, Y14, Y15, Z16)
	STEP(Y1, 32, Y17, Z18, Z19, Y20, Y21, Z22)
	STEP(Y2, 64, Y23, Z24, Z25, Y26, Y27, Z28)
	STEP(Y3, 96, Y11, Z12, Z13, Y14, Y15, Z16)
	STEP(Y4, 128, Y17, Z18, Z19, Y20, Y21, Z22)
	STEP(Y5, 160, Y23, Z24, Z25, Y26, Y27, Z28)
	STEP(Y6, 192, Y11, Z12, Z13, Y14, Y15, Z16)
	STEP(Y7, 224, Y17, Z18, Z19, Y20, Y21, Z22)
	CMPL DI, $0xff
	JEQ done
	DECQ CX
	JNZ loop

done:
	VMOVDQU32 Y0, 0(DX)
	VMOVDQU32 Y1, 32(DX)
	VMOVDQU32 Y2, 64(DX)
	VMOVDQU32 Y3, 96(DX)
	VMOVDQU32 Y4, 128(DX)
	VMOVDQU32 Y5, 160(DX)
	VMOVDQU32 Y6, 192(DX)
	VMOVDQU32 Y7, 224(DX)
	VZEROUPPER
	RET
