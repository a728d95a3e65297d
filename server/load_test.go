package server

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLoad is the load test (ATTN_SERVE_LOAD=1 runs it; ATTN_SERVE_LOAD_SECONDS
// sets its length, 30 by default): one client alone, then 64 concurrent
// clients on 127.0.0.1, each sending greedy 16-token completions in a
// loop, bounded by time and by LoadMaxRequests. Only 429 may fail; it
// reports p50/p99 latency, aggregate tokens/s against the lone client's,
// and goroutines and heap before and after. ATTN_SERVE_DECODE_BATCH and
// ATTN_SERVE_MAX_CONCURRENT override those limits (0 batch: every
// generation decodes alone; a batch size given batches models of any
// size); ATTN_SERVE_LOAD_MODEL names a checkpoint
// directory to load instead of the tiny test GPT-2.
//
//	ATTN_SERVE_LOAD=1 go test -run TestLoad -v ./server/
func TestLoad(t *testing.T) {
	if os.Getenv("ATTN_SERVE_LOAD") == "" {
		t.Skip("set ATTN_SERVE_LOAD=1 to run the load test")
	}
	const clients, LoadMaxRequests = 64, 200000
	secs := 30
	if v, err := strconv.Atoi(os.Getenv("ATTN_SERVE_LOAD_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	defer func(n int64) { batchMinParams = n }(batchMinParams)
	batchMinParams = BatchMinParams
	lim := DefaultLimits()
	if v, err := strconv.Atoi(os.Getenv("ATTN_SERVE_DECODE_BATCH")); err == nil {
		lim.DecodeBatch = v
		batchMinParams = 0 // asked for: whatever the model's size
	}
	if v, err := strconv.Atoi(os.Getenv("ATTN_SERVE_MAX_CONCURRENT")); err == nil {
		lim.MaxConcurrent = v
	}
	s, ts := newTestServer(t, lim, "")
	ts.Close()
	name := "gpt"
	if dir := os.Getenv("ATTN_SERVE_LOAD_MODEL"); dir != "" {
		name = "load"
		if err := s.Load(name, dir); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go serveOn(ln, s)
	defer ln.Close()
	url := "http://" + ln.Addr().String() + "/v1/completions"
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	body := `{"model":"` + name + `","prompt":"The dog chased the ball because","max_tokens":16,"temperature":0}`

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	type result struct {
		lat     []time.Duration
		tokens  int
		n429    int
		errs    []string
		elapsed time.Duration
	}
	phase := func(n int, d time.Duration) result {
		var mu sync.Mutex
		var res result
		var sent int64
		start := time.Now()
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < d {
					mu.Lock()
					if sent >= LoadMaxRequests {
						mu.Unlock()
						return
					}
					sent++
					mu.Unlock()
					t0 := time.Now()
					resp, err := client.Post(url, "application/json", strings.NewReader(body))
					if err != nil {
						mu.Lock()
						res.errs = append(res.errs, err.Error())
						mu.Unlock()
						return
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					lat := time.Since(t0)
					var r struct {
						Usage struct {
							CompletionTokens int `json:"completion_tokens"`
						}
					}
					mu.Lock()
					switch {
					case resp.StatusCode == 429:
						res.n429++
					case resp.StatusCode != 200 || json.Unmarshal(b, &r) != nil:
						res.errs = append(res.errs, fmt.Sprintf("%d %s", resp.StatusCode, b))
					default:
						res.lat = append(res.lat, lat)
						res.tokens += r.Usage.CompletionTokens
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		res.elapsed = time.Since(start)
		return res
	}
	pct := func(l []time.Duration, p float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		slices.Sort(l)
		return l[min(len(l)-1, int(p*float64(len(l))))]
	}
	// A first request starts the kernels' worker pool and fills the
	// pools: the baseline comes after it.
	if resp, err := client.Post(url, "application/json", strings.NewReader(body)); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	tr.CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	g0, h0 := runtime.NumGoroutine(), heap()
	one := phase(1, time.Duration(secs)*time.Second/6)
	many := phase(clients, time.Duration(secs)*time.Second)
	tr.CloseIdleConnections()
	time.Sleep(500 * time.Millisecond)
	g1, h1 := runtime.NumGoroutine(), heap()
	for _, r := range []result{one, many} {
		if len(r.errs) > 0 {
			t.Errorf("%d errors other than 429, first: %s", len(r.errs), r.errs[0])
		}
	}
	tps := func(r result) float64 { return float64(r.tokens) / r.elapsed.Seconds() }
	t.Logf("1 client:   %d requests in %.1fs, p50 %v p99 %v, %.0f tokens/s", len(one.lat), one.elapsed.Seconds(), pct(one.lat, .5), pct(one.lat, .99), tps(one))
	t.Logf("%d clients: %d requests in %.1fs (%d × 429), p50 %v p99 %v, %.0f tokens/s (%.2f× one client's)",
		clients, len(many.lat), many.elapsed.Seconds(), many.n429, pct(many.lat, .5), pct(many.lat, .99), tps(many), tps(many)/tps(one))
	if l, e := s.model(name); e == nil && l.batch != nil {
		st := l.batch.Stats()
		t.Logf("shared decode steps: %d, %.2f rows a step, %d compactions", st.Steps, float64(st.Rows)/float64(max(st.Steps, 1)), st.Compactions)
	}
	t.Logf("goroutines %d → %d, heap %.1f MB → %.1f MB", g0, g1, float64(h0)/1e6, float64(h1)/1e6)
	if g1 > g0+4 {
		t.Errorf("goroutines grew: %d → %d", g0, g1)
	}
	if h1 > 2*h0+16<<20 && name == "gpt" { // a large model's pool of generators is larger
		t.Errorf("heap grew: %d → %d bytes", h0, h1)
	}
}
