package server

import (
	"encoding/json"
	"io"
	"io/fs"
	"math"
	"net/http"
	"path"
	"regexp"
	"strings"
	"testing"
)

// TestExplorerRoutes drives the routes the explorer reads with good and
// hostile requests.
func TestExplorerRoutes(t *testing.T) {
	lim := DefaultLimits()
	lim.MaxInputTokens = 64
	_, ts := newTestServer(t, lim, "")
	img := pngBase64(16)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string // in the body
	}{
		{"models", "GET", "/api/models", "", 200, `"id":"gpt","architecture":"GPT2LMHeadModel","model_type":"gpt2","layers":5,"heads":4`},
		{"models vit", "GET", "/api/models", "", 200, `"images":true,"image_size":16`},
		{"models bert mask", "GET", "/api/models", "", 200, `"mask_token":"[MASK]"`},
		{"models method", "POST", "/api/models", "{}", 405, "takes GET"},

		{"qkv", "POST", "/api/qkv", `{"model":"gpt","text":"a b c","layer":1,"head":2}`, 200, `"causal":true,"head":2,"head_size":8`},
		{"qkv encoder", "POST", "/api/qkv", `{"model":"marian","text":"Tom nage.","layer":0,"head":1}`, 200, `"causal":false`},
		{"qkv layer", "POST", "/api/qkv", `{"model":"gpt","text":"a","layer":5,"head":0}`, 400, "layer 5 outside the model's 5"},
		{"qkv negative head", "POST", "/api/qkv", `{"model":"gpt","text":"a","layer":0,"head":-1}`, 400, "head -1"},
		{"qkv huge layer", "POST", "/api/qkv", `{"model":"gpt","text":"a","layer":1e30,"head":0}`, 400, "layer"},
		{"qkv string layer", "POST", "/api/qkv", `{"model":"gpt","text":"a","layer":"1","head":0}`, 400, "layer"},
		{"qkv unknown field", "POST", "/api/qkv", `{"model":"gpt","text":"a","query":1}`, 400, `unknown field \"query\"`},
		{"qkv no text", "POST", "/api/qkv", `{"model":"gpt","text":"","layer":0,"head":0}`, 400, "no tokens"},
		{"qkv long", "POST", "/api/qkv", `{"model":"gpt","text":"` + strings.Repeat("a ", 100) + `","layer":0,"head":0}`, 422, "more than the limit"},
		{"qkv image model", "POST", "/api/qkv", `{"model":"vit","text":"a","layer":0,"head":0}`, 400, "no tokenizer"},
		{"qkv unknown model", "POST", "/api/qkv", `{"model":"nope","text":"a"}`, 404, "model_not_found"},

		{"similarity", "POST", "/api/similarity", `{"model":"bert","word":"bank","a":"the river bank","b":"the investment bank"}`, 200, `"layer":1,"cosine":`},
		{"similarity missing word", "POST", "/api/similarity", `{"model":"bert","word":"bank","a":"the river","b":"the bank"}`, 400, "does not occur"},
		{"similarity long", "POST", "/api/similarity", `{"model":"bert","word":"a","a":"` + strings.Repeat("a ", 20) + `","b":"a"}`, 422, "more than the limit of 16"},
		{"similarity wrong type", "POST", "/api/similarity", `{"model":"bert","word":["bank"]}`, 400, "word"},

		{"next", "POST", "/api/next", `{"model":"gpt","text":"a b","top":3}`, 200, `"raw_prob"`},
		{"next not an lm", "POST", "/api/next", `{"model":"bert","text":"a b"}`, 400, "not a decoder-only"},
		{"next temperature 0", "POST", "/api/next", `{"model":"gpt","text":"a","temperature":0}`, 400, "temperature 0 outside"},
		{"next temperature 3", "POST", "/api/next", `{"model":"gpt","text":"a","temperature":3}`, 400, "temperature 3"},
		{"next top_p 0", "POST", "/api/next", `{"model":"gpt","text":"a","top_p":0}`, 400, "top_p 0"},
		{"next top_k negative", "POST", "/api/next", `{"model":"gpt","text":"a","top_k":-1}`, 400, "top_k -1"},
		{"next top_k huge", "POST", "/api/next", `{"model":"gpt","text":"a","top_k":1000000}`, 400, "top_k 1000000"},
		{"next top 0", "POST", "/api/next", `{"model":"gpt","text":"a","top":0}`, 400, "top 0 outside [1, 100]"},
		{"next top 101", "POST", "/api/next", `{"model":"gpt","text":"a","top":101}`, 400, "top 101"},
		{"next head off range", "POST", "/api/next", `{"model":"gpt","text":"a","heads_off":[[5,0]]}`, 400, "heads_off[0]: layer 5 head 0 outside"},
		{"next head off shape", "POST", "/api/next", `{"model":"gpt","text":"a","heads_off":[[1,2,3]]}`, 400, "want [layer, head]"},
		{"next head off type", "POST", "/api/next", `{"model":"gpt","text":"a","heads_off":[["a","b"]]}`, 400, "heads_off"},

		{"attention value norms", "POST", "/api/attention", `{"model":"gpt","text":"a b c","layers":[2],"heads":[1],"value_norms":true}`, 200, `"value_norms":[[[`},
		{"attention rollout", "POST", "/api/attention", `{"model":"gpt","text":"a b c","layers":[2],"rollout":true}`, 200, `"rollout":[[1,0,0],`},
		{"attention rollout layer", "POST", "/api/attention", `{"model":"gpt","text":"a","layers":[7],"rollout":true}`, 400, "layer 7: outside"},
		{"attention rollout head twice", "POST", "/api/attention", `{"model":"gpt","text":"a","heads":[1,1],"rollout":true}`, 400, "head 1"},
		{"attention rollout value norms", "POST", "/api/attention", `{"model":"gpt","text":"a b","layers":[1],"heads":[3],"rollout":true,"value_norms":true}`, 200, `"value_norms":[[[`},
		{"attention image", "POST", "/api/attention", `{"model":"vit","image":"` + img + `","rollout":true}`, 200, `"grid":[4,4]`},
		{"attention image and text", "POST", "/api/attention", `{"model":"vit","image":"` + img + `","text":"a"}`, 400, "not both"},
		{"attention image on text model", "POST", "/api/attention", `{"model":"gpt","image":"` + img + `"}`, 400, "does not take images"},
		{"attention image not base64", "POST", "/api/attention", `{"model":"vit","image":"%%%"}`, 400, "not base64"},
		{"attention image huge", "POST", "/api/attention", `{"model":"vit","image":"` + hugePNG() + `"}`, 413, "image_too_large"},
		{"attention vit text", "POST", "/api/attention", `{"model":"vit","text":"a"}`, 400, "no tokenizer"},

		{"page", "GET", "/", "", 200, "<title>attn"},
		{"page head", "HEAD", "/", "", 200, ""},
		{"page post", "POST", "/", "{}", 405, "takes GET"},
		{"static", "GET", "/static/app.js", "", 200, "import"},
		{"static nested", "GET", "/static/views/head.js", "", 200, "massKeys"},
		{"static missing", "GET", "/static/nope.js", "", 404, "no file"},
		{"static dir", "GET", "/static/", "", 404, "no file"},
		{"static dot dot", "GET", "/static/views/../app.js", "", 404, "no file"},
		{"static index", "GET", "/static/index.html", "", 404, "no file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, ts.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) {
				t.Fatalf("%s %s: %d %s, want %d with %s", tc.method, tc.path, resp.StatusCode, short(string(b)), tc.status, tc.want)
			}
			if resp.StatusCode >= 400 && tc.method != "HEAD" {
				var e struct{ Error *apiError }
				if json.Unmarshal(b, &e) != nil || e.Error == nil || e.Error.Message == "" {
					t.Errorf("error body %s is not {\"error\": {...}}", b)
				}
			}
		})
	}
}

// TestQKVGivesWeights: the softmax of /api/qkv's q·kᵀ·scale under the
// causal mask is its weights, and its weights are /api/attention's.
func TestQKVGivesWeights(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "")
	code, b := post(t, ts.URL+"/api/qkv", `{"model":"gpt","text":"the dog saw it","layer":3,"head":1}`)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	var r struct {
		Q, K, V, Weights [][]float64
		Scale            float64
		Causal           bool
	}
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	code, b = post(t, ts.URL+"/api/attention", `{"model":"gpt","text":"the dog saw it","layers":[3],"heads":[1],"value_norms":true}`)
	if code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	var a struct {
		Weights    [][][][]float64
		ValueNorms [][][]float64 `json:"value_norms"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	n := len(r.Q)
	if n == 0 || len(r.K) != n || len(r.V) != n || len(r.Weights) != n || !r.Causal {
		t.Fatalf("q %d, k %d, v %d, weights %d rows, causal %v", len(r.Q), len(r.K), len(r.V), len(r.Weights), r.Causal)
	}
	for j, v := range r.V {
		ss := 0.0
		for _, x := range v {
			ss += x * x
		}
		if got := a.ValueNorms[0][0][j]; math.Abs(got-math.Sqrt(ss)) > 1e-5 {
			t.Errorf("value_norms[%d] %g, ‖v‖ from /api/qkv %g", j, got, math.Sqrt(ss))
		}
	}
	for i := range n {
		s := make([]float64, i+1)
		top, sum := math.Inf(-1), 0.0
		for j := range s {
			for d := range r.Q[i] {
				s[j] += r.Q[i][d] * r.K[j][d]
			}
			s[j] *= r.Scale
			top = max(top, s[j])
		}
		for j := range s {
			s[j] = math.Exp(s[j] - top)
			sum += s[j]
		}
		for j := range n {
			want := 0.0
			if j <= i {
				want = s[j] / sum
			}
			if math.Abs(r.Weights[i][j]-want) > 1e-5 || r.Weights[i][j] != a.Weights[0][0][i][j] {
				t.Fatalf("weight [%d][%d]: qkv %g, softmax(q·kᵀ/√d) %g, /api/attention %g", i, j, r.Weights[i][j], want, a.Weights[0][0][i][j])
			}
		}
	}
}

// TestNext: top-k keeps k tokens whose probabilities sum to one, the
// candidates come likeliest first, and switching a head off changes the
// distribution.
func TestNext(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "")
	next := func(body string) []candidate {
		t.Helper()
		code, b := post(t, ts.URL+"/api/next", body)
		if code != 200 {
			t.Fatalf("%s: %d %s", body, code, b)
		}
		var r struct{ Top []candidate }
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r.Top
	}
	c := next(`{"model":"gpt","text":"the dog saw","top_k":3,"top":6}`)
	sum := 0.0
	for i, x := range c {
		if i > 0 && x.Prob > c[i-1].Prob {
			t.Errorf("candidate %d (p %g) after one of p %g", i, x.Prob, c[i-1].Prob)
		}
		if i >= 3 && x.Prob != 0 {
			t.Errorf("top_k 3: candidate %d has p %g", i, x.Prob)
		}
		if x.Text == "" || x.Token == "" {
			t.Errorf("candidate %d has no text: %+v", i, x)
		}
		sum += float64(x.Prob)
	}
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("top_k 3: the kept probabilities sum to %g", sum)
	}
	base := next(`{"model":"gpt","text":"the dog saw","top":1}`)
	off := next(`{"model":"gpt","text":"the dog saw","top":1,"heads_off":[[4,0],[4,1],[4,2],[4,3]]}`)
	if base[0].Prob == off[0].Prob && base[0].ID == off[0].ID {
		t.Errorf("switching layer 4's heads off changed nothing: %+v", off[0])
	}
}

// TestExplorerAuth: the page loads without the API key (it holds no model
// data and asks for the key itself); the API does not.
func TestExplorerAuth(t *testing.T) {
	_, ts := newTestServer(t, DefaultLimits(), "sesame")
	for path, want := range map[string]int{"/": 200, "/static/api.js": 200, "/api/models": 401} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s without the key: %d, want %d", path, resp.StatusCode, want)
		}
	}
}

// TestExplorerFiles: every module an explorer file imports is embedded,
// and nothing is loaded from another host (the page works offline).
func TestExplorerFiles(t *testing.T) {
	imports := regexp.MustCompile(`(?:from|import)\s*\(?\s*'([^']+)'`)
	refs := regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	n := 0
	err := fs.WalkDir(webFS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(webFS, p)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), "http://") && !strings.Contains(string(data), "http://www.w3.org/2000/svg") || strings.Contains(string(data), "https://") {
			t.Errorf("%s refers to another host", p)
		}
		var targets []string
		for _, m := range imports.FindAllStringSubmatch(string(data), -1) {
			targets = append(targets, path.Join(path.Dir(p), m[1]))
		}
		for _, m := range refs.FindAllStringSubmatch(string(data), -1) {
			targets = append(targets, strings.TrimPrefix(m[1], staticPrefix))
		}
		for _, f := range targets {
			n++
			if _, err := fs.Stat(webFS, f); err != nil {
				t.Errorf("%s loads %s, which is not embedded", p, f)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Errorf("found %d references in the explorer's files, want its modules", n)
	}
}
