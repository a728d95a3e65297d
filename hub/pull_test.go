package hub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/hub"
	"github.com/attn-dev/attn/hub/hubtest"
	"github.com/attn-dev/attn/model"
)

// tinyGPT2 is the real tiny checkpoint the test hub serves.
func tinyGPT2(t *testing.T) string {
	t.Helper()
	return filepath.Join("..", "testdata", "models", "real", "tiny-random-gpt2")
}

// newHub starts a test hub serving tiny-random-gpt2 as org/tiny-gpt2
// (tagged v1 too) and returns it with a client of an empty cache.
func newHub(t *testing.T) (*hubtest.Server, *hub.Client, map[string][]byte) {
	t.Helper()
	dir := tinyGPT2(t)
	s := hubtest.New()
	t.Cleanup(s.Close)
	files := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch e.Name() {
		case "inputs.safetensors", "outputs.safetensors", "SOURCE.txt": // the repository's own fixtures
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			files[e.Name()] = b
		}
	}
	files["README.md"] = []byte("not wanted")
	files["onnx/model.onnx"] = []byte("not wanted")
	s.Add("org/tiny-gpt2", files)
	s.Tag("org/tiny-gpt2", "v1")
	return s, client(t, s), files
}

func client(t *testing.T, s *hubtest.Server) *hub.Client {
	t.Helper()
	t.Setenv("HF_ENDPOINT", s.URL)
	t.Setenv("HF_TOKEN", "")
	t.Setenv("ATTN_HOME", t.TempDir())
	t.Setenv("ATTN_OFFLINE", "")
	t.Setenv("HF_HUB_OFFLINE", "")
	c, err := hub.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	c.Stall = 5 * time.Second
	return c
}

func TestPullLoadsAsTheOriginal(t *testing.T) {
	s, c, files := newHub(t)
	c.Token = "hf_secret"
	p, err := c.Pull(context.Background(), "org/tiny-gpt2")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for name := range files {
		if name != "README.md" && name != "onnx/model.onnx" && name != "SOURCE.txt" {
			want = append(want, name)
		}
	}
	got, _ := filepath.Glob(filepath.Join(p.Dir, "*"))
	for i := range got {
		got[i] = filepath.Base(got[i])
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("pulled files %v, want %v", got, want)
	}
	for _, name := range want {
		b, err := os.ReadFile(filepath.Join(p.Dir, name))
		if err != nil || !bytes.Equal(b, files[name]) {
			t.Errorf("%s differs from the served file (%v)", name, err)
		}
	}
	dir, err := c.Cache.Resolve("org/tiny-gpt2")
	if err != nil || dir != p.Dir {
		t.Fatalf("Resolve = %q, %v; want %q", dir, err, p.Dir)
	}
	if l := logits(t, dir); !slices.Equal(l, logits(t, tinyGPT2(t))) {
		t.Error("the pulled checkpoint's logits differ from the original's")
	}
	for _, r := range s.Requests() {
		if r.CDN && r.Authorization != "" || !r.CDN && r.Authorization != "Bearer hf_secret" {
			t.Errorf("request %+v: the token goes to the hub only", r)
		}
	}
	// A second pull finds everything in place and transfers nothing.
	n := len(s.Requests())
	if p, err = c.Pull(context.Background(), "org/tiny-gpt2"); err != nil || p.Fetched != 0 || len(s.Requests()) != n+1 {
		t.Errorf("second pull: fetched %d, %d requests after the listing, %v", p.Fetched, len(s.Requests())-n-1, err)
	}
}

// logits runs GPT-2 on a fixed prompt.
func logits(t *testing.T, dir string) []float32 {
	t.Helper()
	m, err := model.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ids := []int{1, 5, 9, 2} // inside every test vocabulary
	out, err := m.Forward(autograd.NewGraph(false), &model.Inputs{B: 1, T: len(ids), InputIDs: ids}, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(out.Values[slices.Index(out.Names, "logits")].Data())
}

func TestResume(t *testing.T) {
	const cut = 100_000
	for _, tc := range []struct {
		name    string
		retries int // 0: the pull fails and the next one resumes
	}{{"within one pull", 3}, {"in the next pull", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			s, c, files := newHub(t)
			c.Retries = tc.retries
			s.DropAfter("model.safetensors", cut)
			_, err := c.Pull(context.Background(), "org/tiny-gpt2")
			if tc.retries == 0 {
				if err == nil {
					t.Fatal("a pull whose connection broke succeeded without retries")
				}
				part, _ := filepath.Glob(filepath.Join(c.Cache.Dir, "models", "org--tiny-gpt2", "snapshots", "*", "model.safetensors.part"))
				if st, err := os.Stat(part[0]); err != nil || st.Size() != cut {
					t.Fatalf("the partial download holds %v bytes, want %d", st.Size(), cut)
				}
				if _, err := c.Cache.Resolve("org/tiny-gpt2"); !errors.Is(err, hub.ErrNotCached) {
					t.Errorf("an unfinished pull resolves: %v", err)
				}
				_, err = c.Pull(context.Background(), "org/tiny-gpt2")
			}
			if err != nil {
				t.Fatal(err)
			}
			var ranges []string
			for _, r := range s.Requests() {
				if r.CDN {
					ranges = append(ranges, r.Range)
				}
			}
			if want := []string{"", fmt.Sprintf("bytes=%d-", cut)}; !slices.Equal(ranges, want) {
				t.Errorf("CDN requests' Range %q, want %q", ranges, want)
			}
			dir, err := c.Cache.Resolve("org/tiny-gpt2")
			if err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "model.safetensors")); !bytes.Equal(b, files["model.safetensors"]) {
				t.Error("the resumed file differs from the original")
			}
		})
	}
}

func TestCorruptRefetched(t *testing.T) {
	for _, tc := range []struct {
		file    string
		times   int
		wantErr bool
	}{
		{"model.safetensors", 1, false}, // sha256 of an LFS file
		{"vocab.json", 1, false},        // git blob id of a plain file
		{"model.safetensors", 2, true},
	} {
		t.Run(fmt.Sprintf("%s×%d", tc.file, tc.times), func(t *testing.T) {
			s, c, _ := newHub(t)
			s.Corrupt(tc.file, tc.times)
			_, err := c.Pull(context.Background(), "org/tiny-gpt2")
			if tc.wantErr {
				if !errors.Is(err, hub.ErrChecksum) || !strings.Contains(err.Error(), "fetched twice") {
					t.Fatalf("err = %v, want a checksum mismatch fetched twice", err)
				}
				if _, err := c.Cache.Resolve("org/tiny-gpt2"); !errors.Is(err, hub.ErrNotCached) {
					t.Errorf("a damaged pull resolves: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			gets, lfs := 0, hubtest.IsLFS(tc.file)
			for _, r := range s.Requests() {
				if r.CDN == lfs && strings.HasSuffix(r.Path, tc.file) || lfs && r.CDN {
					gets++
				}
			}
			if gets != 2 {
				t.Errorf("%d requests for %s, want 2", gets, tc.file)
			}
		})
	}
}

func TestPullErrors(t *testing.T) {
	s, c, _ := newHub(t)
	s.Add("org/gated", map[string][]byte{"config.json": []byte("{}"), "model.safetensors": []byte("x")})
	s.Gate("org/gated", "hf_good")
	s.Add("org/no-weights", map[string][]byte{"config.json": []byte("{}")})
	for _, tc := range []struct {
		name, token string
		kind        error
		msg         string
	}{
		{"org/missing", "", hub.ErrRepoNotFound, "repository org/missing not found"},
		{"org/tiny-gpt2@nope", "", hub.ErrRevisionNotFound, `has no revision "nope"`},
		{"org/gated", "", hub.ErrAccess, "is gated (HTTP 401"},
		{"org/gated", "", hub.ErrAccess, "set HF_TOKEN"},
		{"org/gated", "hf_bad", hub.ErrAccess, "HF_TOKEN is set"},
		{"org/no-weights", "", nil, "has neither model.safetensors nor pytorch_model.bin"},
		{"org/../x", "", nil, "not a repository name"},
		{"org/x@", "", nil, "not a revision"},
	} {
		c.Token = tc.token
		_, err := c.Pull(context.Background(), tc.name)
		if err == nil || tc.kind != nil && !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("Pull(%s) with token %q: %v; want %v containing %q", tc.name, tc.token, err, tc.kind, tc.msg)
		}
	}
	c.Token = "hf_good"
	if _, err := c.Pull(context.Background(), "org/gated"); err != nil {
		t.Errorf("gated repository with its token: %v", err)
	}
}

func TestNetworkDown(t *testing.T) {
	s := hubtest.New()
	c := client(t, s)
	s.Close() // nothing listens at the endpoint any more
	_, err := c.Pull(context.Background(), "org/tiny-gpt2")
	if !errors.Is(err, hub.ErrNetwork) || !strings.Contains(err.Error(), "cannot reach") {
		t.Errorf("err = %v, want ErrNetwork saying it cannot reach the hub", err)
	}
}

func TestDiskFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	_, c, _ := newHub(t)
	snap := snapshotDir(t, c)
	// Writes to /dev/full fail with ENOSPC, as on a full disk.
	if err := os.Symlink("/dev/full", filepath.Join(snap, "model.safetensors.part")); err != nil {
		t.Fatal(err)
	}
	_, err := c.Pull(context.Background(), "org/tiny-gpt2")
	if !errors.Is(err, hub.ErrDiskFull) || !strings.Contains(err.Error(), "ATTN_HOME") {
		t.Errorf("err = %v, want ErrDiskFull naming ATTN_HOME", err)
	}
}

// noNetwork fails the test on any request.
type noNetwork struct{ t *testing.T }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("offline, yet a request for %s", r.URL)
	return nil, errors.New("offline")
}

func TestOffline(t *testing.T) {
	_, c, _ := newHub(t)
	online := c.HTTP
	c.HTTP = &http.Client{Transport: noNetwork{t}}
	c.Offline = true
	_, err := c.Pull(context.Background(), "org/tiny-gpt2")
	if !errors.Is(err, hub.ErrOffline) || !strings.Contains(err.Error(), "attn pull org/tiny-gpt2") {
		t.Errorf("offline pull of an uncached name: %v", err)
	}
	c.HTTP, c.Offline = online, false
	if _, err := c.Pull(context.Background(), "org/tiny-gpt2"); err != nil {
		t.Fatal(err)
	}
	c.HTTP, c.Offline = &http.Client{Transport: noNetwork{t}}, true
	p, err := c.Pull(context.Background(), "org/tiny-gpt2")
	if err != nil || !p.Cached {
		t.Errorf("offline pull of a cached name: %+v, %v", p, err)
	}
	t.Setenv("ATTN_OFFLINE", "1")
	if c, err := hub.NewClient(); err != nil || !c.Offline {
		t.Errorf("ATTN_OFFLINE=1: client offline %v, %v", c.Offline, err)
	}
}

func TestConcurrentFiles(t *testing.T) {
	s, c, files := newHub(t)
	shards := map[string][]byte{"config.json": files["config.json"], "model.safetensors.index.json": []byte(`{"weight_map": {}}`)}
	for i := 1; i <= 4; i++ {
		shards[fmt.Sprintf("model-%05d-of-00004.safetensors", i)] = bytes.Repeat([]byte{byte(i)}, 1000*i)
	}
	s.Add("org/sharded", shards)
	c.Concurrency = 3
	s.Barrier(3)
	p, err := c.Pull(context.Background(), "org/sharded")
	if err != nil {
		t.Fatal(err)
	}
	if got := s.MaxInFlight(); got != 3 {
		t.Errorf("%d files in flight at once, want 3", got)
	}
	if len(p.Files) != len(shards) {
		t.Errorf("pulled %d files, want %d", len(p.Files), len(shards))
	}
}

func TestProgressLines(t *testing.T) {
	_, c, _ := newHub(t)
	var buf syncBuffer
	c.NewProgress = hub.LineProgress(&buf, time.Millisecond)
	if _, err := c.Pull(context.Background(), "org/tiny-gpt2"); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[0], "pull org/tiny-gpt2: ") || !strings.Contains(lines[len(lines)-1], "(100%)") || !strings.Contains(out, "/s, ETA ") {
		t.Errorf("progress lines:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer the progress goroutine may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestConcurrentPullsOfOneRepo: two pulls of the same name at once both
// succeed, one after the other, and the files are whole.
func TestConcurrentPullsOfOneRepo(t *testing.T) {
	s, c, files := newHub(t)
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := c.Pull(context.Background(), "org/tiny-gpt2")
			errs <- err
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	dir, err := c.Cache.Resolve("org/tiny-gpt2")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "model.safetensors")); !bytes.Equal(b, files["model.safetensors"]) {
		t.Error("model.safetensors spoiled by two pulls at once")
	}
	cdn := 0
	for _, r := range s.Requests() {
		if r.CDN {
			cdn++
		}
	}
	if cdn != 1 {
		t.Errorf("model.safetensors fetched %d times, want once (the second pull finds it)", cdn)
	}
}

// TestResumeRefused: a server that ignores Range sends the whole file;
// what the partial file held (here damaged) is replaced, not kept.
func TestResumeRefused(t *testing.T) {
	s, c, files := newHub(t)
	s.IgnoreRange()
	snap := snapshotDir(t, c)
	if err := os.WriteFile(filepath.Join(snap, "model.safetensors.part"), bytes.Repeat([]byte{0xee}, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := c.Pull(context.Background(), "org/tiny-gpt2")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(p.Dir, "model.safetensors")); !bytes.Equal(b, files["model.safetensors"]) {
		t.Error("model.safetensors differs from the original")
	}
	var ranges []string
	for _, r := range s.Requests() {
		if r.CDN {
			ranges = append(ranges, r.Range)
		}
	}
	if !slices.Equal(ranges, []string{"bytes=5000-"}) {
		t.Errorf("CDN requests' Range %q, want one from byte 5000 (answered with the whole file)", ranges)
	}
}

// snapshotDir makes the snapshot directory a pull of org/tiny-gpt2 will
// write to, for a test to plant a partial file in.
func snapshotDir(t *testing.T, c *hub.Client) string {
	t.Helper()
	l, err := c.List(context.Background(), hub.Name{Repo: "org/tiny-gpt2", Revision: "main"})
	if err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(c.Cache.Dir, "models", "org--tiny-gpt2", "snapshots", l.Commit)
	if err := os.MkdirAll(snap, 0o755); err != nil {
		t.Fatal(err)
	}
	return snap
}
