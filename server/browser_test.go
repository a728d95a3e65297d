package server

import (
	"context"
	"encoding/base64"
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

// reweigh maps each weight through f and renormalises every row to sum 1
// (the explorer's value weighting and sink hiding).
func reweigh(w [][]float64, f func(i, j int, x float64) float64) [][]float64 {
	out := make([][]float64, len(w))
	for i, row := range w {
		out[i] = make([]float64, len(row))
		sum := 0.0
		for j, x := range row {
			out[i][j] = f(i, j, x)
			sum += out[i][j]
		}
		for j := range out[i] {
			if sum > 0 {
				out[i][j] /= sum
			}
		}
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
	root, err := fixtures()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []ModelSpec{{"gpt", gptDir}, {"vit", vitDir}, {"bert", filepath.Join(root, "bert")}, {"marian", filepath.Join(root, "marian")}} {
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
	// context: no timeout on that one; the others are bounded (about 30 s
	// on an idle machine; the bound is for a loaded one).
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browser, chromedp.Navigate("about:blank")) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("starting %s: %v", exe, err)
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("%s did not start within 3 minutes", exe)
	}
	ctx, cancel := context.WithTimeout(browser, 4*time.Minute)
	defer cancel()
	do := func(what string, acts ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, acts...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
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
	type attention struct {
		Tokens     []string
		Weights    [][][][]float64
		ValueNorms [][][]float64 `json:"value_norms"`
	}
	attend := func(modelName, text string, layer int) attention {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"model": modelName, "text": text, "layers": []int{layer}, "value_norms": true})
		code, b := post(t, ts.URL+"/api/attention", string(body))
		if code != 200 {
			t.Fatalf("/api/attention: %d %s", code, b)
		}
		var r attention
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	weights := func(text string, layer int) ([]string, [][][]float64) {
		t.Helper()
		r := attend("gpt", text, layer)
		return r.Tokens, r.Weights[0]
	}
	// drawn waits until the head view shows the lines want, and returns
	// what it last saw.
	drawn := func(want []string) []string {
		t.Helper()
		var got []string
		deadline := time.Now().Add(30 * time.Second)
		for {
			eval(`Array.from(document.querySelectorAll('#head-svg-0 line.attn'), l => l.dataset.q + '-' + l.dataset.k)`, &got)
			slices.Sort(got)
			if slices.Equal(got, want) || time.Now().After(deadline) {
				return got
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	noError := func(where string) {
		t.Helper()
		var status string
		eval(`document.getElementById('status').textContent`, &status)
		if status != "" {
			t.Errorf("%s: status line %q", where, status)
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
	do("download the head view", chromedp.Click(chromedp.CSS(`[data-dl="svg"]`)), chromedp.Click(chromedp.CSS(`[data-dl="png"]`)), chromedp.Click(chromedp.CSS(`[data-dl="json"]`)))
	time.Sleep(500 * time.Millisecond) // the PNG is drawn asynchronously
	noError("downloads")

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
	noError("generate")
	open := func(query string) {
		t.Helper()
		do("open "+short(query), chromedp.Navigate(ts.URL+"/?"+query))
	}

	// Value-weighted attention: α_ij·‖v_j‖, each row renormalised.
	open("model=gpt&layer=2&head=3&mode=value&text=" + url.QueryEscape(text))
	a := attend("gpt", text, 2)
	wantValue := expectedPairs(reweigh(a.Weights[0][3], func(_, j int, x float64) float64 { return x * a.ValueNorms[0][3][j] }), mass, -1)
	if got := drawn(wantValue); !slices.Equal(got, wantValue) {
		t.Fatalf("value-weighted: lines %v, want %v", got, wantValue)
	}
	// Hiding BERT's [CLS] and [SEP] renormalises the rest.
	open("model=bert&layer=0&head=1&hide=1&text=the+river+bank")
	a = attend("bert", "the river bank", 0)
	sink := func(j int) bool { return a.Tokens[j] == "[CLS]" || a.Tokens[j] == "[SEP]" }
	wantHidden := expectedPairs(reweigh(a.Weights[0][1], func(_, j int, x float64) float64 {
		if sink(j) {
			return 0
		}
		return x
	}), mass, -1)
	if got := drawn(wantHidden); !slices.Equal(got, wantHidden) {
		t.Fatalf("sinks hidden: lines %v, want %v (tokens %v)", got, wantHidden, a.Tokens)
	}
	for _, p := range wantHidden {
		var q, k int
		fmt.Sscanf(p, "%d-%d", &q, &k)
		if sink(k) {
			t.Fatalf("sinks hidden: a line %s to %s", p, a.Tokens[k])
		}
	}

	// Heads switched off: Generate shows the intact model's bars beside.
	open("model=gpt&view=gen&off=4.0,4.1&text=" + url.QueryEscape(text))
	poll("the ablated and intact bars", `document.querySelectorAll('#gen-bars .bar.base').length >= 10`)
	noError("heads off")
	shot("generate-heads-off")

	// Two prompts side by side.
	open("model=gpt&text=Dog+bites+man&b=Man+bites+dog&layer=1&head=3")
	poll("the second panel", `document.querySelectorAll('#head-svg-1 line.attn').length > 0`)
	shot("compare")

	// The contextual embedding of "bank" in two sentences, layer by layer.
	open("model=bert&view=embed&text=the+river+bank&b=the+investment+bank&word=bank")
	poll("the similarity bars", `document.querySelectorAll('#embed-svg rect').length === 2`)
	noError("embeddings")
	shot("embed")

	// Cross-attention of a translation model: target tokens over source tokens.
	open("model=marian&text=Tom+nage.&target=Tom+swims")
	poll("the cross-attention lines", `document.querySelectorAll('#head-svg-0 line.attn').length > 0 && document.getElementById('stack').value === 'cross'`)
	noError("cross-attention")
	shot("cross")

	// ViT: an image dropped in, the [CLS] attention over its patches.
	png := filepath.Join(t.TempDir(), "in.png")
	data, _ := base64.StdEncoding.DecodeString(pngBase64(32))
	if err := os.WriteFile(png, data, 0o644); err != nil {
		t.Fatal(err)
	}
	open("model=vit&view=image&mode=rollout")
	do("upload an image", chromedp.WaitVisible(chromedp.ID("image-file")), chromedp.SetUploadFiles(chromedp.ID("image-file"), []string{png}))
	poll("the overlay", `!!document.getElementById('image-overlay')`)
	noError("image")
	shot("image")

	// 512 tokens: one layer fetched, lines only for the focused token.
	long := strings.Repeat("a ", 511) + "a"
	start := time.Now()
	open("model=gpt&layer=2&head=1&text=" + url.QueryEscape(long))
	poll("the head view of 512 tokens", `document.querySelectorAll('#head-svg-0 text.q').length === 512`)
	first := time.Since(start)
	_, wl := weights(long, 2)
	want512 := expectedPairs(wl[1], mass, 300)
	// Timed in the page: from the click to the redrawn lines.
	ms, err := chromedp.Run(ctx, chromedp.Evaluate[float64](fmt.Sprintf(`new Promise((done) => {
		const t0 = performance.now();
		document.querySelector('#head-svg-0 text.q[data-i="300"]').dispatchEvent(new MouseEvent('click', { bubbles: true }));
		const check = () => document.querySelectorAll('#head-svg-0 line.attn').length === %d && document.querySelector('#head-svg-0 text.q[data-i="300"]').classList.contains('focus')
			? done(performance.now() - t0) : requestAnimationFrame(check);
		check();
	})`, len(want512)), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("focus token 300: %v", err)
	}
	if got := drawn(want512); !slices.Equal(got, want512) {
		t.Fatalf("512 tokens, token 300 focused: %d lines, want %d", len(got), len(want512))
	}
	t.Logf("512 tokens: head view in %v (navigation included), the focused token's %d lines %.0f ms after the click", first.Round(time.Millisecond), len(want512), ms)
	noError("512 tokens")
	t.Logf("screenshots in %s", shots)
}
