package server

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/attn-dev/attn/infer"
)

// latencyBuckets are the upper bounds (seconds) of the latency histograms.
var latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

type histogram struct {
	counts []uint64 // per bucket, +Inf last
	sum    float64
	n      uint64
}

// metrics are the counters /metrics exposes, in Prometheus' text format
// (written by hand: no client library for a dozen lines of output).
type metrics struct {
	mu        sync.Mutex
	routes    []string
	requests  map[[2]string]uint64 // route, code
	latency   map[string]*histogram
	tokensIn  map[string]uint64 // model
	tokensOut map[string]uint64
	cancelled uint64 // generations stopped by a client leaving or a deadline
}

func newMetrics(routes []string) *metrics {
	m := &metrics{routes: routes, requests: map[[2]string]uint64{}, latency: map[string]*histogram{},
		tokensIn: map[string]uint64{}, tokensOut: map[string]uint64{}}
	for _, r := range routes {
		m.latency[r] = &histogram{counts: make([]uint64, len(latencyBuckets)+1)}
	}
	return m
}

func (m *metrics) observe(route string, code int, rq *reqInfo, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.requests[[2]string{route, strconv.Itoa(code)}]++
	h := m.latency[route]
	sec := d.Seconds()
	h.counts[sort.SearchFloat64s(latencyBuckets, sec)]++
	h.sum += sec
	h.n++
	if rq.cancelledMidway {
		m.cancelled++
	}
	if rq.model != "" {
		m.tokensIn[rq.model] += uint64(rq.promptTokens)
		m.tokensOut[rq.model] += uint64(rq.completionTokens)
	}
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, _ *reqInfo) *apiError {
	var b strings.Builder
	m := s.metrics
	m.mu.Lock()
	b.WriteString("# HELP attn_requests_total HTTP requests by route and status code.\n# TYPE attn_requests_total counter\n")
	keys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+" "+keys[i][1] < keys[j][0]+" "+keys[j][1] })
	for _, k := range keys {
		fmt.Fprintf(&b, "attn_requests_total{route=%q,code=%q} %d\n", k[0], k[1], m.requests[k])
	}
	b.WriteString("# HELP attn_request_duration_seconds Request latency by route.\n# TYPE attn_request_duration_seconds histogram\n")
	for _, r := range m.routes {
		h := m.latency[r]
		var cum uint64
		for i, le := range latencyBuckets {
			cum += h.counts[i]
			fmt.Fprintf(&b, "attn_request_duration_seconds_bucket{route=%q,le=%q} %d\n", r, strconv.FormatFloat(le, 'g', -1, 64), cum)
		}
		cum += h.counts[len(latencyBuckets)]
		fmt.Fprintf(&b, "attn_request_duration_seconds_bucket{route=%q,le=\"+Inf\"} %d\n", r, cum)
		fmt.Fprintf(&b, "attn_request_duration_seconds_sum{route=%q} %g\n", r, h.sum)
		fmt.Fprintf(&b, "attn_request_duration_seconds_count{route=%q} %d\n", r, h.n)
	}
	for _, c := range []struct {
		name, help string
		v          map[string]uint64
	}{{"attn_prompt_tokens_total", "Input tokens processed, by model.", m.tokensIn},
		{"attn_completion_tokens_total", "Tokens generated, by model.", m.tokensOut}} {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", c.name, c.help, c.name)
		names := make([]string, 0, len(c.v))
		for k := range c.v {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(&b, "%s{model=%q} %d\n", c.name, k, c.v[k])
		}
	}
	fmt.Fprintf(&b, "# HELP attn_generations_stopped_total Generations stopped early by a client leaving or a deadline.\n# TYPE attn_generations_stopped_total counter\nattn_generations_stopped_total %d\n", m.cancelled)
	m.mu.Unlock()
	s.mu.RLock()
	nModels := len(s.models)
	var batched []string
	stats := map[string]infer.BatchStats{}
	for name, l := range s.models {
		if l.batch != nil {
			batched = append(batched, name)
			stats[name] = l.batch.Stats()
		}
	}
	s.mu.RUnlock()
	sort.Strings(batched)
	for _, c := range []struct {
		name, help string
		v          func(infer.BatchStats) int64
	}{
		{"attn_decode_steps_total", "Decode steps (forward passes) shared by a model's concurrent generations.", func(st infer.BatchStats) int64 { return st.Steps }},
		{"attn_decode_step_rows_total", "Tokens decoded by those steps (over attn_decode_steps_total: the mean batch).", func(st infer.BatchStats) int64 { return st.Rows }},
	} {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", c.name, c.help, c.name)
		for _, name := range batched {
			fmt.Fprintf(&b, "%s{model=%q} %d\n", c.name, name, c.v(stats[name]))
		}
	}
	fmt.Fprintf(&b, "# HELP attn_queue_depth Requests waiting for a compute slot.\n# TYPE attn_queue_depth gauge\nattn_queue_depth %d\n", s.waiting.Load())
	fmt.Fprintf(&b, "# HELP attn_requests_in_flight Requests holding a compute slot.\n# TYPE attn_requests_in_flight gauge\nattn_requests_in_flight %d\n", len(s.slots))
	fmt.Fprintf(&b, "# HELP attn_models_loaded Models loaded.\n# TYPE attn_models_loaded gauge\nattn_models_loaded %d\n", nModels)
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
	return nil
}
