package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
)

const (
	gptDir = "../testdata/generate/tiny-random-gpt2"
	vitDir = "../testdata/models/vit" // 16×16 images, 5 labels
)

// fixtures writes the test checkpoints once: a BERT masked LM (context
// 16) and a Marian model, with real tokenizer files.
var fixtures = sync.OnceValues(func() (string, error) {
	root, err := os.MkdirTemp("", "attn-server-test")
	if err != nil {
		return "", err
	}
	write := func(o model.InitOptions, dir, src string, files ...string) error {
		m, err := model.Init(o)
		if err != nil {
			return err
		}
		if err := model.Save(m, dir); err != nil {
			return err
		}
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(src, f))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	if err := write(model.InitOptions{Arch: "bert", Head: "BertForMaskedLM", Layers: 1, Heads: 2, Hidden: 8, Vocab: 30522, Context: 16},
		filepath.Join(root, "bert"), "../testdata/tokenizer/bert", "vocab.txt"); err != nil {
		return "", err
	}
	if err := write(model.InitOptions{Arch: "marian", Layers: 1, Heads: 2, Hidden: 16, Vocab: 344, Context: 64, Seed: 5},
		filepath.Join(root, "marian"), "../testdata/tokenizer/spm/marian", "source.spm", "target.spm", "vocab.json"); err != nil {
		return "", err
	}
	return root, nil
})

func TestMain(m *testing.M) {
	// The tests' tiny models share decode steps as a large one would
	// (TestLoad measures with the default).
	batchMinParams = 0
	code := m.Run()
	if root, err := fixtures(); err == nil {
		os.RemoveAll(root)
	}
	os.Exit(code)
}

// newTestServer serves gpt, bert and marian with lim.
func newTestServer(t *testing.T, lim Limits, key string) (*Server, *httptest.Server) {
	t.Helper()
	root, err := fixtures()
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Limits: lim, APIKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []ModelSpec{{"gpt", gptDir}, {"bert", filepath.Join(root, "bert")}, {"marian", filepath.Join(root, "marian")}, {"vit", vitDir}} {
		if err := s.Load(m.Name, m.Dir); err != nil {
			t.Fatal(err)
		}
	}
	s.Ready()
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

func post(t *testing.T, url, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestStatuses drives every route with good and bad requests and checks
// the status and the error shape.
func TestStatuses(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxBodyBytes = 4096
	lim.MaxInputTokens = 200
	_, ts := newTestServer(t, lim, "")
	huge := `{"model":"gpt","prompt":"` + strings.Repeat("x", 5000) + `"}`
	long := `{"model":"gpt","prompt":"` + strings.Repeat("a ", 300) + `"}`
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string // in the body
	}{
		{"health", "GET", "/health", "", 200, `"ok"`},
		{"models", "GET", "/v1/models", "", 200, `"id":"bert"`},
		{"model", "GET", "/v1/models/gpt", "", 200, `"id":"gpt"`},
		{"model unknown", "GET", "/v1/models/nope", "", 404, "model_not_found"},
		{"route unknown", "GET", "/v2/nothing", "", 404, "no route"},
		{"method", "GET", "/v1/completions", "", 405, "takes POST"},
		{"method post on get", "POST", "/v1/models", "{}", 405, "takes GET"},
		{"completion", "POST", "/v1/completions", `{"model":"gpt","prompt":"Hello","max_tokens":3,"temperature":0}`, 200, `"completion_tokens":3`},
		{"completion ids", "POST", "/v1/completions", `{"model":"gpt","prompt":[[1,2],[3]],"max_tokens":2,"n":2,"seed":3}`, 200, `"index":3`},
		{"completion max_completion_tokens", "POST", "/v1/completions", `{"model":"gpt","prompt":"Hi","max_completion_tokens":2,"temperature":0}`, 200, `"completion_tokens":2`},
		{"completion empty prompt", "POST", "/v1/completions", `{"model":"gpt","prompt":"","max_tokens":2}`, 200, `"prompt_tokens":1`},
		{"embeddings empty text", "POST", "/v1/embeddings", `{"model":"gpt","input":""}`, 400, "has no tokens"},
		{"completion unknown model", "POST", "/v1/completions", `{"model":"nope","prompt":"x"}`, 404, "model_not_found"},
		{"completion no model", "POST", "/v1/completions", `{"prompt":"x"}`, 400, `\"model\" is required`},
		{"malformed", "POST", "/v1/completions", `{"model":"gpt",`, 400, "malformed JSON"},
		{"not json", "POST", "/v1/completions", `hello`, 400, "malformed JSON"},
		{"empty body", "POST", "/v1/completions", ``, 400, "empty"},
		{"two values", "POST", "/v1/completions", `{"model":"gpt","prompt":"x"} {}`, 400, "more than one"},
		{"unknown field", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","best_of":2}`, 400, `unknown field \"best_of\"`},
		{"wrong type", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","max_tokens":"3"}`, 400, "max_tokens"},
		{"wrong prompt type", "POST", "/v1/completions", `{"model":"gpt","prompt":{"a":1}}`, 400, "want a string"},
		{"negative", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","max_tokens":-1}`, 400, "max_tokens -1"},
		{"huge int", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","max_tokens":1e30}`, 400, "max_tokens"},
		{"over limit", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","max_tokens":100000}`, 400, "outside [1, 512]"},
		{"NaN", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","temperature":NaN}`, 400, "malformed"},
		{"NaN string", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","temperature":"NaN"}`, 400, "temperature"},
		{"huge float", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","temperature":1e999}`, 400, "temperature"},
		{"temperature range", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","temperature":2.5}`, 400, "temperature 2.5"},
		{"top_p range", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","top_p":0}`, 400, "top_p 0"},
		{"n range", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","n":0}`, 400, "n 0"},
		{"stop too many", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","stop":["a","b","c","d","e"]}`, 400, "at most 4"},
		{"id outside vocab", "POST", "/v1/completions", `{"model":"gpt","prompt":[5000]}`, 400, "outside the vocabulary"},
		{"penalty", "POST", "/v1/completions", `{"model":"gpt","prompt":"x","presence_penalty":1}`, 400, "not supported"},
		{"too large", "POST", "/v1/completions", huge, 413, "exceeds 4096 bytes"},
		{"input limit", "POST", "/v1/completions", long, 422, "more than the limit of 200"},
		{"context", "POST", "/v1/completions", `{"model":"gpt","prompt":"` + strings.Repeat("a ", 90) + `","max_tokens":500}`, 422, "context"},
		{"not generative", "POST", "/v1/completions", `{"model":"bert","prompt":"x"}`, 400, "cannot generate"},
		{"chat", "POST", "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi"}]}],"max_tokens":2,"temperature":0,"logprobs":true,"top_logprobs":2}`, 200, `"top_logprobs":[{`},
		{"chat role", "POST", "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"robot","content":"x"}]}`, 400, "role"},
		{"chat empty", "POST", "/v1/chat/completions", `{"model":"gpt","messages":[]}`, 400, "messages is empty"},
		{"chat image", "POST", "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, 400, "not supported"},
		{"chat top_logprobs alone", "POST", "/v1/chat/completions", `{"model":"gpt","messages":[{"role":"user","content":"x"}],"top_logprobs":2}`, 400, "needs logprobs"},
		{"embeddings", "POST", "/v1/embeddings", `{"model":"bert","input":["hello world","bye"]}`, 200, `"index":1`},
		{"embeddings format", "POST", "/v1/embeddings", `{"model":"gpt","input":"x","encoding_format":"int8"}`, 400, "encoding_format"},
		{"embeddings empty", "POST", "/v1/embeddings", `{"model":"gpt","input":[]}`, 400, "input is empty"},
		{"embeddings context", "POST", "/v1/embeddings", `{"model":"bert","input":"` + strings.Repeat("word ", 30) + `"}`, 422, "more than the limit of 16"},
		{"embeddings dimensions", "POST", "/v1/embeddings", `{"model":"bert","input":"x","dimensions":3}`, 400, "dimensions 3"},
		{"tokenize", "POST", "/api/tokenize", `{"model":"bert","text":"Hello world"}`, 200, `"[CLS]"`},
		{"tokenize no special", "POST", "/api/tokenize", `{"model":"bert","text":"hello","add_special_tokens":false}`, 200, `{"ids":[7592],"tokens":["hello"]}`},
		{"detokenize", "POST", "/api/detokenize", `{"model":"bert","ids":[101,7592,102],"skip_special_tokens":true}`, 200, `"text":"hello"`},
		{"detokenize range", "POST", "/api/detokenize", `{"model":"bert","ids":[-1]}`, 400, "outside the vocabulary"},
		{"fill-mask", "POST", "/api/fill-mask", `{"model":"bert","text":"the [MASK] barked","top_k":3}`, 200, `"candidates"`},
		{"fill-mask top_k", "POST", "/api/fill-mask", `{"model":"bert","text":"[MASK]","top_k":0}`, 400, "top_k 0"},
		{"fill-mask no mask token", "POST", "/api/fill-mask", `{"model":"marian","text":"x"}`, 400, "no mask token"},
		{"classify neither", "POST", "/api/classify", `{"model":"vit"}`, 400, "one of the two"},
		{"classify both", "POST", "/api/classify", `{"model":"vit","text":"x","image":"AAAA"}`, 400, "one of the two"},
		{"classify image not base64", "POST", "/api/classify", `{"model":"vit","image":"%%%"}`, 400, "not base64"},
		{"classify image not an image", "POST", "/api/classify", `{"model":"vit","image":"AAAA"}`, 400, "want PNG or JPEG"},
		{"classify image huge", "POST", "/api/classify", `{"model":"vit","image":"` + hugePNG() + `"}`, 413, "5000×5000 pixels"},
		{"classify image on text model", "POST", "/api/classify", `{"model":"bert","image":"` + pngBase64(4) + `"}`, 400, "does not take images"},
		{"classify text on vit", "POST", "/api/classify", `{"model":"vit","text":"x"}`, 400, "no tokenizer"},
		{"classify not a classifier", "POST", "/api/classify", `{"model":"gpt","text":"x"}`, 400, "cannot classify"},
		{"translate", "POST", "/api/translate", `{"model":"marian","text":"Tom ne sait pas nager."}`, 200, `"text":`},
		{"translate decoder-only", "POST", "/api/translate", `{"model":"gpt","text":"x"}`, 400, "not an encoder-decoder"},
		{"attention", "POST", "/api/attention", `{"model":"gpt","text":"a b c","layers":[1],"heads":[0,2]}`, 200, `"tokens":["a","Ġb","Ġc"]`},
		{"attention layer range", "POST", "/api/attention", `{"model":"gpt","text":"a","layers":[9]}`, 400, "layer 9"},
		{"attention cross", "POST", "/api/attention", `{"model":"marian","text":"Tom nage.","target":"x"}`, 200, `"cross_weights"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Fatalf("%s %s: %d %s\nwant %d with %q", tc.method, tc.path, resp.StatusCode, b, tc.status, tc.want)
			}
			if tc.status >= 400 {
				var e struct {
					Error struct{ Message, Type, Code string }
				}
				if err := json.Unmarshal(b, &e); err != nil || e.Error.Message == "" || e.Error.Type == "" || e.Error.Code == "" {
					t.Fatalf("error shape: %s", b)
				}
			}
		})
	}
}

// TestAttentionShape: weights are [layer][head][query][key], rows sum
// to 1, causal for GPT-2.
func TestAttentionShape(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "")
	code, b := post(t, ts.URL+"/api/attention", `{"model":"gpt","text":"a b c d","layers":[0,4],"heads":[3]}`)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	var got struct {
		Tokens  []string
		Weights [][][][]float64
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	n := len(got.Tokens)
	if len(got.Weights) != 2 || len(got.Weights[0]) != 1 || len(got.Weights[0][0]) != n {
		t.Fatalf("shape: %d layers, tokens %v", len(got.Weights), got.Tokens)
	}
	for q, row := range got.Weights[1][0] {
		var sum float64
		for k, w := range row {
			if k > q && w != 0 {
				t.Fatalf("query %d attends to future key %d: %g", q, k, w)
			}
			sum += w
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Fatalf("row %d sums to %g", q, sum)
		}
	}
}

// TestEmbeddingsBase64: base64 decodes (little-endian float32) to the
// float vectors.
func TestEmbeddingsBase64(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "")
	var fl, b64 struct {
		Data []struct{ Embedding json.RawMessage }
	}
	for _, c := range []struct {
		format string
		into   any
	}{{"float", &fl}, {"base64", &b64}} {
		code, b := post(t, ts.URL+"/v1/embeddings", `{"model":"gpt","input":"hello world","encoding_format":"`+c.format+`"}`)
		if code != 200 || json.Unmarshal(b, c.into) != nil {
			t.Fatalf("%s: %d %s", c.format, code, b)
		}
	}
	var want []float32
	var s string
	if json.Unmarshal(fl.Data[0].Embedding, &want) != nil || json.Unmarshal(b64.Data[0].Embedding, &s) != nil {
		t.Fatal("embedding types")
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) != 4*len(want) || len(want) != 32 {
		t.Fatalf("base64: %v, %d bytes for %d floats", err, len(raw), len(want))
	}
	for i, w := range want {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != w {
			t.Fatalf("[%d] %g != %g", i, got, w)
		}
	}
}

// readStream returns the data lines of an SSE response.
func readStream(t *testing.T, r io.Reader) []string {
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		} else if sc.Text() != "" {
			t.Fatalf("not an SSE line: %q", sc.Text())
		}
	}
	return out
}

// TestStream: the streamed text equals the non-streamed one for the same
// seed; usage comes last only when asked; the stream ends with [DONE].
func TestStream(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "")
	for _, usage := range []bool{false, true} {
		opts := ""
		if usage {
			opts = `,"stream_options":{"include_usage":true}`
		}
		body := `{"model":"gpt","messages":[{"role":"user","content":"Once upon"}],"max_tokens":8,"seed":7,"temperature":0.9`
		code, b := post(t, ts.URL+"/v1/chat/completions", body+"}")
		var whole struct {
			Choices []struct{ Message struct{ Content string } }
			Usage   struct {
				CompletionTokens int `json:"completion_tokens"`
			}
		}
		if code != 200 || json.Unmarshal(b, &whole) != nil {
			t.Fatalf("%d %s", code, b)
		}
		resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body+`,"stream":true`+opts+"}"))
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		lines := readStream(t, resp.Body)
		resp.Body.Close()
		if lines[len(lines)-1] != "[DONE]" {
			t.Fatalf("last line %q", lines[len(lines)-1])
		}
		var text strings.Builder
		sawUsage := false
		for i, l := range lines[:len(lines)-1] {
			var c struct {
				Choices []struct {
					Delta        struct{ Content string }
					FinishReason *string `json:"finish_reason"`
				}
				Usage *struct {
					CompletionTokens int `json:"completion_tokens"`
				}
			}
			if err := json.Unmarshal([]byte(l), &c); err != nil {
				t.Fatal(err)
			}
			for _, ch := range c.Choices {
				text.WriteString(ch.Delta.Content)
			}
			if c.Usage != nil {
				sawUsage = true
				if i != len(lines)-2 || len(c.Choices) != 0 || c.Usage.CompletionTokens != whole.Usage.CompletionTokens {
					t.Fatalf("usage chunk %d of %d: %s", i, len(lines), l)
				}
			}
		}
		if sawUsage != usage {
			t.Fatalf("usage chunk %v, asked %v", sawUsage, usage)
		}
		if text.String() != whole.Choices[0].Message.Content {
			t.Fatalf("streamed %q, whole %q", text.String(), whole.Choices[0].Message.Content)
		}
	}
}

// TestStreamErrorStatus: an error found before the first token gets its
// status, not a 200 stream.
func TestStreamErrorStatus(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "")
	code, b := post(t, ts.URL+"/v1/completions", `{"model":"gpt","prompt":"`+strings.Repeat("a ", 100)+`","max_tokens":500,"stream":true}`)
	if code != 422 || !strings.Contains(string(b), "context_length_exceeded") {
		t.Fatalf("%d %s", code, b)
	}
}

// TestStop: a stop string ends the text and is cut from it, streamed or
// not.
func TestStop(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "")
	code, b := post(t, ts.URL+"/v1/completions", `{"model":"gpt","prompt":"Hello","max_tokens":12,"temperature":0}`)
	var r struct {
		Choices []struct{ Text, FinishReason string }
	}
	if code != 200 || json.Unmarshal(b, &r) != nil || len(r.Choices[0].Text) < 6 {
		t.Fatalf("%d %s", code, b)
	}
	full := r.Choices[0].Text
	stop := full[3:5]
	want, _ := cutStop(full, []string{stop})
	for _, stream := range []string{"false", "true"} {
		resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(
			`{"model":"gpt","prompt":"Hello","max_tokens":12,"temperature":0,"stop":`+string(must(json.Marshal(stop)))+`,"stream":`+stream+`}`))
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if stream == "true" {
			for _, l := range readStream(t, resp.Body) {
				var c struct{ Choices []struct{ Text string } }
				if l != "[DONE]" && json.Unmarshal([]byte(l), &c) == nil && len(c.Choices) > 0 {
					got += c.Choices[0].Text
				}
			}
		} else {
			b, _ := io.ReadAll(resp.Body)
			var r struct{ Choices []struct{ Text string } }
			json.Unmarshal(b, &r)
			got = r.Choices[0].Text
		}
		resp.Body.Close()
		if got != want {
			t.Fatalf("stream %s: %q, want %q (full %q, stop %q)", stream, got, want, full, stop)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestAPIKey: a key is required (compared in constant time) except on
// /health.
func TestAPIKey(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "sekret")
	for _, tc := range []struct {
		path, auth string
		status     int
	}{{"/v1/models", "", 401}, {"/v1/models", "Bearer wrong", 401}, {"/v1/models", "sekret", 401},
		{"/v1/models", "Bearer sekret", 200}, {"/health", "", 200}, {"/metrics", "", 401}} {
		req, _ := http.NewRequest("GET", ts.URL+tc.path, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Fatalf("%s %q: %d, want %d", tc.path, tc.auth, resp.StatusCode, tc.status)
		}
	}
}

// TestLoadingAndDraining: /health and the API answer 503 before Ready
// and after Drain.
func TestLoadingAndDraining(t *testing.T) {
	s, err := New(Config{Limits: DefaultLimits(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	defer ts.Close()
	status := func(path string) int {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if h, m := status("/health"), status("/v1/models"); h != 503 || m != 503 {
		t.Fatalf("loading: health %d, models %d", h, m)
	}
	s.Ready()
	if h, m := status("/health"), status("/v1/models"); h != 200 || m != 200 {
		t.Fatalf("ready: health %d, models %d", h, m)
	}
	s.Drain()
	if h, m, x := status("/health"), status("/v1/models"), status("/metrics"); h != 503 || m != 503 || x != 200 {
		t.Fatalf("draining: health %d, models %d, metrics %d", h, m, x)
	}
}

// TestQueueFull: with the one slot busy, one request waits in the queue
// (attn_queue_depth 1), the next gets 429, and the waiting one completes
// once the slot frees; routes that compute nothing take no slot.
func TestQueueFull(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxConcurrent, lim.MaxQueue = 1, 1
	s, ts := newTestServer(t, lim, "")
	s.slots <- struct{}{} // a request in flight
	waited := make(chan int, 1)
	go func() {
		code, _ := post(t, ts.URL+"/v1/embeddings", `{"model":"gpt","input":"x"}`)
		waited <- code
	}()
	for s.waiting.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), "attn_queue_depth 1\n") || !strings.Contains(string(m), "attn_requests_in_flight 1\n") {
		t.Fatalf("metrics:\n%s", m)
	}
	code, b := post(t, ts.URL+"/v1/embeddings", `{"model":"gpt","input":"x"}`)
	if code != 429 || !strings.Contains(string(b), "queue_full") {
		t.Fatalf("%d %s", code, b)
	}
	if code, b = post(t, ts.URL+"/api/tokenize", `{"model":"gpt","text":"x"}`); code != 200 {
		t.Fatalf("tokenize: %d %s", code, b)
	}
	<-s.slots
	if code := <-waited; code != 200 {
		t.Fatalf("the queued request: %d", code)
	}
}

// TestDisconnect: a client leaving mid-stream stops the generation, frees
// its slot and leaves no goroutine behind.
func TestDisconnect(t *testing.T) {
	s, ts := newTestServer(t, DefaultLimits(), "")
	// A first forward starts the kernels' worker pool: count after it.
	post(t, ts.URL+"/v1/completions", `{"model":"gpt","prompt":"x","max_tokens":2}`)
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(50 * time.Millisecond)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/v1/completions",
		strings.NewReader(`{"model":"gpt","prompt":"x","max_tokens":500,"stream":true,"temperature":0}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for len(s.slots) != 0 || runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("slots %d, goroutines %d > %d\n%s", len(s.slots), runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The generation stopped on the context, before its 500 tokens.
	r2, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if !strings.Contains(string(m), "attn_generations_stopped_total 1\n") {
		t.Fatalf("metrics:\n%s", m)
	}
}

// TestConcurrent: parallel requests on every model give the answers lone
// requests give (decoding state is per request; weights and tokenizers
// are shared); run it with -race.
func TestConcurrent(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "")
	reqs := [][2]string{
		{"/v1/completions", `{"model":"gpt","prompt":"The dog","max_tokens":6,"temperature":0}`},
		{"/v1/chat/completions", `{"model":"marian","messages":[{"role":"user","content":"Tom nage."}],"max_tokens":4,"temperature":0}`},
		{"/v1/embeddings", `{"model":"bert","input":["the river bank","the investment bank"]}`},
		{"/api/translate", `{"model":"marian","text":"Tom ne sait pas nager."}`},
		{"/api/attention", `{"model":"gpt","text":"it was tired","layers":[0]}`},
		{"/api/fill-mask", `{"model":"bert","text":"the [MASK] barked"}`},
		{"/api/tokenize", `{"model":"marian","text":"Tom nage."}`},
		{"/api/qkv", `{"model":"gpt","text":"it was tired","layer":2,"head":1}`},
		{"/api/next", `{"model":"gpt","text":"it was","heads_off":[[1,2]],"top_k":5}`},
		{"/api/similarity", `{"model":"bert","word":"bank","a":"the river bank","b":"the investment bank"}`},
		{"/api/attention", `{"model":"gpt","text":"it was tired","layers":[3],"value_norms":true,"rollout":true}`},
	}
	want := make([]string, len(reqs))
	for i, r := range reqs {
		code, b := post(t, ts.URL+r[0], r[1])
		if code != 200 {
			t.Fatalf("%s: %d %s", r[0], code, b)
		}
		want[i] = stripIDs(b)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4*len(reqs))
	for range 4 {
		for i, r := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Post(ts.URL+r[0], "application/json", strings.NewReader(r[1]))
				if err != nil {
					errs <- err.Error()
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if got := stripIDs(b); got != want[i] {
					errs <- r[0] + ": " + got + "\nalone: " + want[i]
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatalf("concurrent answer differs: %s", e)
	}
}

// stripIDs drops the fields that differ between identical requests.
func stripIDs(b []byte) string {
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return string(b)
	}
	delete(m, "id")
	delete(m, "created")
	out, _ := json.Marshal(m)
	return string(out)
}

// TestMetrics: the Prometheus text has every family.
func TestMetrics(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "")
	post(t, ts.URL+"/v1/completions", `{"model":"gpt","prompt":"Hi","max_tokens":2,"temperature":0}`)
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`attn_requests_total{route="/v1/completions",code="200"} 1`,
		`attn_request_duration_seconds_bucket{route="/v1/completions",le="+Inf"} 1`,
		`attn_completion_tokens_total{model="gpt"} 2`, `attn_prompt_tokens_total{model="gpt"} 2`,
		"attn_queue_depth 0", "attn_models_loaded 4"} {
		if !strings.Contains(string(b), want) {
			t.Fatalf("no %q in\n%s", want, b)
		}
	}
}

// serveOn serves s on ln until ln closes.
func serveOn(ln net.Listener, s *Server) { _ = (&http.Server{Handler: s}).Serve(ln) }

// TestRun: Run answers 503 while loading, 200 once ready, and returns
// when its context ends (SIGTERM in attn serve), draining first.
func TestRun(t *testing.T) {
	s, err := New(Config{Limits: DefaultLimits(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, ln, []ModelSpec{{"gpt", gptDir}}, time.Second) }()
	url := "http://" + ln.Addr().String()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
			if resp.StatusCode != 503 {
				t.Fatalf("health %d", resp.StatusCode)
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("never ready")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, b := post(t, url+"/v1/completions", `{"model":"gpt","prompt":"Hi","max_tokens":2}`); code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Fatal("still listening after Run returned")
	}
}

func TestParseModelSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ModelSpec
		ok   bool
	}{{"a=/m/x", ModelSpec{"a", "/m/x"}, true}, {"/m/gpt2/", ModelSpec{"gpt2", "/m/gpt2/"}, true}, {"=x", ModelSpec{}, false}, {"a=", ModelSpec{}, false}} {
		got, err := ParseModelSpec(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("%q: %v %v", tc.in, got, err)
		}
	}
}

func TestGroups(t *testing.T) {
	seq := func(n int) []int { return make([]int, n) }
	for _, tc := range []struct {
		name   string
		lens   []int
		budget int
		want   [][2]int
	}{
		{"one", []int{5}, 4, [][2]int{{0, 1}}},
		{"all fit", []int{2, 3, 1}, 9, [][2]int{{0, 3}}},
		{"padding counts", []int{1, 1, 5}, 9, [][2]int{{0, 2}, {2, 3}}},
		{"each alone", []int{8, 8, 8}, 8, [][2]int{{0, 1}, {1, 2}, {2, 3}}},
	} {
		var seqs [][]int
		for _, n := range tc.lens {
			seqs = append(seqs, seq(n))
		}
		if got := groups(seqs, tc.budget); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestDeadline: a generation past the request's deadline stops with 504.
func TestDeadline(t *testing.T) {
	lim := DefaultLimits()
	lim.Timeout = 20 * time.Millisecond
	_, ts := newTestServer(t, lim, "")
	code, b := post(t, ts.URL+"/v1/completions", `{"model":"gpt","prompt":"x","max_tokens":500,"temperature":0}`)
	if code != 504 || !strings.Contains(string(b), "deadline") {
		t.Fatalf("%d %s", code, b)
	}
}

// TestStreamLogprobs: a streamed choice's last chunk carries the
// logprobs the non-streamed answer has.
func TestStreamLogprobs(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "")
	body := `{"model":"gpt","messages":[{"role":"user","content":"Hi"}],"max_tokens":3,"temperature":0,"logprobs":true,"top_logprobs":1`
	type lps struct {
		Content []struct {
			Token       string
			Logprob     float64
			TopLogprobs []struct {
				Token   string
				Logprob float64
			} `json:"top_logprobs"`
		}
	}
	code, b := post(t, ts.URL+"/v1/chat/completions", body+"}")
	var whole struct{ Choices []struct{ Logprobs lps } }
	if code != 200 || json.Unmarshal(b, &whole) != nil || len(whole.Choices[0].Logprobs.Content) != 3 {
		t.Fatalf("%d %s", code, b)
	}
	resp, err := http.Post(ts.URL+"/v1/chat/completions", "application/json", strings.NewReader(body+`,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	lines := readStream(t, resp.Body)
	resp.Body.Close()
	var last struct{ Choices []struct{ Logprobs *lps } }
	if err := json.Unmarshal([]byte(lines[len(lines)-2]), &last); err != nil || last.Choices[0].Logprobs == nil {
		t.Fatalf("last chunk %s", lines[len(lines)-2])
	}
	if fmt.Sprint(last.Choices[0].Logprobs.Content) != fmt.Sprint(whole.Choices[0].Logprobs.Content) {
		t.Fatalf("streamed %v, whole %v", last.Choices[0].Logprobs.Content, whole.Choices[0].Logprobs.Content)
	}
	// The chosen token (greedy) is the most likely: its logprob is the top one.
	for _, c := range whole.Choices[0].Logprobs.Content {
		if c.Logprob > 0 || math.IsNaN(c.Logprob) || len(c.TopLogprobs) != 1 || c.TopLogprobs[0].Token != c.Token || c.TopLogprobs[0].Logprob != c.Logprob {
			t.Fatalf("greedy token %+v is not its top alternative", c)
		}
	}
}

// pngBase64 is a base64 n×n PNG gradient.
func pngBase64(n int) string {
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := range n {
		for x := range n {
			img.Set(x, y, color.RGBA{uint8(16 * x), uint8(16 * y), uint8(8 * (x + y)), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// hugePNG is the signature and header of a 5000×5000 PNG (no pixels: the
// size alone must refuse it).
func hugePNG() string {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := []byte("IHDR\x00\x00\x13\x88\x00\x00\x13\x88\x08\x06\x00\x00\x00")
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)-4))
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr))
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// TestClassifyImage: the route gives what infer.ClassifyImage gives.
func TestClassifyImage(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "")
	b64 := pngBase64(16)
	code, b := post(t, ts.URL+"/api/classify", `{"model":"vit","image":"`+b64+`"}`)
	var got struct{ Labels [][]infer.Label }
	if code != 200 || json.Unmarshal(b, &got) != nil || len(got.Labels) != 1 {
		t.Fatalf("%d %s", code, b)
	}
	m, err := model.Load(vitDir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p, err := infer.LoadImageProcessor(vitDir, m)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(b64)
	img, _ := png.Decode(bytes.NewReader(raw))
	want, err := infer.ClassifyImage(m, p, img)
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != 5 || fmt.Sprint(got.Labels[0]) != fmt.Sprint(want) {
		t.Fatalf("served %v, infer %v", got.Labels[0], want)
	}
}

// TestStreamDeadline: a stream past its deadline ends with an error
// event (its 200 is already sent), and no [DONE].
func TestStreamDeadline(t *testing.T) {
	lim := DefaultLimits()
	lim.Timeout = 30 * time.Millisecond
	_, ts := newTestServer(t, lim, "")
	resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(`{"model":"gpt","prompt":"x","max_tokens":500,"temperature":0,"stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == 504 {
		// A machine too busy to produce the first token in time: the
		// error came before the stream, with its status.
		b, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(b), `"code":"timeout"`) {
			t.Fatalf("504 %s", b)
		}
		return
	}
	lines := readStream(t, resp.Body)
	last := lines[len(lines)-1]
	if resp.StatusCode != 200 || !strings.Contains(last, `"code":"timeout"`) {
		t.Fatalf("%d, last event %s", resp.StatusCode, last)
	}
}

// TestSeq2SeqLogprobs: an encoder-decoder's logprobs, scored by one
// teacher-forced forward, match the log-softmax of the logits that the
// cached decode loop computes token by token.
func TestSeq2SeqLogprobs(t *testing.T) {
	s, ts := newTestServer(t, DefaultLimits(), "")
	code, b := post(t, ts.URL+"/v1/completions", `{"model":"marian","prompt":"Tom nage.","max_tokens":5,"temperature":0,"logprobs":2}`)
	var res struct {
		Choices []struct {
			Logprobs struct {
				Tokens        []string
				TokenLogprobs []float64            `json:"token_logprobs"`
				TopLogprobs   []map[string]float64 `json:"top_logprobs"`
			}
		}
	}
	if code != 200 || json.Unmarshal(b, &res) != nil || len(res.Choices) != 1 {
		t.Fatalf("%d %s", code, b)
	}
	got := res.Choices[0].Logprobs
	if len(got.TokenLogprobs) == 0 || len(got.TopLogprobs) != len(got.TokenLogprobs) {
		t.Fatalf("logprobs %+v", got)
	}
	l, e := s.model("marian")
	if e != nil {
		t.Fatal(e)
	}
	g, err := l.generator()
	if err != nil {
		t.Fatal(err)
	}
	defer l.put(g)
	src, err := l.task.Tokenizer.Encode("Tom nage.", true)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := g.Generate(infer.Request{PromptIDs: src, Config: func() generate.Config {
		c := g.Config
		c.MaxNewTokens, c.DoSample, c.NumBeams, c.Temperature = 5, false, 1, 1
		return c
	}()})
	if err != nil {
		t.Fatal(err)
	}
	if len(gen.IDs) != len(got.TokenLogprobs) {
		t.Fatalf("server scored %d tokens, the generation made %d", len(got.TokenLogprobs), len(gen.IDs))
	}
	lm, err := infer.NewSeq2Seq(l.task.Model)
	if err != nil {
		t.Fatal(err)
	}
	v := lm.VocabSize()
	logits := make([]float32, v)
	if err := lm.Begin(1, len(gen.IDs)+1); err != nil {
		t.Fatal(err)
	}
	if err := lm.Encode([][]int{src}); err != nil {
		t.Fatal(err)
	}
	prev := g.Config.DecoderStartTokenID
	for i, id := range gen.IDs {
		if err := lm.Forward([]int{prev}, nil, logits); err != nil {
			t.Fatal(err)
		}
		mx := math.Inf(-1)
		for _, x := range logits {
			mx = math.Max(mx, float64(x))
		}
		z := 0.0
		for _, x := range logits {
			z += math.Exp(float64(x) - mx)
		}
		want := float64(logits[id]) - mx - math.Log(z)
		if d := math.Abs(got.TokenLogprobs[i] - want); d > 1e-4 {
			t.Errorf("token %d (%d): logprob %.6f, the decode loop's %.6f", i, id, got.TokenLogprobs[i], want)
		}
		if len(got.TopLogprobs[i]) != 2 {
			t.Errorf("token %d: %d top logprobs, want 2", i, len(got.TopLogprobs[i]))
		}
		prev = id
	}
}

// TestSharedDecode: concurrent completions whose decode steps are shared
// answer what each answers on a server that decodes every generation
// alone, and /metrics counts the shared steps.
func TestSharedDecode(t *testing.T) {
	alone := DefaultLimits()
	alone.DecodeBatch = 0
	_, ts0 := newTestServer(t, alone, "")
	_, ts := newTestServer(t, DefaultLimits(), "")
	bodies := make([]string, 12)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"model":"gpt","prompt":%q,"max_tokens":%d,"temperature":%s,"seed":%d,"n":%d}`,
			strings.Repeat("The dog chased the ball. ", 1+i%4), 4+3*i, []string{"0", "0.8"}[i%2], i, 1+i%3)
	}
	want := make([]string, len(bodies))
	for i, b := range bodies {
		code, out := post(t, ts0.URL+"/v1/completions", b)
		if code != 200 {
			t.Fatalf("%d %s", code, out)
		}
		want[i] = choicesText(t, out)
	}
	got := make([]string, len(bodies))
	var wg sync.WaitGroup
	for i, b := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out := post(t, ts.URL+"/v1/completions", b)
			if code != 200 {
				t.Errorf("%d %s", code, out)
				return
			}
			got[i] = choicesText(t, out)
		}()
	}
	wg.Wait()
	for i := range bodies {
		if got[i] != want[i] {
			t.Errorf("request %d: shared %q, alone %q", i, got[i], want[i])
		}
	}
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`attn_decode_steps_total\{model="gpt"\} [1-9]`).Match(m) || !strings.Contains(string(m), `attn_decode_step_rows_total{model="gpt"}`) {
		t.Errorf("metrics without shared decode steps:\n%s", m)
	}
}

// choicesText is a completion's choices' texts, in order.
func choicesText(t *testing.T, body []byte) string {
	t.Helper()
	var r struct{ Choices []struct{ Text string } }
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return fmt.Sprint(r.Choices)
}
