// Command cmd writes capi/status_names.h; run it from the repository root.
package main

import (
	"fmt"
	"os"

	"github.com/mle-runtime/mle/capi/internal/statusgen"
)

func main() {
	if err := os.WriteFile("capi/status_names.h", []byte(statusgen.Render()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
