package server

import (
	"bytes"
	"encoding/base64"
	"image"
	"net/http"

	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/tokenizer"
)

// MaxFillMaskTop bounds /api/fill-mask's top_k.
const MaxFillMaskTop = 100

// jsonModel decodes a request and finds its model, named by name once
// decoded.
func (s *Server) jsonModel(r *http.Request, rq *reqInfo, req any, name func() string) (*loaded, *apiError) {
	if e := decodeJSON(r, req); e != nil {
		return nil, e
	}
	l, e := s.model(name())
	if e != nil {
		return nil, e
	}
	rq.model = l.name
	return l, nil
}

// textModel is jsonModel for a model that must have a tokenizer.
func (s *Server) textModel(r *http.Request, rq *reqInfo, req any, name func() string) (*loaded, tokenizer.Tokenizer, *apiError) {
	l, e := s.jsonModel(r, rq, req, name)
	if e != nil {
		return nil, nil, e
	}
	tok, e := l.tokenizer()
	return l, tok, e
}

// checkText tokenizes one text against the input limit and the context.
func (s *Server) checkText(l *loaded, rq *reqInfo, text string) ([]int, *apiError) {
	in := texts{text: []string{text}}
	limit := s.cfg.Limits.MaxInputTokens
	if c := l.task.Model.Info().Context; c > 0 {
		limit = min(limit, c)
	}
	seqs, e := in.encode("text", l.task.Tokenizer, l.task.Model.Info().Vocab, limit, nil)
	if e != nil {
		return nil, e
	}
	rq.promptTokens += len(seqs[0])
	return seqs[0], nil
}

func (s *Server) tokenize(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req struct {
		Model            string `json:"model"`
		Text             string `json:"text"`
		AddSpecialTokens *bool  `json:"add_special_tokens"`
	}
	_, tok, e := s.textModel(r, rq, &req, func() string { return req.Model })
	if e != nil {
		return e
	}
	ids, err := tok.Encode(req.Text, req.AddSpecialTokens == nil || *req.AddSpecialTokens)
	if err != nil {
		return badRequest("tokenizing: %v", err)
	}
	toks, err := tokenizer.Tokens(tok, ids)
	if err != nil {
		return toAPIError(err)
	}
	rq.promptTokens = len(ids)
	writeJSON(w, http.StatusOK, map[string]any{"ids": ids, "tokens": toks})
	return nil
}

func (s *Server) detokenize(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req struct {
		Model             string `json:"model"`
		IDs               []int  `json:"ids"`
		SkipSpecialTokens bool   `json:"skip_special_tokens"`
	}
	_, tok, e := s.textModel(r, rq, &req, func() string { return req.Model })
	if e != nil {
		return e
	}
	for i, id := range req.IDs {
		if id < 0 || id >= tok.VocabSize() {
			return badRequest("ids[%d]: %d outside the vocabulary [0, %d)", i, id, tok.VocabSize())
		}
	}
	text, err := tok.Decode(req.IDs, req.SkipSpecialTokens)
	if err != nil {
		return badRequest("detokenizing: %v", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"text": text})
	return nil
}

func (s *Server) fillMask(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req struct {
		Model string `json:"model"`
		Text  string `json:"text"`
		TopK  *int   `json:"top_k"`
	}
	l, _, e := s.textModel(r, rq, &req, func() string { return req.Model })
	if e != nil {
		return e
	}
	k := 5
	if req.TopK != nil {
		if *req.TopK < 1 || *req.TopK > MaxFillMaskTop {
			return badRequest("top_k %d outside [1, %d]", *req.TopK, MaxFillMaskTop)
		}
		k = *req.TopK
	}
	mask, _, err := l.task.MaskToken()
	if err != nil {
		return badRequest("model %s: %v", l.name, err)
	}
	if _, e := s.checkText(l, rq, req.Text); e != nil {
		return e
	}
	res, err := l.task.FillMaskText(req.Text, k)
	if err != nil {
		return badRequest("fill-mask (the text needs %s): %v", mask, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": l.name, "predictions": res})
	return nil
}

// MaxImagePixels bounds an image /api/classify decodes (a small PNG can
// declare a huge canvas).
const MaxImagePixels = 4096 * 4096

// classify labels texts with a sequence classifier, or an image (base64
// PNG or JPEG) with an image classifier (ViT).
func (s *Server) classify(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req struct {
		Model string `json:"model"`
		Text  *texts `json:"text"`
		Image string `json:"image"`
	}
	l, e := s.jsonModel(r, rq, &req, func() string { return req.Model })
	if e != nil {
		return e
	}
	if (req.Text == nil) == (req.Image == "") {
		return badRequest("give text or image (base64 PNG or JPEG), one of the two")
	}
	if req.Image != "" {
		return s.classifyImage(w, l, req.Image)
	}
	if _, e := l.tokenizer(); e != nil {
		return e
	}
	if len(req.Text.ids) > 0 {
		return badRequest("text: want a string or strings")
	}
	if len(req.Text.text) == 0 {
		return badRequest("text is empty")
	}
	if len(req.Text.text) > MaxInputs {
		return badRequest("text holds %d inputs, more than %d", len(req.Text.text), MaxInputs)
	}
	seqs := make([][]int, len(req.Text.text))
	for i, t := range req.Text.text {
		var e *apiError
		if seqs[i], e = s.checkText(l, rq, t); e != nil {
			return e
		}
	}
	var res [][]infer.Label
	for _, g := range groups(seqs, s.cfg.Limits.MaxInputTokens) {
		part, err := l.task.ClassifyTexts(req.Text.text[g[0]:g[1]])
		if err != nil {
			return badRequest("model %s cannot classify: %v", l.name, err)
		}
		res = append(res, part...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": l.name, "labels": res})
	return nil
}

// decodeImage decodes a base64 PNG or JPEG for a vision model, refusing
// images over MaxImagePixels before decoding them.
func decodeImage(l *loaded, b64 string) (image.Image, *apiError) {
	if l.images == nil {
		return nil, badRequest("model %s does not take images", l.name)
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, badRequest("image: not base64: %v", err)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, badRequest("image: %v (want PNG or JPEG)", err)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, newError(http.StatusRequestEntityTooLarge, "image_too_large", "image: %d×%d pixels, more than %d", cfg.Width, cfg.Height, MaxImagePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, badRequest("image: %v", err)
	}
	return img, nil
}

func (s *Server) classifyImage(w http.ResponseWriter, l *loaded, b64 string) *apiError {
	img, e := decodeImage(l, b64)
	if e != nil {
		return e
	}
	labels, err := infer.ClassifyImage(l.task.Model, l.images, img)
	if err != nil {
		return badRequest("model %s cannot classify the image: %v", l.name, err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": l.name, "labels": [][]infer.Label{labels}})
	return nil
}

func (s *Server) translate(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req struct {
		Model string `json:"model"`
		Text  string `json:"text"`
	}
	l, _, e := s.textModel(r, rq, &req, func() string { return req.Model })
	if e != nil {
		return e
	}
	if !l.s2s {
		return badRequest("model %s is not an encoder-decoder: it cannot translate", l.name)
	}
	if _, e := s.checkText(l, rq, req.Text); e != nil {
		return e
	}
	g, err := l.generator()
	if err != nil {
		return toAPIError(err)
	}
	defer l.put(g)
	out, err := g.Translate(req.Text)
	if err != nil {
		return toAPIError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": l.name, "text": out})
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
