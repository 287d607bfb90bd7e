//go:build !amd64 || purego

package vmath

func best() impl { return implGo }

// Without assembly every kernel runs in Go (apply64 and friends never call
// these with another implementation).

func asm64(impl, fn, []float64, []float64) int { return 0 }

func asm32(impl, fn, []float32, []float32) int { return 0 }

func asmExpSub64(impl, []float64, []float64, float64, *[8]float64) int { return 0 }

func asmExpSub32(impl, []float32, []float32, float64, *[8]float64) int { return 0 }

func asmRelu64(impl, []float64, []float64) int { return 0 }

func asmRelu32(impl, []float32, []float32) int { return 0 }

func asmSum64(impl, []float64, *[sumLanes]float64) int { return 0 }

func asmSum32(impl, []float32, *[sumLanes]float64) int { return 0 }

func asmSumSqDev64(impl, []float64, float64, *[sumLanes]float64) int { return 0 }

func asmSumSqDev32(impl, []float32, float64, *[sumLanes]float64) int { return 0 }

func asmAffine64(impl, []float64, []float64, []float64, []float64, float64, float64) int { return 0 }

func asmAffine32(impl, []float32, []float32, []float32, []float32, float64, float64) int { return 0 }
