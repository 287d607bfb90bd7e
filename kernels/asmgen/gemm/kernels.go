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
	// f64 (its A sliver fills half of L1, so B has less room to arrive in)
	// and nothing clear in f32.
	{name: "sgemmKernel12x32", zmm: true, mr: 12, nv: 2, unroll: 1, prefetchC: true},
	{name: "dgemmKernel12x16", f64: true, zmm: true, mr: 12, nv: 2, unroll: 1, prefetchC: true, prefetchB: 1024},
}
