package server

import (
	"cmp"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tensor"
	"github.com/attn-dev/attn/tokenizer"
	"github.com/attn-dev/attn/viz"
)

// The routes the web explorer reads (they are ordinary API routes too).

// MaxNextTop bounds /api/next's top.
const MaxNextTop = 100

// modelInfo is what the explorer needs to know of a model to offer its
// views.
type modelInfo struct {
	ID             string `json:"id"`
	Architecture   string `json:"architecture"`
	Type           string `json:"model_type"`
	Layers         int    `json:"layers"`
	Heads          int    `json:"heads"`
	DecoderLayers  int    `json:"decoder_layers,omitempty"`
	DecoderHeads   int    `json:"decoder_heads,omitempty"`
	Hidden         int    `json:"hidden"`
	Context        int    `json:"context"`
	Causal         bool   `json:"causal"`          // self-attention sees only the past
	Generates      bool   `json:"generates"`       // /api/next works
	EncoderDecoder bool   `json:"encoder_decoder"` // /api/attention takes target, returns cross_weights
	Images         bool   `json:"images"`          // /api/attention and /api/classify take image
	ImageSize      int    `json:"image_size,omitempty"`
	MaskToken      string `json:"mask_token,omitempty"` // /api/fill-mask works
}

// explorerModels serves GET /api/models: the models with their shapes.
func (s *Server) explorerModels(w http.ResponseWriter, _ *http.Request, _ *reqInfo) *apiError {
	s.mu.RLock()
	out := make([]modelInfo, 0, len(s.models))
	for _, l := range s.models {
		i := l.task.Model.Info()
		mi := modelInfo{ID: l.name, Architecture: i.Architecture, Type: i.ModelType, Layers: i.Layers, Heads: i.Heads,
			DecoderLayers: i.DecoderLayers, DecoderHeads: i.DecoderHeads, Hidden: i.Hidden, Context: i.Context,
			Causal: l.gen && !l.s2s, Generates: l.gen && !l.s2s, EncoderDecoder: l.s2s, Images: l.images != nil}
		if l.images != nil {
			mi.ImageSize = l.images.Width
		}
		if l.task.Tokenizer != nil {
			if tok, _, err := l.task.MaskToken(); err == nil {
				mi.MaskToken = tok
			}
		}
		out = append(out, mi)
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b modelInfo) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, map[string]any{"models": out})
	return nil
}

// attention serves POST /api/attention: the weights of the layers and
// heads asked for, of a text (with a target for encoder-decoders) or of
// an image (ViT); optionally the norms ‖v‖ of each head's values (for
// value-weighted attention) and the attention rollout over all layers.
func (s *Server) attention(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req struct {
		Model      string `json:"model"`
		Text       string `json:"text"`
		Target     string `json:"target"` // encoder-decoders: the decoder's text
		Image      string `json:"image"`  // ViT: base64 PNG or JPEG
		Layers     []int  `json:"layers"`
		Heads      []int  `json:"heads"`
		ValueNorms bool   `json:"value_norms"`
		Rollout    bool   `json:"rollout"`
	}
	l, e := s.jsonModel(r, rq, &req, func() string { return req.Model })
	if e != nil {
		return e
	}
	info := l.task.Model.Info()
	in := &model.Inputs{B: 1}
	var ids, dec []int
	var tok tokenizer.Tokenizer
	if req.Image != "" {
		if req.Text != "" || req.Target != "" {
			return badRequest("give text or image, not both")
		}
		img, e := decodeImage(l, req.Image)
		if e != nil {
			return e
		}
		px, err := l.images.Preprocess(img)
		if err != nil {
			return badRequest("image: %v", err)
		}
		in.PixelValues = px
	} else {
		if tok, e = l.tokenizer(); e != nil {
			return e
		}
		if ids, e = s.checkText(l, rq, req.Text); e != nil {
			return e
		}
		in.T, in.InputIDs = len(ids), ids
		if l.s2s {
			if dec, e = s.target(l, tok, req.Target); e != nil {
				return e
			}
			in.TDec, in.DecoderInputIDs = len(dec), dec
		} else if req.Target != "" {
			return badRequest("target is for encoder-decoders; model %s is %s", l.name, info.Architecture)
		}
	}
	layers, heads := len(req.Layers), len(req.Heads)
	if req.Layers == nil || req.Rollout {
		layers = max(info.Layers, info.DecoderLayers)
	}
	if req.Heads == nil || req.Rollout {
		heads = max(info.Heads, info.DecoderHeads)
	}
	t := max(len(ids), len(dec), info.Context*btoi(in.PixelValues != nil))
	if n := layers * heads * t * t * (1 + 2*btoi(l.s2s)); n > MaxAttentionValues {
		return newError(http.StatusUnprocessableEntity, "too_many_weights", "%d layers × %d heads × %d² tokens is %d weights, more than %d: ask for fewer layers or heads", layers, heads, t, n, MaxAttentionValues)
	}
	c := &model.Capture{Layers: req.Layers, Heads: req.Heads, QKV: req.ValueNorms}
	if req.Rollout {
		// The rollout needs every layer; the ones asked for are picked
		// after, so check them here.
		for _, f := range []struct {
			what string
			v    []int
			n    int
		}{{"layer", req.Layers, info.Layers}, {"head", req.Heads, info.Heads}} {
			for i, x := range f.v {
				if x < 0 || x >= f.n || slices.Contains(f.v[:i], x) {
					return badRequest("%s %d: outside the model's %d (0 … %d) or given twice", f.what, x, f.n, f.n-1)
				}
			}
		}
		c.Layers, c.Heads = nil, nil
	}
	if _, err := l.task.Model.Forward(autograd.NewGraph(false), in, model.Options{Capture: c}); err != nil {
		return badRequest("%v", err)
	}
	res := map[string]any{"model": l.name}
	self := model.Weights(c.Self, 0)
	norms := valueNorms(c.V)
	if req.Rollout {
		if len(self) == 0 {
			return badRequest("model %s captures no self-attention", l.name)
		}
		avg := make([][][]float32, len(self))
		for i, hs := range self {
			var err error
			if avg[i], err = viz.Average(hs); err != nil {
				return toAPIError(err)
			}
		}
		roll, err := viz.Rollout(avg)
		if err != nil {
			return toAPIError(err)
		}
		res["rollout"] = roll
		self = viz.Pick(self, req.Layers, req.Heads)
		if req.ValueNorms {
			norms = viz.Pick(norms, req.Layers, req.Heads)
		}
	}
	res["weights"] = self
	if req.ValueNorms {
		res["value_norms"] = norms
	}
	if in.PixelValues != nil {
		patches := len(self[0][0]) - 1
		gw := int(math.Round(math.Sqrt(float64(patches))))
		res["tokens"], res["grid"] = viz.PatchTokens(patches, gw), []int{patches / max(gw, 1), gw}
		writeJSON(w, http.StatusOK, res)
		return nil
	}
	toks, err := tokenizer.Tokens(tok, ids)
	if err != nil {
		return toAPIError(err)
	}
	res["tokens"] = toks
	if l.s2s {
		dt, err := tokenizer.Tokens(tok, dec)
		if err != nil {
			return toAPIError(err)
		}
		res["decoder_tokens"], res["decoder_weights"], res["cross_weights"] = dt, model.Weights(c.Decoder, 0), model.Weights(c.Cross, 0)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// target tokenizes an encoder-decoder's target text after its decoder
// start token.
func (s *Server) target(l *loaded, tok tokenizer.Tokenizer, text string) ([]int, *apiError) {
	g, err := l.generator()
	if err != nil {
		return nil, toAPIError(err)
	}
	start := g.Config.DecoderStartTokenID
	l.put(g)
	tgt, err := tok.Encode(text, false)
	if err != nil {
		return nil, badRequest("tokenizing target: %v", err)
	}
	dec := append([]int{max(start, 0)}, tgt...)
	if c := min(s.cfg.Limits.MaxInputTokens, l.task.Model.Info().Context); len(dec) > c {
		return nil, newError(http.StatusUnprocessableEntity, "input_too_long", "target has %d tokens, more than the limit of %d", len(dec), c)
	}
	return dec, nil
}

// valueNorms returns ‖v_j‖ for each captured value tensor [1, T, HS]:
// [layer][head][key].
func valueNorms(v [][]*tensor.Tensor) [][][]float32 {
	out := make([][][]float32, len(v))
	for l, heads := range v {
		out[l] = make([][]float32, len(heads))
		for h, t := range heads {
			tk, hs := t.Shape[1], t.Shape[2]
			d := t.Data()
			n := make([]float32, tk)
			for j := range tk {
				var ss float64
				for _, x := range d[j*hs : (j+1)*hs] {
					ss += float64(x) * float64(x)
				}
				n[j] = float32(math.Sqrt(ss))
			}
			out[l][h] = n
		}
	}
	return out
}

// rows returns t [1, T, D] as [T][D].
func rows(t *tensor.Tensor) [][]float32 {
	n, d := t.Shape[1], t.Shape[2]
	out := make([][]float32, n)
	for i := range out {
		out[i] = t.Data()[i*d : (i+1)*d : (i+1)*d]
	}
	return out
}

// qkv serves POST /api/qkv: one self-attention head's queries, keys,
// values and weights, for the step-by-step view (q·kᵀ, scaling, mask,
// softmax and the weighted sum of v, with the real numbers).
func (s *Server) qkv(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req struct {
		Model string `json:"model"`
		Text  string `json:"text"`
		Layer int    `json:"layer"`
		Head  int    `json:"head"`
	}
	l, tok, e := s.textModel(r, rq, &req, func() string { return req.Model })
	if e != nil {
		return e
	}
	info := l.task.Model.Info()
	layers, heads := info.Layers, info.Heads // the encoder's, or a decoder-only model's
	if req.Layer < 0 || req.Layer >= layers {
		return badRequest("layer %d outside the model's %d (0 … %d)", req.Layer, layers, layers-1)
	}
	if req.Head < 0 || req.Head >= heads {
		return badRequest("head %d outside the model's %d (0 … %d)", req.Head, heads, heads-1)
	}
	ids, e := s.checkText(l, rq, req.Text)
	if e != nil {
		return e
	}
	in := &model.Inputs{B: 1, T: len(ids), InputIDs: ids}
	if l.s2s {
		// The encoder's self-attention; the decoder gets its start token.
		dec, e := s.target(l, tok, "")
		if e != nil {
			return e
		}
		in.TDec, in.DecoderInputIDs = len(dec), dec
	}
	c := &model.Capture{Layers: []int{req.Layer}, Heads: []int{req.Head}, QKV: true}
	if _, err := l.task.Model.Forward(autograd.NewGraph(false), in, model.Options{Capture: c}); err != nil {
		return badRequest("%v", err)
	}
	if len(c.Q) == 0 {
		return badRequest("model %s does not capture its self-attention's q, k, v", l.name)
	}
	toks, err := tokenizer.Tokens(tok, ids)
	if err != nil {
		return toAPIError(err)
	}
	q := c.Q[0][0]
	writeJSON(w, http.StatusOK, map[string]any{
		"model": l.name, "tokens": toks, "layer": req.Layer, "head": req.Head,
		"head_size": q.Shape[2], "scale": 1 / math.Sqrt(float64(q.Shape[2])), "causal": l.gen && !l.s2s,
		"q": rows(q), "k": rows(c.K[0][0]), "v": rows(c.V[0][0]), "weights": model.Weights(c.Self, 0)[0][0],
	})
	return nil
}

// similarity serves POST /api/similarity: the cosine similarity, layer by
// layer, of a word's contextual vectors in two sentences.
func (s *Server) similarity(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req struct {
		Model string `json:"model"`
		Word  string `json:"word"`
		A     string `json:"a"`
		B     string `json:"b"`
	}
	l, tok, e := s.textModel(r, rq, &req, func() string { return req.Model })
	if e != nil {
		return e
	}
	for _, t := range []string{req.Word, req.A, req.B} {
		if _, e := s.checkText(l, rq, t); e != nil {
			return e
		}
	}
	res, err := infer.Similarity(l.task.Model, tok, req.Word, req.A, req.B)
	if err != nil {
		return badRequest("%v", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": l.name, "word": req.Word, "layers": res})
	return nil
}

// candidate is one possible next token.
type candidate struct {
	ID    int     `json:"id"`
	Token string  `json:"token"`
	Text  string  `json:"text"`
	Prob  float32 `json:"prob"`     // after temperature, top-k and top-p
	Raw   float32 `json:"raw_prob"` // the model's own softmax
}

// next serves POST /api/next: the next-token distribution of a
// decoder-only model after a text, as sampling with temperature, top_k
// and top_p would draw from it, optionally with heads switched off
// (heads_off: [[layer, head], …]).
func (s *Server) next(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req struct {
		Model       string   `json:"model"`
		Text        string   `json:"text"`
		Temperature *float64 `json:"temperature"`
		TopK        int      `json:"top_k"`
		TopP        *float64 `json:"top_p"`
		Top         *int     `json:"top"`
		HeadsOff    [][]int  `json:"heads_off"`
	}
	l, tok, e := s.textModel(r, rq, &req, func() string { return req.Model })
	if e != nil {
		return e
	}
	if !l.gen || l.s2s {
		return badRequest("model %s is not a decoder-only language model", l.name)
	}
	info := l.task.Model.Info()
	cfg := generate.Config{Temperature: 1, TopK: req.TopK, TopP: 1}
	switch {
	case req.Temperature != nil && !(*req.Temperature > 0 && *req.Temperature <= 2):
		return badRequest("temperature %g outside (0, 2]", *req.Temperature)
	case req.TopP != nil && !(*req.TopP > 0 && *req.TopP <= 1):
		return badRequest("top_p %g outside (0, 1]", *req.TopP)
	case req.TopK < 0 || req.TopK > info.Vocab:
		return badRequest("top_k %d outside [0, %d]", req.TopK, info.Vocab)
	case req.Top != nil && (*req.Top < 1 || *req.Top > MaxNextTop):
		return badRequest("top %d outside [1, %d]", *req.Top, MaxNextTop)
	}
	if req.Temperature != nil {
		cfg.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		cfg.TopP = *req.TopP
	}
	top := 10
	if req.Top != nil {
		top = *req.Top
	}
	layers, heads := info.Layers, info.Heads
	var mask [][]float32
	if len(req.HeadsOff) > 0 {
		mask = make([][]float32, layers)
		for i, lh := range req.HeadsOff {
			if len(lh) != 2 {
				return badRequest("heads_off[%d]: want [layer, head], not %d numbers", i, len(lh))
			}
			if lh[0] < 0 || lh[0] >= layers || lh[1] < 0 || lh[1] >= heads {
				return badRequest("heads_off[%d]: layer %d head %d outside the model's %d layers × %d heads", i, lh[0], lh[1], layers, heads)
			}
			if mask[lh[0]] == nil {
				mask[lh[0]] = slices.Repeat([]float32{1}, heads)
			}
			mask[lh[0]][lh[1]] = 0
		}
	}
	ids, e := s.checkText(l, rq, req.Text)
	if e != nil {
		return e
	}
	out, err := l.task.Model.Forward(autograd.NewGraph(false), &model.Inputs{B: 1, T: len(ids), InputIDs: ids}, model.Options{LastLogits: true, HeadMask: mask})
	if err != nil {
		return badRequest("%v", err)
	}
	logits := out.Get("logits").Contiguous().Data()
	probs := generate.Probabilities(logits, cfg)
	raw := generate.Probabilities(logits, generate.Config{Temperature: 1, TopP: 1})
	order := make([]int, len(probs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(probs[b], probs[a]), cmp.Compare(raw[b], raw[a]))
	})
	cands := make([]candidate, 0, top)
	for _, id := range order[:min(top, len(order))] {
		t, err := tokenizer.Tokens(tok, []int{id})
		if err != nil {
			return toAPIError(err)
		}
		text, err := tok.Decode([]int{id}, false)
		if err != nil {
			return toAPIError(err)
		}
		cands = append(cands, candidate{ID: id, Token: t[0], Text: text, Prob: probs[id], Raw: raw[id]})
	}
	toks, err := tokenizer.Tokens(tok, ids)
	if err != nil {
		return toAPIError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": l.name, "tokens": toks, "top": cands})
	return nil
}
