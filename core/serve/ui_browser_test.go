package serve

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium returns the browser the viewer test drives: $MLE_CHROMIUM, or
// Debian's chromium, which `make browser` installs (make test does).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MLE_CHROMIUM"); p != "" {
		return p
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	t.Fatal("no Chromium: run `make browser` (installs Debian's chromium), or set MLE_CHROMIUM")
	return ""
}

// TestViewerInBrowser loads /ui in a real headless Chromium: the repository
// list, a model page with its graph drawn, its tensor table and the live
// request counts. MLE_UI_SCREENSHOT=FILE keeps a screenshot of the model
// page (docs/img/serve-ui.png is made that way).
func TestViewerInBrowser(t *testing.T) {
	dir := repoWith(t)
	_, hs := newTestServer(t, Options{Repository: dir})
	for i := 0; i < 3; i++ {
		if r := post(t, hs.URL+"/v2/models/linear/infer", `{"inputs":[{"name":"x","shape":[2,3],"datatype":"FP32","data":[1,2,3,4,5,6]}]}`); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
	}
	post(t, hs.URL+"/v2/models/linear/infer", `{"inputs":[]}`) // one bad request, counted

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1280, 1400),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	link := chromedp.CSS(`a[href="#/models/linear/versions/2"]`)
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/ui/"), chromedp.WaitVisible(link)); err != nil {
		t.Fatalf("repository page: %v", err)
	}
	list, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"linear", "echo", "READY", "not selected by the version policy"} {
		if !strings.Contains(list, want) {
			t.Errorf("repository page lacks %q:\n%s", want, list)
		}
	}

	if err := chromedp.Do(ctx, chromedp.Click(link), chromedp.WaitVisible(chromedp.CSS(`#graph svg g.node`))); err != nil {
		t.Fatalf("model page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("stats").textContent.includes("success")`,
		chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("live stats never showed: %v", err)
	}
	nodes, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("#graph svg g.node text.op")].map(e => e.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	stats, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("stats")))
	if err != nil {
		t.Fatal(err)
	}
	page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	// The graph: input x, Gemm, ArgMax, outputs scores and label.
	for _, want := range []string{"x", "Gemm", "ArgMax", "scores", "label"} {
		if !strings.Contains(strings.Join(nodes, " "), want) {
			t.Errorf("graph lacks %q: %v", want, nodes)
		}
	}
	if !strings.Contains(stats, "3\nsuccess") || !strings.Contains(stats, "1\nbad_request") {
		t.Errorf("live stats %q, want 3 successes and 1 bad request", stats)
	}
	for _, want := range []string{"version 2", "W", "float32", "[3, 2]", "24 B", "not signed", "[?, 3]"} {
		if !strings.Contains(page, want) {
			t.Errorf("model page lacks %q", want)
		}
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil || img.Bounds().Dx() < 1000 {
		t.Fatalf("screenshot: %v", err)
	}
	if p := os.Getenv("MLE_UI_SCREENSHOT"); p != "" {
		must(t, os.WriteFile(filepath.Clean(p), shot, 0o644))
	}
}
