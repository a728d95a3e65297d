package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// chromium finds a Chromium to drive: $ATTN_CHROMIUM, else Debian's
// chromium or another Chrome on PATH.
func chromium() (string, error) {
	if p := os.Getenv("ATTN_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium, chromium-browser, google-chrome or headless-shell on PATH (apt-get install chromium, or set ATTN_CHROMIUM)")
}

// massKeys is the head view's rule (web/attn.js): the fewest keys, heaviest
// first (ties: the lower key), whose weights sum to at least mass.
func massKeys(row []float64, mass float64) []int {
	idx := make([]int, len(row))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case row[a] > row[b]:
			return -1
		case row[a] < row[b]:
			return 1
		}
		return a - b
	})
	var out []int
	sum := 0.0
	for _, j := range idx {
		if sum >= mass || row[j] <= 0 {
			break
		}
		out = append(out, j)
		sum += row[j]
	}
	return out
}

// pairs are drawn lines as "q-k", sorted.
func expectedPairs(w [][]float64, mass float64, only int) []string {
	var out []string
	for q, row := range w {
		if only >= 0 && q != only {
			continue
		}
		for _, k := range massKeys(row, mass) {
			out = append(out, fmt.Sprintf("%d-%d", q, k))
		}
	}
	slices.Sort(out)
	return out
}

// TestBrowser drives the explorer in headless Chromium against the
// server on the tiny GPT-2: it types a sentence, checks that the head
// view draws exactly the lines the API's weights give (one per pair in
// each token's top mass), that the keyboard's layer and head changes
// redraw them, that a focused token keeps only its lines, and opens the
// model, step-by-step and generation views, saving a screenshot of each
// under $ATTN_SCREENSHOTS (else the test's temporary directory).
func TestBrowser(t *testing.T) {
	exe, err := chromium()
	if err != nil {
		t.Skipf("skipping the browser test: %v", err)
	}
	s, err := New(Config{Limits: DefaultLimits(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []ModelSpec{{"gpt", gptDir}, {"vit", vitDir}} {
		if err := s.Load(m.Name, m.Dir); err != nil {
			t.Fatal(err)
		}
	}
	s.Ready()
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	shots := os.Getenv("ATTN_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	actx, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1400, 1000), chromedp.Flag("disable-gpu", true))...)
	defer cancel()
	browser, cancel := chromedp.NewContext(actx)
	defer cancel()
	// The first run starts the browser, which lives as long as its
	// context: no timeout on that one; the others are bounded.
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	do := func(what string, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, acts...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			t.Fatalf("%s (waiting for %s): %v", what, expr, err)
		}
	}
	eval := func(expr string, dst any) {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[json.RawMessage](expr))
		if err == nil {
			err = json.Unmarshal(v, dst)
		}
		if err != nil {
			t.Fatalf("evaluating %s: %v", expr, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	weights := func(text string, layer int) ([]string, [][][]float64) {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"model": "gpt", "text": text, "layers": []int{layer}})
		code, b := post(t, ts.URL+"/api/attention", string(body))
		if code != 200 {
			t.Fatalf("/api/attention: %d %s", code, b)
		}
		var r struct {
			Tokens  []string
			Weights [][][][]float64
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r.Tokens, r.Weights[0]
	}
	// drawn waits until the head view shows the lines want, and returns
	// what it last saw.
	drawn := func(want []string) []string {
		t.Helper()
		var got []string
		deadline := time.Now().Add(20 * time.Second)
		for {
			eval(`Array.from(document.querySelectorAll('#head-svg-0 line.attn'), l => l.dataset.q + '-' + l.dataset.k)`, &got)
			slices.Sort(got)
			if slices.Equal(got, want) || time.Now().After(deadline) {
				return got
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	const text = "The dog chased the ball because it was excited"
	const mass = 0.9
	toks, w0 := weights(text, 0)
	do("open the explorer", chromedp.Navigate(ts.URL+"/?model=gpt&text=x"), chromedp.WaitVisible(chromedp.ID("text")))
	var cleared string
	eval(`document.getElementById('text').value = ''`, &cleared)
	do("type a sentence", chromedp.SendKeys(chromedp.ID("text"), text), chromedp.Click(chromedp.ID("go")))
	poll("the head view", fmt.Sprintf(`document.querySelectorAll('#head-svg-0 text.q').length === %d`, len(toks)))
	want := expectedPairs(w0[0], mass, -1)
	if got := drawn(want); !slices.Equal(got, want) {
		t.Fatalf("layer 0 head 0: the head view draws %d lines %v, the API's weights give %d %v", len(got), got, len(want), want)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if u, err := url.Parse(loc); err != nil || u.Query().Get("text") != text {
		t.Errorf("the URL %s does not hold the sentence", loc)
	}
	shot("head-L0H0")

	// Keyboard: ↓↓↓ is layer 3, → → head 2.
	_, w3 := weights(text, 3)
	do("change layer and head with the keyboard", chromedp.Click(chromedp.ID("view")),
		chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.ArrowDown),
		chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight))
	want3 := expectedPairs(w3[2], mass, -1)
	if slices.Equal(want3, want) {
		t.Fatalf("layer 3 head 2 has the lines of layer 0 head 0: the test cannot tell them apart")
	}
	if got := drawn(want3); !slices.Equal(got, want3) {
		t.Fatalf("layer 3 head 2: the head view draws %d lines %v, want %d %v", len(got), got, len(want3), want3)
	}
	var layer, head string
	eval(`document.getElementById('layer').value`, &layer)
	eval(`document.getElementById('head').value`, &head)
	if layer != "3" || head != "2" {
		t.Errorf("selectors show layer %s head %s, want 3 and 2", layer, head)
	}

	// Focus "it": only its lines remain.
	it := slices.Index(toks, "Ġit")
	if it < 0 {
		t.Fatalf("no token Ġit in %v", toks)
	}
	do("click “it”", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#head-svg-0 text.q[data-i="%d"]`, it))))
	wantIt := expectedPairs(w3[2], mass, it)
	if got := drawn(wantIt); !slices.Equal(got, wantIt) {
		t.Fatalf("focused on %q: lines %v, want %v", toks[it], got, wantIt)
	}
	// The mouse leaving the picture must not lose a clicked focus.
	do("move the mouse away", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5))
	if got := drawn(wantIt); !slices.Equal(got, wantIt) {
		t.Fatalf("after the mouse left: lines %v, want %v", got, wantIt)
	}
	shot("head-L3H2-focus-it")

	// The model view: layers × heads thumbnails; a click opens one.
	do("open the model view", chromedp.KeyEvent("2"))
	poll("the model view", `document.querySelectorAll('#model-grid .cell canvas').length === 20`)
	shot("model")
	do("open layer 4 head 1", chromedp.Click(chromedp.CSS(`#model-grid .cell[data-layer="4"][data-head="1"] canvas`)))
	poll("the head view of layer 4 head 1", `document.getElementById('layer').value === '4' && document.getElementById('head').value === '1' && !!document.querySelector('#head-svg-0 line.attn')`)

	// Step by step: the softmax of the real q·kᵀ/√d must be the model's weights.
	var diff string
	do("open the step-by-step view", chromedp.KeyEvent("3"), chromedp.WaitVisible(chromedp.ID("step-row")))
	eval(`document.querySelector('.steps').textContent.match(/differ by at most ([0-9.e+-]+)/)[1]`, &diff)
	var d float64
	if _, err := fmt.Sscan(diff, &d); err != nil || d > 1e-5 {
		t.Errorf("step-by-step softmax differs from the model's weights by %s", diff)
	}
	var rows int
	eval(`document.querySelectorAll('#step-row tr').length`, &rows)
	if rows != len(toks)+1 {
		t.Errorf("the key-by-key table has %d rows, want %d", rows, len(toks)+1)
	}
	shot("step")

	// Generation: the next-token bars.
	do("open the generation view", chromedp.KeyEvent("5"))
	poll("the next-token bars", `document.querySelectorAll('#gen-bars .bar').length >= 10`)
	shot("generate")
	if strings.Contains(loc, "error") {
		t.Errorf("URL %s", loc)
	}
	var status string
	eval(`document.getElementById('status').textContent`, &status)
	if status != "" {
		t.Errorf("status line: %q", status)
	}
	t.Logf("screenshots in %s", shots)
}
