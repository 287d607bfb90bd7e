package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/mle-runtime/mle/core/codec"
	"github.com/mle-runtime/mle/core/format"
)

// encodingFlag is --compress or --quantize: a codec name, or Keep when
// absent.
type encodingFlag struct {
	id    codec.ID
	allow func(codec.ID) bool
	names string
}

func (e *encodingFlag) String() string {
	if e.id == format.Keep {
		return "keep"
	}
	return e.id.String()
}

func (e *encodingFlag) Set(s string) error {
	id, ok := codec.ParseID(strings.ToLower(s))
	if !ok || (id != codec.Raw && !e.allow(id)) {
		return fmt.Errorf("%q is not one of %s", s, e.names)
	}
	e.id = id
	return nil
}

// weightStats sums a file's tensor sizes and counts its encodings.
type weightStats struct {
	Stored    int64          `json:"stored_bytes"`
	Raw       int64          `json:"raw_bytes"`
	Encodings map[string]int `json:"encodings"`
}

func statsOf(f *format.File) weightStats {
	s := weightStats{Encodings: map[string]int{}}
	for _, t := range f.Tensors {
		s.Stored += int64(t.StoredLen)
		s.Raw += int64(t.RawLen)
		s.Encodings[t.Encoding.String()]++
	}
	return s
}

func (s weightStats) String() string {
	names := make([]string, 0, len(s.Encodings))
	for k := range s.Encodings {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%d %s", s.Encodings[n], n)
	}
	return fmt.Sprintf("%s stored (%s raw; %s)", human(s.Stored), human(s.Raw), strings.Join(parts, ", "))
}

func cmdConvert(args []string, w, ew io.Writer) (bool, error) {
	fs, asJSON := newFlags("convert", w)
	compress := &encodingFlag{id: format.Keep, allow: codec.ID.Compressed, names: "zstd, lz4, brotli, none"}
	quantize := &encodingFlag{id: format.Keep, allow: codec.ID.Quantized, names: "fp16, bf16, int8, none"}
	fs.Var(compress, "compress", "compress the weights: zstd, lz4, brotli or none (default: as IN)")
	fs.Var(quantize, "quantize", "quantize Gemm and MatMul weights: fp16, bf16, int8 or none (default: as IN)")
	level := fs.Int("level", 0, "compression level (0: the codec's default)")
	sec := addSecFlags(fs, false)
	pos, err := parsePositional(fs, args, "IN", "OUT")
	if err != nil {
		return *asJSON, err
	}
	if err := sec.load(); err != nil {
		return *asJSON, err
	}
	in, out := pos[0], pos[1]
	if in, err = resolveFile(in); err != nil {
		return *asJSON, err
	}
	// Verify: a damaged weight must fail here, not be stored anew under a
	// fresh CRC. The policy travels with the file; it does not run here.
	f, err := format.Open(in, sec.open(format.OpenOptions{Verify: true, SkipPolicy: true}))
	if err != nil {
		return *asJSON, err
	}
	before, statsBefore, signers := f.Size(), statsOf(f), signerIDs(f.Signed)
	encrypted := f.Envelope != nil
	if encrypted {
		before = f.Envelope.OuterSize
	}
	opts := format.WriteOptions{Compress: compress.id, Level: *level, Quantize: quantize.id}
	if encrypted {
		// An encrypted model stays encrypted: decrypting is its own step.
		opts.EncryptKey = sec.key
	}
	bar := newProgress(ew, "convert", *asJSON, human)
	opts.Progress = bar.update
	b, rep, err := format.Rewrite(f, opts)
	bar.finish()
	f.Close()
	if err != nil {
		return *asJSON, err
	}
	if !quantize.id.Quantized() {
		rep = nil // kept or removed: nothing was quantized anew
	}
	// Read back what will be written: a self-check, and its statistics.
	g, err := format.Parse(b, sec.open(format.OpenOptions{SkipPolicy: true}))
	if err != nil {
		return *asJSON, err
	}
	statsAfter := statsOf(g)
	g.Close()
	if _, err := format.WriteFile(out, b, false); err != nil {
		return *asJSON, err
	}
	if len(signers) > 0 {
		fmt.Fprintf(ew, "mle convert: warning: %s was signed (key %s); %s is not, since its bytes changed: sign it again with mle sign\n",
			in, strings.Join(signers, ", "), out)
	}
	if *asJSON {
		r := map[string]any{"ok": true, "input": in, "output": out, "bytes_before": before, "bytes_after": len(b),
			"weights_before": statsBefore, "weights_after": statsAfter, "signatures_dropped": signers, "encrypted": encrypted}
		if rep != nil {
			r["quantization"] = map[string]any{"scheme": rep.Scheme.String(), "tensors": rep.Tensors,
				"bytes_before": rep.BytesBefore, "bytes_after": rep.BytesAfter, "max_abs_weight_error": rep.MaxAbsWeight}
		}
		writeJSON(w, r)
		return true, nil
	}
	fmt.Fprintf(w, "%s -> %s\n", in, out)
	fmt.Fprintf(w, "  file:      %s -> %s (%.1f%%)\n", human(before), human(int64(len(b))), 100*float64(len(b))/float64(max(before, 1)))
	fmt.Fprintf(w, "  weights:   %s\n          -> %s\n", statsBefore, statsAfter)
	if rep != nil {
		if rep.Tensors == 0 {
			fmt.Fprintf(w, "  quantized: no tensor to %s (only float weights of Gemm and MatMul are quantized)\n", rep.Scheme)
		} else {
			fmt.Fprintf(w, "  quantized: %d tensors to %s, %s -> %s, max abs weight error %.6g\n",
				rep.Tensors, rep.Scheme, human(rep.BytesBefore), human(rep.BytesAfter), rep.MaxAbsWeight)
		}
	}
	if encrypted {
		fmt.Fprintln(w, "  encrypted again with the same key (AES-256-GCM)")
	}
	return false, nil
}
