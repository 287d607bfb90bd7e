package par

import (
	"sync/atomic"
	"testing"

	"github.com/mle-runtime/mle/core/errs"
)

func TestForRunsEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 1000} {
		seen := make([]atomic.Int32, n)
		if err := For(n, func(i int) error { seen[i].Add(1); return nil }); err != nil {
			t.Fatal(err)
		}
		for i := range seen {
			if c := seen[i].Load(); c != 1 {
				t.Fatalf("n=%d: index %d ran %d times", n, i, c)
			}
		}
	}
}

func TestForReturnsLowestFailure(t *testing.T) {
	for range 50 {
		err := For(100, func(i int) error {
			if i == 30 || i == 60 {
				return errs.New(errs.InvalidValue, "%d", i)
			}
			return nil
		})
		if errs.Message(err) != "30" {
			t.Fatalf("got %v, want index 30's error", err)
		}
	}
}

func TestForTurnsPanicsIntoErrors(t *testing.T) {
	err := For(4, func(i int) error {
		if i == 2 {
			panic("boom")
		}
		return nil
	})
	if errs.CodeOf(err) != errs.Internal {
		t.Fatalf("got %v", err)
	}
}
