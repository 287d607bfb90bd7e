// Command gen writes MLE's cross-language conformance suite: models that
// cover every op and dtype, dynamic batch sizes and several inputs and
// outputs, their inputs and expected outputs as .npy files, malformed files
// with the status each must produce, and manifest.json tying them together.
// Every binding's test reads the manifest; the expected outputs come from the
// same engine, so bindings must reproduce them byte for byte.
//
//	go run ./tests/conformance/gen            # writes build/conformance (make conformance)
//	go run ./tests/conformance/gen -out DIR
//
// The output is deterministic. Bindings find it through MLE_CONFORMANCE_DIR
// (default: build/conformance in the repository).
package main

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("out", "build/conformance", "directory to write the suite into")
	flag.Parse()
	if err := writeSuite(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
