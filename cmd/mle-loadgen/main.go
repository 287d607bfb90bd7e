// Command mle-loadgen drives an HTTP inference endpoint with a fixed number
// of requests from a fixed number of concurrent clients, and prints
// requests/s and latency percentiles as JSON. It is bounded on purpose: it
// only talks to loopback addresses, stops after -requests or -duration,
// whichever comes first, and sends one prepared body again and again.
//
//	mle-loadgen -url http://127.0.0.1:8000/v2/models/m/infer -body req.json -c 8 -requests 5000
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Report is what one run prints.
type Report struct {
	URL         string         `json:"url"`
	Concurrency int            `json:"concurrency"`
	Requests    int64          `json:"requests"`
	Errors      int64          `json:"errors"`
	Statuses    map[string]int `json:"statuses"`
	Seconds     float64        `json:"seconds"`
	RPS         float64        `json:"rps"`
	P50ms       float64        `json:"p50_ms"`
	P90ms       float64        `json:"p90_ms"`
	P99ms       float64        `json:"p99_ms"`
	MaxMs       float64        `json:"max_ms"`
	FirstError  string         `json:"first_error,omitempty"`
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "mle-loadgen:", err)
		os.Exit(2)
	}
}

func run(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("mle-loadgen", flag.ContinueOnError)
	target := fs.String("url", "", "endpoint to POST to (loopback addresses only)")
	bodyPath := fs.String("body", "", "file holding the request body")
	headerLen := fs.Int("header-length", -1, "send Inference-Header-Content-Length (binary tensor requests)")
	conc := fs.Int("c", 1, "concurrent clients (1 to 1024)")
	requests := fs.Int64("requests", 1000, "requests to send in all (1 to 10,000,000)")
	duration := fs.Duration("duration", time.Minute, "stop sending after this long (at most 10m)")
	warmup := fs.Int("warmup", 50, "requests sent first and not counted")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *conc < 1 || *conc > 1024 || *requests < 1 || *requests > 1e7 || *duration <= 0 || *duration > 10*time.Minute {
		return errors.New("want -c 1..1024, -requests 1..10000000 and -duration up to 10m")
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("-url %q: want an http(s) URL", *target)
	}
	if !loopback(u.Hostname()) {
		return fmt.Errorf("-url %q: only loopback addresses may be loaded", *target)
	}
	body, err := os.ReadFile(*bodyPath)
	if err != nil {
		return err
	}
	tr := &http.Transport{MaxIdleConns: *conc, MaxIdleConnsPerHost: *conc, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 60 * time.Second}
	send := func() (int, error) {
		req, err := http.NewRequest("POST", *target, bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("Content-Type", "application/json")
		if *headerLen >= 0 {
			req.Header.Set("Inference-Header-Content-Length", strconv.Itoa(*headerLen))
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	for i := 0; i < *warmup; i++ {
		if st, err := send(); err != nil || st != 200 {
			return fmt.Errorf("warm-up request failed: status %d, %v", st, err)
		}
	}
	var next atomic.Int64
	lat := make([][]time.Duration, *conc)
	statuses := make([]map[string]int, *conc)
	var errCount atomic.Int64
	var firstErr atomic.Value
	stopAt := time.Now().Add(*duration)
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < *conc; c++ {
		statuses[c] = map[string]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= *requests && time.Now().Before(stopAt) {
				t0 := time.Now()
				st, err := send()
				lat[c] = append(lat[c], time.Since(t0))
				key := strconv.Itoa(st)
				if err != nil {
					key = "transport"
					firstErr.CompareAndSwap(nil, err.Error())
				}
				statuses[c][key]++
				if st != 200 {
					errCount.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	var all []time.Duration
	rep := Report{URL: *target, Concurrency: *conc, Statuses: map[string]int{}, Seconds: secs, Errors: errCount.Load()}
	for c := range lat {
		all = append(all, lat[c]...)
		for k, v := range statuses[c] {
			rep.Statuses[k] += v
		}
	}
	slices.Sort(all)
	rep.Requests = int64(len(all))
	if len(all) > 0 {
		q := func(p float64) float64 { return float64(all[min(len(all)-1, int(p*float64(len(all))))]) / 1e6 }
		rep.RPS = float64(len(all)) / secs
		rep.P50ms, rep.P90ms, rep.P99ms, rep.MaxMs = q(0.50), q(0.90), q(0.99), float64(all[len(all)-1])/1e6
	}
	if e, ok := firstErr.Load().(string); ok {
		rep.FirstError = e
	}
	enc := json.NewEncoder(w)
	return enc.Encode(rep)
}

// loopback reports whether host names this machine: localhost or a
// loopback IP.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
