// Package hubtest is a local imitation of the Hugging Face hub's file API
// for tests: the revision listing, resolve with Range, LFS files
// redirected to a second server (the CDN), the hub's error headers, and
// faults on demand (a connection cut mid-file, damaged bytes, a gated
// repository).
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is the imitation hub (its URL is the endpoint) with its CDN.
type Server struct {
	*httptest.Server
	CDN *httptest.Server

	mu       sync.Mutex
	repos    map[string]*repo
	blobs    map[string][]byte // sha256 → content, served by the CDN
	requests []Request
	drops    map[string]int64 // file → cut the next response after this many bytes of the file
	corrupt  map[string]int   // file → damage this many more responses
	inFlight int              // file responses being sent
	maxIn    int
	barrier  int // file responses wait until this many are in flight
	noRange  bool
	arrived  chan struct{}
}

// Request is one request the servers answered.
type Request struct {
	CDN           bool
	Path          string // unescaped
	Range         string
	Authorization string
}

type repo struct {
	refs  map[string]string // revision → commit
	files map[string][]byte // one commit's files
	token string            // gated: resolve wants Authorization: Bearer token
}

// New starts a hub and its CDN; Close stops both.
func New() *Server {
	s := &Server{repos: map[string]*repo{}, blobs: map[string][]byte{}, drops: map[string]int64{}, corrupt: map[string]int{}, arrived: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.hub))
	s.CDN = httptest.NewServer(http.HandlerFunc(s.cdn))
	return s
}

// Close stops the servers.
func (s *Server) Close() {
	s.Server.Close()
	s.CDN.Close()
}

// IsLFS says which files live in LFS (and are redirected to the CDN): the
// weights, as on the hub.
func IsLFS(name string) bool {
	return strings.HasSuffix(name, ".safetensors") || strings.HasSuffix(name, ".bin")
}

// Add publishes files as repository name at revision "main" and returns
// the commit.
func (s *Server) Add(name string, files map[string][]byte) string {
	h := sha1.New()
	names := sortedKeys(files)
	for _, f := range names {
		fmt.Fprintf(h, "%s\x00%x\x00", f, sha256.Sum256(files[f]))
	}
	commit := hex.EncodeToString(h.Sum(nil))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[name] = &repo{refs: map[string]string{"main": commit}, files: files}
	for _, f := range names {
		if IsLFS(f) {
			sum := sha256.Sum256(files[f])
			s.blobs[hex.EncodeToString(sum[:])] = files[f]
		}
	}
	return commit
}

// AddDir publishes the files of dir (not its subdirectories).
func (s *Server) AddDir(name, dir string) (string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", err
	}
	files := map[string][]byte{}
	for _, e := range ents {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return "", err
			}
			files[e.Name()] = b
		}
	}
	return s.Add(name, files), nil
}

// Tag makes revision rev of name point at its main commit.
func (s *Server) Tag(name, rev string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.repos[name]
	r.refs[rev] = r.refs["main"]
}

// Gate makes name's files need Authorization: Bearer token.
func (s *Server) Gate(name, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[name].token = token
}

// DropAfter makes the next response carrying file cut the connection
// once the first n bytes of the file are sent.
func (s *Server) DropAfter(file string, n int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.drops[file] = n
}

// Corrupt makes the next times responses carrying file damage a byte.
func (s *Server) Corrupt(file string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.corrupt[file] = times
}

// Barrier makes the file responses wait (up to barrierWait) until n are
// in flight at once, then lets them all go and lifts itself: a client
// that fetches fewer files at once than n is slowed, not deadlocked.
func (s *Server) Barrier(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.barrier = n
}

// IgnoreRange makes the servers answer every request with the whole
// file (200), as a server without range support does.
func (s *Server) IgnoreRange() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noRange = true
}

// MaxInFlight is the most file responses that were in flight at once.
func (s *Server) MaxInFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxIn
}

const barrierWait = 2 * time.Second

// enter counts a file response in flight and holds it at the barrier.
func (s *Server) enter() {
	s.mu.Lock()
	s.inFlight++
	s.maxIn = max(s.maxIn, s.inFlight)
	if s.inFlight >= s.barrier && s.barrier > 0 {
		close(s.arrived) // release the waiting ones
		s.arrived = make(chan struct{})
		s.barrier = 0
		s.mu.Unlock()
		return
	}
	wait, n := s.arrived, s.barrier
	s.mu.Unlock()
	if n > 0 {
		select {
		case <-wait:
		case <-time.After(barrierWait):
		}
	}
}

func (s *Server) leave() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

// Requests returns the requests answered so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

func (s *Server) log(r *http.Request, cdn bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{CDN: cdn, Path: r.URL.Path, Range: r.Header.Get("Range"), Authorization: r.Header.Get("Authorization")})
}

// hubError answers as the hub does, with X-Error-Code and
// X-Error-Message.
func hubError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("X-Error-Code", code)
	w.Header().Set("X-Error-Message", msg)
	http.Error(w, `{"error":`+strconv.Quote(msg)+`}`, status)
}

func (s *Server) hub(w http.ResponseWriter, r *http.Request) {
	s.log(r, false)
	p := r.URL.EscapedPath()
	if rest, ok := strings.CutPrefix(p, "/api/models/"); ok {
		name, rev, ok := strings.Cut(rest, "/revision/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		s.listing(w, r, name, rev)
		return
	}
	name, rest, ok := strings.Cut(strings.TrimPrefix(p, "/"), "/resolve/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	rev, file, _ := strings.Cut(rest, "/")
	s.resolve(w, r, name, rev, file)
}

// lookup finds repository name at escaped revision rev, or answers the
// hub's 404.
func (s *Server) lookup(w http.ResponseWriter, name, rev string) (*repo, string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rp := s.repos[name]
	if rp == nil {
		hubError(w, http.StatusNotFound, "RepoNotFound", "Repository not found")
		return nil, "", false
	}
	rev, err := url.PathUnescape(rev)
	commit, ok := rp.refs[rev]
	if !ok && rev == rp.refs["main"] {
		commit, ok = rev, true
	}
	if err != nil || !ok {
		hubError(w, http.StatusNotFound, "RevisionNotFound", "Invalid rev id: "+rev)
		return nil, "", false
	}
	return rp, commit, true
}

func (s *Server) listing(w http.ResponseWriter, r *http.Request, name, rev string) {
	rp, commit, ok := s.lookup(w, name, rev)
	if !ok {
		return
	}
	blobs := r.URL.Query().Get("blobs") == "true"
	type lfs struct {
		SHA256      string `json:"sha256"`
		Size        int    `json:"size"`
		PointerSize int    `json:"pointerSize"`
	}
	type sibling struct {
		RFilename string `json:"rfilename"`
		BlobID    string `json:"blobId,omitempty"`
		Size      *int   `json:"size,omitempty"`
		LFS       *lfs   `json:"lfs,omitempty"`
	}
	var sibs []sibling
	for _, f := range sortedKeys(rp.files) {
		sb := sibling{RFilename: f}
		if blobs {
			b := rp.files[f]
			size := len(b)
			sb.Size = &size
			sb.BlobID = gitBlobID(b)
			if IsLFS(f) {
				sum := sha256.Sum256(b)
				sb.LFS = &lfs{SHA256: hex.EncodeToString(sum[:]), Size: size, PointerSize: 134}
				sb.BlobID = gitBlobID([]byte("version https://git-lfs.github.com/spec/v1\noid sha256:" + sb.LFS.SHA256))
			}
		}
		sibs = append(sibs, sb)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": name, "modelId": name, "sha": commit, "siblings": sibs})
}

func gitBlobID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request, name, rev, file string) {
	rp, commit, ok := s.lookup(w, name, rev)
	if !ok {
		return
	}
	file, err := url.PathUnescape(file)
	s.mu.Lock()
	b, found := rp.files[file]
	token := rp.token
	s.mu.Unlock()
	if err != nil || !found {
		hubError(w, http.StatusNotFound, "EntryNotFound", file+" does not exist on \""+rev+"\"")
		return
	}
	if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
		hubError(w, http.StatusUnauthorized, "GatedRepo", "Access to model "+name+" is restricted. You must have access to it and be authenticated to access it. Please log in.")
		return
	}
	w.Header().Set("X-Repo-Commit", commit)
	if IsLFS(file) {
		sum := sha256.Sum256(b)
		w.Header().Set("X-Linked-Etag", `"`+hex.EncodeToString(sum[:])+`"`)
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(b)))
		http.Redirect(w, r, s.CDN.URL+"/lfs/"+hex.EncodeToString(sum[:])+"?file="+url.QueryEscape(file), http.StatusFound)
		return
	}
	w.Header().Set("ETag", `"`+gitBlobID(b)+`"`)
	s.serve(w, r, file, b)
}

func (s *Server) cdn(w http.ResponseWriter, r *http.Request) {
	s.log(r, true)
	sum, _ := strings.CutPrefix(r.URL.Path, "/lfs/")
	s.mu.Lock()
	b, ok := s.blobs[sum]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("ETag", `"`+sum+`"`)
	s.serve(w, r, r.URL.Query().Get("file"), b)
}

// serve answers GET of content b (named file, for the faults), honouring
// "Range: bytes=N-" and "bytes=N-M".
func (s *Server) serve(w http.ResponseWriter, r *http.Request, file string, b []byte) {
	s.mu.Lock()
	drop, dropping := s.drops[file]
	delete(s.drops, file)
	noRange := s.noRange
	damage := s.corrupt[file] > 0
	if damage {
		s.corrupt[file]--
	}
	s.mu.Unlock()
	s.enter()
	defer s.leave()

	size := int64(len(b))
	start, end, status := int64(0), size, http.StatusOK
	if rg := r.Header.Get("Range"); rg != "" && !noRange {
		var ok bool
		start, end, ok = parseRange(rg, size)
		if !ok {
			w.Header().Set("Content-Range", fmt.Sprintf("bytes */%d", size))
			http.Error(w, "range not satisfiable", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		status = http.StatusPartialContent
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, size))
	}
	body := b[start:end]
	if damage && len(body) > 0 {
		body = append([]byte(nil), body...)
		body[len(body)/2] ^= 0xff
	}
	w.Header().Set("Accept-Ranges", "bytes")
	w.Header().Set("Content-Length", strconv.FormatInt(end-start, 10))
	w.WriteHeader(status)
	if dropping && drop >= start && drop < end {
		_, _ = w.Write(body[:drop-start])
		w.(http.Flusher).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	_, _ = w.Write(body)
}

func parseRange(rg string, size int64) (start, end int64, ok bool) {
	spec, ok := strings.CutPrefix(rg, "bytes=")
	if !ok {
		return 0, 0, false
	}
	a, z, ok := strings.Cut(spec, "-")
	if !ok {
		return 0, 0, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end = size
	if z != "" {
		e, err := strconv.ParseInt(z, 10, 64)
		if err != nil || e < start {
			return 0, 0, false
		}
		end = min(e+1, size)
	}
	return start, end, true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
