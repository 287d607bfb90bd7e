package main

// kernels lists the generated micro-kernels; gemm_micro_amd64.go wraps
// them. All prefetch their C tile: with the A sliver held in L1 and the
// tile last touched a whole B block ago, its lines come from L2 or L3
// (2048³ f32 ran 2-10% faster than without; spreading the prefetches over
// the first depth steps measured no different).
var kernels = []micro{
	// AVX2: twelve YMM accumulators, two for B, two broadcasts of A.
	{name: "sgemmKernel6x16", mr: 6, nv: 2, unroll: 1, prefetchC: true},
	{name: "dgemmKernel6x8", f64: true, mr: 6, nv: 2, unroll: 1, prefetchC: true},
	// AVX-512: 24 ZMM accumulators, 12 rows of two vectors. Run alone, every
	// shape tried (12×32, 14×32, 8×48, 6×64 f32; 12×16, 14×16, 8×24, 6×32
	// f64) came within the noise of the FMA peak; in the blocked loop, where
	// B streams from L2 past the A sliver held in L1, wider tiles move more B
	// per FMA and 14 rows measured no better. Unrolling the depth loop
	// changed nothing measurable. Prefetching B 8 steps ahead gained 4-7% in
	// f64 (its A sliver fills half of L1, so B has less room to arrive in);
	// in f32 it gained 7% where B streams from L3 (64 rows × 1024×1024
	// layers) and was within the noise on square products.
	{name: "sgemmKernel12x32", zmm: true, mr: 12, nv: 2, unroll: 1, prefetchC: true, prefetchB: 1024},
	{name: "dgemmKernel12x16", f64: true, zmm: true, mr: 12, nv: 2, unroll: 1, prefetchC: true, prefetchB: 1024},
	// The last 1-8 rows of a product (64 = 5·12 + 4): 4 and 8 rows of the
	// 12-wide slivers, so that a 4-row remainder costs a third of a tile
	// rather than a whole one (an 11% saving at 64 rows).
	{name: "sgemmKernel4x32", zmm: true, mr: 4, astride: 12, nv: 2, unroll: 1, prefetchC: true, prefetchB: 1024},
	{name: "sgemmKernel8x32", zmm: true, mr: 8, astride: 12, nv: 2, unroll: 1, prefetchC: true, prefetchB: 1024},
	{name: "dgemmKernel4x16", f64: true, zmm: true, mr: 4, astride: 12, nv: 2, unroll: 1, prefetchC: true, prefetchB: 1024},
	{name: "dgemmKernel8x16", f64: true, zmm: true, mr: 8, astride: 12, nv: 2, unroll: 1, prefetchC: true, prefetchB: 1024},
	// One vector wide, for products at most that narrow (a 10-class head:
	// two vectors would multiply 22 columns of padding for 10 of C).
	{name: "sgemmKernel12x16", zmm: true, mr: 12, nv: 1, unroll: 1, prefetchC: true, prefetchB: 1024},
	{name: "sgemmKernel4x16", zmm: true, mr: 4, astride: 12, nv: 1, unroll: 1, prefetchC: true, prefetchB: 1024},
	{name: "sgemmKernel8x16", zmm: true, mr: 8, astride: 12, nv: 1, unroll: 1, prefetchC: true, prefetchB: 1024},
	{name: "dgemmKernel12x8", f64: true, zmm: true, mr: 12, nv: 1, unroll: 1, prefetchC: true, prefetchB: 1024},
	{name: "dgemmKernel4x8", f64: true, zmm: true, mr: 4, astride: 12, nv: 1, unroll: 1, prefetchC: true, prefetchB: 1024},
	{name: "dgemmKernel8x8", f64: true, zmm: true, mr: 8, astride: 12, nv: 1, unroll: 1, prefetchC: true, prefetchB: 1024},
}
