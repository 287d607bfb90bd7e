package vmath

// Row statistics and the affine map of normalization layers. Sums are
// float64 and split into sumLanes partial sums — element i goes into sum
// i%sumLanes, in order of i — that are then added pairwise, halving: sum j
// += sum j+16 for j < 16, then j += j+8 for j < 8, and so on down to one.
// One fixed order, so the same bits on every machine; each vector lane of
// the assembly is one of the partial sums (a single running sum would be
// a chain of dependent adds, 4 cycles an element), and the halving adds
// are 5 dependent steps where adding the 32 in order took 31.

// sumLanes is the number of partial sums.
const sumLanes = 32

type float interface{ ~float32 | ~float64 }

// Sum64 returns Σ x[i] in float64, in the order above.
func Sum64(x []float64) float64 { return sum64(active, x) }

// Sum32 returns Σ x[i] in float64 (each element widened exactly), in
// Sum64's order.
func Sum32(x []float32) float64 { return sum32(active, x) }

// SumSqDev64 returns Σ (x[i]−c)² in float64, each square rounded before
// it is added (never fused), in Sum64's order.
func SumSqDev64(x []float64, c float64) float64 { return sumSqDev64(active, x, c) }

// SumSqDev32 is SumSqDev64 for float32 elements, widened exactly.
func SumSqDev32(x []float32, c float64) float64 { return sumSqDev32(active, x, c) }

// Affine64 sets y[i] = ((x[i]−mu)·inv)·scale[i] + bias[i], each operation
// rounded in float64 (no fused multiply-add); bias nil adds nothing.
// scale and bias (when set) must be as long as x, y at least as long; y
// may be x.
func Affine64(y, x, scale, bias []float64, mu, inv float64) {
	affine64(active, y, x, scale, bias, mu, inv)
}

// Affine32 is Affine64 for float32: computed in float64 on the widened
// elements and rounded once to float32.
func Affine32(y, x, scale, bias []float32, mu, inv float64) {
	affine32(active, y, x, scale, bias, mu, inv)
}

func sum64(im impl, x []float64) float64 {
	var acc [sumLanes]float64
	n := 0
	if im != implGo {
		n = asmSum64(im, x, &acc)
	}
	return addLanes(sumTail(&acc, x, n))
}

func sum32(im impl, x []float32) float64 {
	var acc [sumLanes]float64
	n := 0
	if im != implGo {
		n = asmSum32(im, x, &acc)
	}
	return addLanes(sumTail(&acc, x, n))
}

func sumSqDev64(im impl, x []float64, c float64) float64 {
	var acc [sumLanes]float64
	n := 0
	if im != implGo {
		n = asmSumSqDev64(im, x, c, &acc)
	}
	return addLanes(sqDevTail(&acc, x, c, n))
}

func sumSqDev32(im impl, x []float32, c float64) float64 {
	var acc [sumLanes]float64
	n := 0
	if im != implGo {
		n = asmSumSqDev32(im, x, c, &acc)
	}
	return addLanes(sqDevTail(&acc, x, c, n))
}

func affine64(im impl, y, x, scale, bias []float64, mu, inv float64) {
	y, scale = y[:len(x)], scale[:len(x)]
	if bias != nil {
		bias = bias[:len(x)]
	}
	n := 0
	if im != implGo {
		n = asmAffine64(im, y, x, scale, bias, mu, inv)
	}
	affineTail(y, x, scale, bias, mu, inv, n)
}

func affine32(im impl, y, x, scale, bias []float32, mu, inv float64) {
	y, scale = y[:len(x)], scale[:len(x)]
	if bias != nil {
		bias = bias[:len(x)]
	}
	n := 0
	if im != implGo {
		n = asmAffine32(im, y, x, scale, bias, mu, inv)
	}
	affineTail(y, x, scale, bias, mu, inv, n)
}

// sumTail adds x[from:] into the partial sums (from is a multiple of
// sumLanes) and returns acc.
func sumTail[T float](acc *[sumLanes]float64, x []T, from int) *[sumLanes]float64 {
	for i := from; i < len(x); i++ {
		acc[i%sumLanes] += float64(x[i])
	}
	return acc
}

func sqDevTail[T float](acc *[sumLanes]float64, x []T, c float64, from int) *[sumLanes]float64 {
	for i := from; i < len(x); i++ {
		d := float64(x[i]) - c
		acc[i%sumLanes] += float64(d * d) // rounded: never fused
	}
	return acc
}

func affineTail[T float](y, x, scale, bias []T, mu, inv float64, from int) {
	for i := from; i < len(x); i++ {
		v := float64((float64(x[i]) - mu) * inv)
		v = float64(v * float64(scale[i]))
		if bias != nil {
			v += float64(bias[i])
		}
		y[i] = T(v)
	}
}

func addLanes(acc *[sumLanes]float64) float64 {
	for w := sumLanes / 2; w >= 1; w /= 2 {
		for j := 0; j < w; j++ {
			acc[j] += acc[j+w]
		}
	}
	return acc[0]
}
