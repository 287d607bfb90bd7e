package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// progressBar draws one line on stderr for long work ("validate [====>   ]
// 45%  1.2 GiB / 2.6 GiB"), redrawn at most ten times a second. A nil bar
// (stderr not a terminal, or --json) draws nothing, so callers need no
// checks.
type progressBar struct {
	mu     sync.Mutex
	w      io.Writer
	label  string
	format func(int64) string // a count as shown: bytes, runs
	last   time.Time
	drawn  bool
}

// newProgress is a bar on ew when ew is a terminal and the output is not
// JSON; nil otherwise.
func newProgress(ew io.Writer, label string, asJSON bool, format func(int64) string) *progressBar {
	f, ok := ew.(*os.File)
	if asJSON || !ok || !isTerminal(f) {
		return nil
	}
	return &progressBar{w: ew, label: label, format: format}
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// update redraws the bar for done of total; it is safe from several
// goroutines (the format package reports from its workers).
func (p *progressBar) update(done, total int64) {
	if p == nil || total <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.drawn && done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last, p.drawn = now, true
	done = min(max(done, 0), total)
	const width = 30
	fill := int(int64(width) * done / total)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	if fill > 0 && fill < width {
		bar = bar[:fill-1] + ">" + bar[fill:]
	}
	fmt.Fprintf(p.w, "\r\033[K%s [%s] %3d%%  %s / %s", p.label, bar, 100*done/total, p.format(done), p.format(total))
}

// finish clears the bar's line, so that the report that follows starts clean.
func (p *progressBar) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func runsCount(n int64) string { return fmt.Sprintf("%d runs", n) }
