package registry

import (
	"os"
	"strings"
	"testing"
)

// FuzzParseURI: any string parses or is refused with ErrInvalid; what
// parses prints back to a URI that parses to the same parts.
func FuzzParseURI(f *testing.F) {
	b, err := os.ReadFile("../../tests/fuzz/registry-uri/seeds.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		if !ValidName(u.Model) || u.Dir == "" || u.Ref == "" {
			t.Fatalf("%q parsed to %+v", s, u)
		}
		again, err := ParseURI(u.String())
		if err != nil || again != u {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, u, u.String(), again, err)
		}
	})
}
