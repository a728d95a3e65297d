package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/attn-dev/attn/model"
)

// Default limits (the flags of attn serve override them).
const (
	DefaultAddr           = "127.0.0.1:8080"
	DefaultMaxBodyBytes   = 1 << 20 // 1 MiB
	DefaultMaxInputTokens = 4096
	DefaultMaxNewTokens   = 512
	DefaultMaxConcurrent  = 8
	DefaultMaxQueue       = 64
	// DefaultDecodeBatch is the rows a decoder-only model's concurrent
	// generations decode together in one step.
	DefaultDecodeBatch = 2 * DefaultMaxConcurrent
	// BatchMinParams is the size from which a decoder-only model's
	// generations share decode steps (see the package documentation).
	BatchMinParams = 8 << 20
	DefaultTimeout = 5 * time.Minute
	// DefaultCompletionTokens is max_tokens when /v1/completions omits
	// it (OpenAI's default).
	DefaultCompletionTokens = 16
	// MaxChoices bounds n.
	MaxChoices = 16
	// MaxAttentionValues bounds the weights /api/attention returns
	// (layers × heads × T × T), about 40 MB of JSON.
	MaxAttentionValues = 4 << 20
)

// Limits bound what one request and the server as a whole may take.
type Limits struct {
	MaxBodyBytes   int64         // request body (413 beyond)
	MaxInputTokens int           // tokens of one input (422 beyond)
	MaxNewTokens   int           // max_tokens (400 beyond)
	MaxConcurrent  int           // requests computing at once
	MaxQueue       int           // requests waiting for a slot (429 beyond)
	Timeout        time.Duration // per request, queueing included
	// DecodeBatch is the most rows a decoder-only model's concurrent
	// generations decode in one shared step (0: each decodes alone).
	DecodeBatch int
}

// DefaultLimits returns the Default* constants.
func DefaultLimits() Limits {
	return Limits{DefaultMaxBodyBytes, DefaultMaxInputTokens, DefaultMaxNewTokens, DefaultMaxConcurrent, DefaultMaxQueue, DefaultTimeout, DefaultDecodeBatch}
}

func (l Limits) validate() error {
	switch {
	case l.MaxBodyBytes <= 0:
		return fmt.Errorf("server: max body bytes %d ≤ 0", l.MaxBodyBytes)
	case l.MaxInputTokens <= 0:
		return fmt.Errorf("server: max input tokens %d ≤ 0", l.MaxInputTokens)
	case l.MaxNewTokens <= 0:
		return fmt.Errorf("server: max new tokens %d ≤ 0", l.MaxNewTokens)
	case l.MaxConcurrent <= 0:
		return fmt.Errorf("server: max concurrent requests %d ≤ 0", l.MaxConcurrent)
	case l.MaxQueue < 0:
		return fmt.Errorf("server: max queue %d < 0", l.MaxQueue)
	case l.Timeout <= 0:
		return fmt.Errorf("server: timeout %v ≤ 0", l.Timeout)
	case l.DecodeBatch < 0 || l.DecodeBatch > 4096:
		return fmt.Errorf("server: decode batch of %d rows outside [0, 4096]", l.DecodeBatch)
	}
	return nil
}

// Config configures a Server.
type Config struct {
	Limits Limits
	// APIKey, when set, is required as "Authorization: Bearer KEY" on
	// every route but /health.
	APIKey string
	Logger *slog.Logger // nil: slog.Default()
}

// Server is the HTTP API. Create it with New, add models with Load, then
// call Ready; it answers 503 until then and after Drain.
type Server struct {
	cfg     Config
	log     *slog.Logger
	routes  map[string]route
	metrics *metrics

	mu     sync.RWMutex
	models map[string]*loaded

	ready, draining atomic.Bool
	slots           chan struct{}
	waiting         atomic.Int64
	seq             atomic.Uint64
	idPrefix        string
}

type route struct {
	method  string
	handler func(w http.ResponseWriter, r *http.Request, rq *reqInfo) *apiError
	compute bool // takes a compute slot (queued, 429 when the queue is full)
}

// New returns a server with no model yet.
func New(cfg Config) (*Server, error) {
	if err := cfg.Limits.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, models: map[string]*loaded{}, slots: make(chan struct{}, cfg.Limits.MaxConcurrent)}
	if s.log == nil {
		s.log = slog.Default()
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	s.idPrefix = hex.EncodeToString(b[:])
	s.routes = map[string]route{
		"/health":              {http.MethodGet, s.health, false},
		"/metrics":             {http.MethodGet, s.serveMetrics, false},
		"/v1/models":           {http.MethodGet, s.listModels, false},
		"/v1/completions":      {http.MethodPost, s.completions, true},
		"/v1/chat/completions": {http.MethodPost, s.chatCompletions, true},
		"/v1/embeddings":       {http.MethodPost, s.embeddings, true},
		"/api/tokenize":        {http.MethodPost, s.tokenize, false},
		"/api/detokenize":      {http.MethodPost, s.detokenize, false},
		"/api/fill-mask":       {http.MethodPost, s.fillMask, true},
		"/api/classify":        {http.MethodPost, s.classify, true},
		"/api/translate":       {http.MethodPost, s.translate, true},
		"/api/attention":       {http.MethodPost, s.attention, true},
		"/api/models":          {http.MethodGet, s.explorerModels, false},
		"/api/qkv":             {http.MethodPost, s.qkv, true},
		"/api/similarity":      {http.MethodPost, s.similarity, true},
		"/api/next":            {http.MethodPost, s.next, true},
		"/":                    {http.MethodGet, s.explorer, false},
	}
	routes := make([]string, 0, len(s.routes)+1)
	for p := range s.routes {
		routes = append(routes, p)
	}
	routes = append(routes, "/v1/models/{id}", staticPrefix+"{file}", "other")
	sort.Strings(routes)
	s.metrics = newMetrics(routes)
	return s, nil
}

// Load loads the checkpoint in dir as model name.
func (s *Server) Load(name, dir string, opts ...model.Option) error {
	if name == "" || strings.ContainsAny(name, " \t\n\"") {
		return fmt.Errorf("server: model name %q: want a non-empty name without spaces or quotes", name)
	}
	s.mu.RLock()
	_, dup := s.models[name]
	s.mu.RUnlock()
	if dup {
		return fmt.Errorf("server: model name %q given twice", name)
	}
	l, err := loadModel(name, dir, time.Now().Unix(), s.cfg.Limits.DecodeBatch, opts...)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.models[name] = l
	s.mu.Unlock()
	s.log.Info("model loaded", "name", name, "dir", dir, "arch", l.task.Model.Info().Architecture, "generates", l.gen)
	return nil
}

// Ready makes /health answer 200 and the API accept requests.
func (s *Server) Ready() { s.ready.Store(true) }

// Drain makes the server refuse new requests (503) while the ones in
// flight finish; http.Server.Shutdown then waits for them.
func (s *Server) Drain() { s.draining.Store(true) }

// Close releases the models; call it after the HTTP server has stopped.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for name, l := range s.models {
		errs = append(errs, l.close())
		delete(s.models, name)
	}
	return errors.Join(errs...)
}

// model looks a model up by name (404 when absent).
func (s *Server) model(name string) (*loaded, *apiError) {
	if name == "" {
		return nil, badRequest("the field \"model\" is required")
	}
	s.mu.RLock()
	l := s.models[name]
	s.mu.RUnlock()
	if l == nil {
		return nil, newError(http.StatusNotFound, "model_not_found", "the model %q does not exist (GET /v1/models lists them)", name)
	}
	return l, nil
}

// reqInfo is what the log line and the metrics of one request say.
type reqInfo struct {
	id               string
	model            string
	promptTokens     int
	completionTokens int
	cancelledMidway  bool
}

// statusWriter remembers the status and lets streams flush.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// ServeHTTP routes, authenticates, limits, queues, logs and counts every
// request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rq := &reqInfo{id: r.Header.Get("X-Request-Id")}
	if rq.id == "" || len(rq.id) > 64 || strings.ContainsFunc(rq.id, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		rq.id = fmt.Sprintf("%s-%d", s.idPrefix, s.seq.Add(1))
	}
	sw := &statusWriter{ResponseWriter: w}
	sw.Header().Set("X-Request-Id", rq.id)
	label := "other"
	defer func() {
		d := time.Since(start)
		s.metrics.observe(label, sw.status, rq, d)
		s.log.Info("request", "id", rq.id, "method", r.Method, "route", label, "status", sw.status,
			"model", rq.model, "prompt_tokens", rq.promptTokens, "completion_tokens", rq.completionTokens,
			"duration_ms", float64(d.Microseconds())/1000, "cancelled", rq.cancelledMidway)
	}()
	rt, ok := s.routes[r.URL.Path]
	switch {
	case ok:
		label = r.URL.Path
	case strings.HasPrefix(r.URL.Path, "/v1/models/"):
		rt, ok, label = route{http.MethodGet, s.getModel, false}, true, "/v1/models/{id}"
	case strings.HasPrefix(r.URL.Path, staticPrefix):
		rt, ok, label = route{http.MethodGet, s.explorer, false}, true, staticPrefix+"{file}"
	}
	if e := s.admit(sw, r, rt, ok); e != nil {
		writeError(sw, e)
		return
	}
	if rt.method == http.MethodPost {
		r.Body = http.MaxBytesReader(sw, r.Body, s.cfg.Limits.MaxBodyBytes)
	}
	client := r.Context() // ends when the client leaves
	ctx, cancel := context.WithTimeout(client, s.cfg.Limits.Timeout)
	defer cancel()
	r = r.WithContext(ctx)
	if rt.compute {
		release, e := s.acquire(ctx)
		if e != nil {
			writeError(sw, e)
			return
		}
		defer release()
	}
	if e := rt.handler(sw, r, rq); e != nil {
		if sw.status != 0 {
			// A stream already started with its 200: tell a client still
			// listening in one last event, as OpenAI does.
			s.log.Warn("error after the response started", "id", rq.id, "error", e.Message)
			if client.Err() == nil {
				_ = (&sse{w: sw, started: true}).send(struct {
					Error *apiError `json:"error"`
				}{e})
			}
			return
		}
		writeError(sw, e)
	}
}

// admit checks the route, the method, the key and the server's state.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, rt route, ok bool) *apiError {
	if !ok {
		return newError(http.StatusNotFound, "not_found", "no route %s %s", r.Method, r.URL.Path)
	}
	if r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", rt.method)
		return newError(http.StatusMethodNotAllowed, "method_not_allowed", "%s takes %s, not %s", r.URL.Path, rt.method, r.Method)
	}
	if r.URL.Path == "/health" || r.URL.Path == "/" || strings.HasPrefix(r.URL.Path, staticPrefix) {
		// The explorer's page holds no model data: it asks for the key
		// itself when the API answers 401.
		return nil
	}
	if s.cfg.APIKey != "" {
		got, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !found || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.APIKey)) != 1 {
			return newError(http.StatusUnauthorized, "invalid_api_key", "missing or wrong API key (want Authorization: Bearer KEY)")
		}
	}
	if r.URL.Path == "/metrics" {
		return nil
	}
	if s.draining.Load() {
		return newError(http.StatusServiceUnavailable, "draining", "the server is shutting down")
	}
	if !s.ready.Load() {
		return newError(http.StatusServiceUnavailable, "loading", "the server is loading its models")
	}
	return nil
}

// acquire takes a compute slot, waiting in the queue when all are busy:
// 429 when the queue is full, 503 when the request's deadline passes or
// the client leaves first.
func (s *Server) acquire(ctx context.Context) (func(), *apiError) {
	release := func() { <-s.slots }
	select {
	case s.slots <- struct{}{}:
		return release, nil
	default:
	}
	if s.waiting.Add(1) > int64(s.cfg.Limits.MaxQueue) {
		s.waiting.Add(-1)
		return nil, newError(http.StatusTooManyRequests, "queue_full", "all %d slots are busy and %d requests wait: retry later", s.cfg.Limits.MaxConcurrent, s.cfg.Limits.MaxQueue)
	}
	defer s.waiting.Add(-1)
	select {
	case s.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, newError(http.StatusServiceUnavailable, "timeout", "no slot before the request's deadline: %v", ctx.Err())
	}
}

func (s *Server) health(w http.ResponseWriter, r *http.Request, _ *reqInfo) *apiError {
	switch {
	case s.draining.Load():
		return newError(http.StatusServiceUnavailable, "draining", "draining")
	case !s.ready.Load():
		return newError(http.StatusServiceUnavailable, "loading", "loading models")
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}
