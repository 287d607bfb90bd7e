package engine

import (
	"slices"
	"testing"

	"github.com/mle-runtime/mle/core/dtype"
	"github.com/mle-runtime/mle/core/errs"
	"github.com/mle-runtime/mle/core/graph"
)

// Every op the graph accepts must run on the CPU for every dtype its schema
// accepts: a schema without a kernel would pass validation at open and fail
// only at the first run.
func TestEverySchemaHasCPUKernels(t *testing.T) {
	for _, op := range graph.Ops() {
		s := graph.Schema(op)
		if len(s.Types) == 0 {
			t.Errorf("schema %s declares no types", op)
		}
		for _, dt := range s.Types {
			if _, ok := LookupKernel(KernelKey{op, CPUBackend, dt}); !ok {
				t.Errorf("no CPU kernel for %s %s", op, dt)
			}
		}
	}
}

// And no kernel is registered for something no schema accepts.
func TestKernelsMatchSchemas(t *testing.T) {
	for _, k := range RegisteredKernels() {
		s := graph.Schema(k.Op)
		if s == nil {
			t.Errorf("kernel %v has no schema", k)
			continue
		}
		if !slices.Contains(s.Types, k.DType) {
			t.Errorf("kernel %v: schema %s does not accept %s (%v)", k, k.Op, k.DType, s.Types)
		}
	}
}

func TestRegisterRefusesDuplicatesAndGaps(t *testing.T) {
	err := Register(Kernel{Op: "Relu", Backend: CPUBackend, DTypes: []dtype.DType{dtype.Float32}, Compile: Stateless(bindUnary)})
	if errs.CodeOf(err) != errs.Internal {
		t.Fatalf("duplicate registration: got %v", err)
	}
	if err := Register(Kernel{Op: "Relu", Backend: "test"}); errs.CodeOf(err) != errs.Internal {
		t.Fatalf("registration without dtypes: got %v", err)
	}
	if _, ok := LookupKernel(KernelKey{"Relu", "test", dtype.Float32}); ok {
		t.Fatal("a refused registration was kept")
	}
}

// A kernel another package registers for a new backend is found by its key
// and does not disturb the CPU's.
func TestRegisterOtherBackend(t *testing.T) {
	k := Kernel{Op: "Relu", Backend: "test-backend", DTypes: []dtype.DType{dtype.Float64}, Compile: Stateless(bindUnary)}
	if err := Register(k); err != nil {
		t.Fatal(err)
	}
	got, ok := LookupKernel(KernelKey{"Relu", "test-backend", dtype.Float64})
	if !ok || got.Backend != "test-backend" {
		t.Fatalf("lookup: %v %v", got, ok)
	}
	if _, ok := LookupKernel(KernelKey{"Relu", "test-backend", dtype.Float32}); ok {
		t.Fatal("float32 was not registered")
	}
}
