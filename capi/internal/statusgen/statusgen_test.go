package statusgen

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/mle-runtime/mle/core/errs"
)

// The committed table must be what the generator renders now.
func TestTableUpToDate(t *testing.T) {
	got, err := os.ReadFile("../../status_names.h")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != Render() {
		t.Fatal("capi/status_names.h is stale: run `go run ./capi/internal/statusgen/cmd` from the repository root")
	}
}

// include/mle.h is hand-kept; every code it defines must equal core/errs,
// and every code core/errs knows must be in it.
func TestHeaderMatchesErrs(t *testing.T) {
	h, err := os.ReadFile("../../../include/mle.h")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^#define (MLE_(?:OK|ERR_[A-Z0-9_]+))\s+(\d+)u`)
	inHeader := map[string]uint64{}
	for _, m := range re.FindAllStringSubmatch(string(h), -1) {
		v, _ := strconv.ParseUint(m[2], 10, 32)
		inHeader[m[1]] = v
	}
	known := map[string]uint64{}
	for _, c := range errs.AllCodes() {
		known[c.String()] = uint64(c)
	}
	for name, v := range known {
		if hv, ok := inHeader[name]; !ok {
			t.Errorf("include/mle.h lacks %s (%d)", name, v)
		} else if hv != v {
			t.Errorf("include/mle.h: %s = %d, core/errs says %d", name, hv, v)
		}
	}
	for name := range inHeader {
		if _, ok := known[name]; !ok {
			t.Errorf("include/mle.h defines %s, which core/errs does not know", name)
		}
	}
}
