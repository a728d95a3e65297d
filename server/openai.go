package server

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/attn-dev/attn/infer"
)

type modelCard struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (l *loaded) card() modelCard { return modelCard{l.name, "model", l.created, "attn"} }

func (s *Server) listModels(w http.ResponseWriter, r *http.Request, _ *reqInfo) *apiError {
	s.mu.RLock()
	data := make([]modelCard, 0, len(s.models))
	for _, l := range s.models {
		data = append(data, l.card())
	}
	s.mu.RUnlock()
	slices.SortFunc(data, func(a, b modelCard) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
	return nil
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request, _ *reqInfo) *apiError {
	l, e := s.model(strings.TrimPrefix(r.URL.Path, "/v1/models/"))
	if e != nil {
		return e
	}
	writeJSON(w, http.StatusOK, l.card())
	return nil
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// sse writes server-sent events; the 200 and the headers go out with the
// first event, so that an error found before it still gets its status.
type sse struct {
	w       http.ResponseWriter
	started bool
}

func (e *sse) send(v any) error {
	if !e.started {
		h := e.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Accel-Buffering", "no")
		e.w.WriteHeader(http.StatusOK)
		e.started = true
	}
	var b []byte
	if s, ok := v.(string); ok {
		b = []byte(s)
	} else {
		var err error
		if b, err = json.Marshal(v); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(e.w, "data: %s\n\n", b); err != nil {
		return err
	}
	e.w.(http.Flusher).Flush()
	return nil
}

// choiceOut is one generated choice.
type choiceOut struct {
	ids    []int
	text   string
	finish string
}

// genJob is one request's generation: prompts × n choices, each streamed
// through emit(choice index, piece).
type genJob struct {
	l       *loaded
	prompts [][]int
	n       int
	maxNew  int
	p       *sampling
}

// run generates every choice in order (prompt i's choice j has index
// i·n+j) with seed+index, so that a request is reproducible stream or
// not.
func (s *Server) run(ctx context.Context, job genJob, rq *reqInfo, emit func(index int, piece string) error) ([]choiceOut, *apiError) {
	if !job.l.gen {
		return nil, badRequest("model %s cannot generate (it is a %s)", job.l.name, job.l.task.Model.Info().Architecture)
	}
	info := job.l.task.Model.Info()
	for _, p := range job.prompts {
		rq.promptTokens += len(p)
		if !job.l.s2s && info.Context > 0 && len(p)+job.maxNew > info.Context {
			return nil, toAPIError(&infer.ContextError{What: "prompt", Tokens: len(p), New: job.maxNew, Limit: info.Context})
		}
	}
	g, err := job.l.generator()
	if err != nil {
		return nil, toAPIError(err)
	}
	defer job.l.put(g)
	cfg := g.Config
	cfg.MaxLength, cfg.MaxNewTokens = 0, job.maxNew
	cfg.MinLength, cfg.MinNewTokens = 0, 0
	cfg.NumBeams, cfg.NumReturnSequences, cfg.TopK = 1, 1, 0
	cfg.Temperature, cfg.TopP = 1, 1
	if job.p.Temperature != nil {
		cfg.Temperature = *job.p.Temperature
	}
	if job.p.TopP != nil {
		cfg.TopP = *job.p.TopP
	}
	cfg.DoSample = cfg.Temperature > 0
	if !cfg.DoSample {
		cfg.Temperature = 1
	}
	seed := rand.Uint64()
	if job.p.Seed != nil {
		seed = uint64(*job.p.Seed)
	}
	cfg.StopStrings = job.p.Stop
	if err := cfg.Validate(info.Vocab); err != nil {
		return nil, badRequest("%v", err)
	}
	var out []choiceOut
	for i, prompt := range job.prompts {
		for j := range job.n {
			index := i*job.n + j
			cfg.Seed = seed + uint64(index)
			f := &stopFilter{stop: job.p.Stop, emit: func(piece string) error { return emit(index, piece) }}
			gen, err := g.Generate(infer.Request{PromptIDs: prompt, Config: cfg, OnText: func(piece string) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				return f.push(piece)
			}})
			if err != nil {
				if ctx.Err() != nil {
					return nil, stopped(ctx, rq)
				}
				return nil, toAPIError(err)
			}
			text, cut := cutStop(gen.Text, job.p.Stop)
			if err := f.finish(text); err != nil {
				return nil, stopped(ctx, rq)
			}
			finish := "stop"
			if !cut && len(gen.IDs) >= job.maxNew && !slices.Contains(cfg.EOSTokenIDs, gen.IDs[len(gen.IDs)-1]) {
				finish = "length"
			}
			rq.completionTokens += len(gen.IDs)
			out = append(out, choiceOut{ids: gen.IDs, text: text, finish: finish})
		}
	}
	return out, nil
}

// stopped is the error of a generation its context stopped: 504 past the
// request's deadline, else the client left (499, nginx's "client closed
// request": nobody reads it, the log and the metrics do).
func stopped(ctx context.Context, rq *reqInfo) *apiError {
	rq.cancelledMidway = true
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return newError(http.StatusGatewayTimeout, "timeout", "the request's deadline passed during generation")
	}
	return newError(499, "client_closed", "the client closed the request")
}

type completionRequest struct {
	Model    string `json:"model"`
	Prompt   *texts `json:"prompt"`
	Logprobs *int   `json:"logprobs"`
	Echo     bool   `json:"echo"`
	sampling
}

func newID(prefix string) string {
	return fmt.Sprintf("%s-%016x", prefix, rand.Uint64())
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req completionRequest
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	l, e := s.model(req.Model)
	if e != nil {
		return e
	}
	rq.model = l.name
	maxNew, n, e := req.check(DefaultCompletionTokens, s.cfg.Limits.MaxNewTokens)
	if e != nil {
		return e
	}
	if req.Prompt == nil {
		return badRequest("the field \"prompt\" is required")
	}
	if req.Echo {
		return badRequest("echo is not supported")
	}
	if req.Logprobs != nil && (*req.Logprobs < 0 || *req.Logprobs > 5) {
		return badRequest("logprobs %d outside [0, 5]", *req.Logprobs)
	}
	prompts, e := req.Prompt.encode("prompt", l.task.Tokenizer, l.task.Model.Info().Vocab, s.cfg.Limits.MaxInputTokens, l.emptyPrompt())
	if e != nil {
		return e
	}
	id, created := newID("cmpl"), time.Now().Unix()
	chunk := func(choices []map[string]any) map[string]any {
		m := map[string]any{"id": id, "object": "text_completion", "created": created, "model": l.name, "choices": choices}
		if req.includeUsage() {
			m["usage"] = nil
		}
		return m
	}
	job := genJob{l: l, prompts: prompts, n: n, maxNew: maxNew, p: &req.sampling}
	if req.Stream {
		ev := &sse{w: w}
		outs, e := s.run(r.Context(), job, rq, func(index int, piece string) error {
			return ev.send(chunk([]map[string]any{{"text": piece, "index": index, "logprobs": nil, "finish_reason": nil}}))
		})
		if e != nil {
			return e
		}
		for i, o := range outs {
			// Logprobs come with a choice's last chunk: they take a
			// forward pass over the whole choice.
			var lp any
			if req.Logprobs != nil {
				if lp, e = s.completionLogprobs(l, prompts[i/n], o, *req.Logprobs); e != nil {
					return e
				}
			}
			if err := ev.send(chunk([]map[string]any{{"text": "", "index": i, "logprobs": lp, "finish_reason": o.finish}})); err != nil {
				return nil
			}
		}
		return finishStream(ev, chunk, req.includeUsage(), rq)
	}
	outs, e := s.run(r.Context(), job, rq, func(int, string) error { return nil })
	if e != nil {
		return e
	}
	choices := make([]map[string]any, len(outs))
	for i, o := range outs {
		var lp any
		if req.Logprobs != nil {
			if lp, e = s.completionLogprobs(l, prompts[i/n], o, *req.Logprobs); e != nil {
				return e
			}
		}
		choices[i] = map[string]any{"text": o.text, "index": i, "logprobs": lp, "finish_reason": o.finish}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "text_completion", "created": created, "model": l.name,
		"choices": choices, "usage": rq.usage()})
	return nil
}

func (rq *reqInfo) usage() usage {
	return usage{rq.promptTokens, rq.completionTokens, rq.promptTokens + rq.completionTokens}
}

// finishStream sends the usage chunk when asked, then [DONE].
func finishStream(ev *sse, chunk func([]map[string]any) map[string]any, withUsage bool, rq *reqInfo) *apiError {
	if !ev.started { // nothing generated at all: still a valid stream
		_ = ev.send(chunk([]map[string]any{}))
	}
	if withUsage {
		c := chunk([]map[string]any{})
		c["usage"] = rq.usage()
		if ev.send(c) != nil {
			return nil
		}
	}
	_ = ev.send("[DONE]")
	return nil
}

type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
	Name    string          `json:"name"`
}

// text is a message's content: a string or text parts.
func (m chatMessage) text(i int) (string, *apiError) {
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return "", badRequest("messages[%d].content: want a string or a list of text parts", i)
	}
	var b strings.Builder
	for j, p := range parts {
		if p.Type != "text" {
			return "", badRequest("messages[%d].content[%d]: part type %q is not supported (only text)", i, j, p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

type chatRequest struct {
	Model       string        `json:"model"`
	Messages    []chatMessage `json:"messages"`
	Logprobs    bool          `json:"logprobs"`
	TopLogprobs *int          `json:"top_logprobs"`
	sampling
}

// chatPrompt joins the messages' contents with newlines: the models here
// have no chat template (see the package documentation).
func chatPrompt(msgs []chatMessage) (string, *apiError) {
	if len(msgs) == 0 {
		return "", badRequest("messages is empty")
	}
	parts := make([]string, len(msgs))
	for i, m := range msgs {
		switch m.Role {
		case "system", "developer", "user", "assistant", "tool":
		default:
			return "", badRequest("messages[%d].role %q: want system, developer, user, assistant or tool", i, m.Role)
		}
		t, e := m.text(i)
		if e != nil {
			return "", e
		}
		parts[i] = t
	}
	return strings.Join(parts, "\n"), nil
}

func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req chatRequest
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	l, e := s.model(req.Model)
	if e != nil {
		return e
	}
	rq.model = l.name
	maxNew, n, e := req.check(s.cfg.Limits.MaxNewTokens, s.cfg.Limits.MaxNewTokens)
	if e != nil {
		return e
	}
	top := 0
	if req.TopLogprobs != nil {
		if *req.TopLogprobs < 0 || *req.TopLogprobs > 20 {
			return badRequest("top_logprobs %d outside [0, 20]", *req.TopLogprobs)
		}
		if !req.Logprobs {
			return badRequest("top_logprobs needs logprobs: true")
		}
		top = *req.TopLogprobs
	}
	prompt, e := chatPrompt(req.Messages)
	if e != nil {
		return e
	}
	in := texts{text: []string{prompt}}
	prompts, e := in.encode("messages", l.task.Tokenizer, l.task.Model.Info().Vocab, s.cfg.Limits.MaxInputTokens, l.emptyPrompt())
	if e != nil {
		return e
	}
	if req.MaxTokens == nil && req.MaxCompletionTokens == nil && !l.s2s {
		// As OpenAI: without a bound, up to the context's end.
		if c := l.task.Model.Info().Context; c > 0 {
			maxNew = max(1, min(maxNew, c-len(prompts[0])))
		}
	}
	id, created := newID("chatcmpl"), time.Now().Unix()
	job := genJob{l: l, prompts: prompts, n: n, maxNew: maxNew, p: &req.sampling}
	if req.Stream {
		ev := &sse{w: w}
		chunk := func(choices []map[string]any) map[string]any {
			m := map[string]any{"id": id, "object": "chat.completion.chunk", "created": created, "model": l.name, "choices": choices}
			if req.includeUsage() {
				m["usage"] = nil
			}
			return m
		}
		began := map[int]bool{}
		delta := func(index int, d map[string]any, lp, finish any) error {
			if !began[index] {
				d["role"] = "assistant"
				began[index] = true
			}
			return ev.send(chunk([]map[string]any{{"index": index, "delta": d, "logprobs": lp, "finish_reason": finish}}))
		}
		outs, e := s.run(r.Context(), job, rq, func(index int, piece string) error {
			return delta(index, map[string]any{"content": piece}, nil, nil)
		})
		if e != nil {
			return e
		}
		for i, o := range outs {
			lp, e := chatLogprobs(s, l, req.Logprobs, prompts[0], o, top)
			if e != nil {
				return e
			}
			if err := delta(i, map[string]any{}, lp, o.finish); err != nil {
				return nil
			}
		}
		return finishStream(ev, chunk, req.includeUsage(), rq)
	}
	outs, e := s.run(r.Context(), job, rq, func(int, string) error { return nil })
	if e != nil {
		return e
	}
	choices := make([]map[string]any, len(outs))
	for i, o := range outs {
		lp, e := chatLogprobs(s, l, req.Logprobs, prompts[0], o, top)
		if e != nil {
			return e
		}
		choices[i] = map[string]any{"index": i, "message": map[string]any{"role": "assistant", "content": o.text},
			"logprobs": lp, "finish_reason": o.finish}
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "object": "chat.completion", "created": created, "model": l.name,
		"choices": choices, "usage": rq.usage()})
	return nil
}

// chatLogprobs is a chat choice's logprobs field (nil unless asked).
func chatLogprobs(s *Server, l *loaded, want bool, prompt []int, o choiceOut, top int) (any, *apiError) {
	if !want {
		return nil, nil
	}
	content, e := s.tokenLogprobs(l, prompt, o.ids, top)
	if e != nil {
		return nil, e
	}
	return map[string]any{"content": content}, nil
}

type embeddingRequest struct {
	Model          string `json:"model"`
	Input          *texts `json:"input"`
	EncodingFormat string `json:"encoding_format"`
	Dimensions     *int   `json:"dimensions"`
	User           string `json:"user"`
}

func (s *Server) embeddings(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError {
	var req embeddingRequest
	if e := decodeJSON(r, &req); e != nil {
		return e
	}
	l, e := s.model(req.Model)
	if e != nil {
		return e
	}
	rq.model = l.name
	if req.Input == nil {
		return badRequest("the field \"input\" is required")
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		return badRequest("encoding_format %q: want float or base64", req.EncodingFormat)
	}
	info := l.task.Model.Info()
	if req.Dimensions != nil && *req.Dimensions != info.Hidden {
		return badRequest("dimensions %d: model %s gives %d", *req.Dimensions, l.name, info.Hidden)
	}
	limit := s.cfg.Limits.MaxInputTokens
	if info.Context > 0 {
		limit = min(limit, info.Context)
	}
	seqs, e := req.Input.encode("input", l.task.Tokenizer, info.Vocab, limit, nil)
	if e != nil {
		return e
	}
	for _, q := range seqs {
		rq.promptTokens += len(q)
	}
	var embs []infer.Embedding
	for _, g := range groups(seqs, limit) {
		part, err := infer.Embed(l.task.Model, seqs[g[0]:g[1]], -1, infer.PoolMean)
		if err != nil {
			return toAPIError(err)
		}
		embs = append(embs, part...)
	}
	data := make([]map[string]any, len(embs))
	for i, em := range embs {
		var v any = em.Vector
		if req.EncodingFormat == "base64" {
			v = base64Floats(em.Vector)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": v}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data, "model": l.name,
		"usage": map[string]int{"prompt_tokens": rq.promptTokens, "total_tokens": rq.promptTokens}})
	return nil
}

// base64Floats encodes little-endian float32s, as the OpenAI SDKs decode
// encoding_format=base64.
func base64Floats(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// groups splits seqs into runs of consecutive sequences whose padded
// batch (count × longest) stays within budget tokens, one sequence at
// least, so that one forward's activations stay bounded however many
// inputs a request has.
func groups(seqs [][]int, budget int) [][2]int {
	var out [][2]int
	lo, longest := 0, 0
	for i, s := range seqs {
		l := max(longest, len(s))
		if i > lo && (i-lo+1)*l > budget {
			out = append(out, [2]int{lo, i})
			lo, l = i, len(s)
		}
		longest = l
	}
	return append(out, [2]int{lo, len(seqs)})
}
