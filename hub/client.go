package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"regexp"
	"runtime"
	"strings"
	"time"
)

// Client fetches repositories from a hub into a Cache.
type Client struct {
	Endpoint string // no trailing slash
	Token    string // sent as Authorization: Bearer to Endpoint (never to the CDN it redirects to)
	Cache    Cache
	HTTP     *http.Client // nil: http.DefaultTransport, the token kept from other hosts
	// Concurrency is how many files download at once.
	Concurrency int
	// Offline refuses every request: Pull answers from the cache or
	// fails with ErrOffline.
	Offline bool
	// Stall is how long a download may go without a byte before it is
	// abandoned (and resumed); 0 means DefaultStall.
	Stall time.Duration
	// Retries is how often one file's download is resumed after the
	// connection breaks.
	Retries int
	// NewProgress, when set, makes the progress report of a pull of
	// total bytes in files files.
	NewProgress func(name string, total int64, files int) Progress
}

// Default concurrency, stall timeout and retries of NewClient.
const (
	DefaultConcurrency = 4
	DefaultStall       = 60 * time.Second
	DefaultRetries     = 5
)

// NewClient returns a client configured as huggingface_hub's is, from
// the environment: HF_ENDPOINT, HF_TOKEN, ATTN_HOME, ATTN_OFFLINE.
func NewClient() (*Client, error) {
	home, err := Home()
	if err != nil {
		return nil, err
	}
	ep := os.Getenv("HF_ENDPOINT")
	if ep == "" {
		ep = DefaultEndpoint
	}
	if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("HF_ENDPOINT %q: want an http(s) URL such as %s", ep, DefaultEndpoint)
	}
	c := &Client{
		Endpoint:    strings.TrimRight(ep, "/"),
		Token:       os.Getenv("HF_TOKEN"),
		Cache:       Cache{Dir: home},
		Concurrency: DefaultConcurrency,
		Offline:     Offline(),
		Stall:       DefaultStall,
		Retries:     DefaultRetries,
	}
	c.HTTP = &http.Client{
		Transport:     &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: DefaultStall, TLSHandshakeTimeout: 30 * time.Second},
		CheckRedirect: dropAuthElsewhere,
	}
	return c, nil
}

// defaultHTTP serves a Client whose HTTP is nil.
var defaultHTTP = &http.Client{CheckRedirect: dropAuthElsewhere}

func (c *Client) http() *http.Client {
	if c.HTTP == nil {
		return defaultHTTP
	}
	return c.HTTP
}

// dropAuthElsewhere keeps the token from the CDN an LFS file redirects
// to: net/http keeps it for the same host name on another port, requests
// (which huggingface_hub uses) does not.
func dropAuthElsewhere(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("stopped after 10 redirects")
	}
	if req.URL.Host != via[0].URL.Host {
		req.Header.Del("Authorization")
	}
	return nil
}

// File is one file of a repository's listing.
type File struct {
	Name   string // path in the repository
	Size   int64
	BlobID string // git's sha1 of the blob ("blob SIZE\0" + content) for a file not in LFS
	SHA256 string // hex, for an LFS file
}

// Listing is a revision's commit and files.
type Listing struct {
	Commit string
	Files  []File
}

// apiSibling is a file of /api/models/{repo}/revision/{rev}?blobs=true.
type apiSibling struct {
	RFilename string `json:"rfilename"`
	Size      *int64 `json:"size"`
	BlobID    string `json:"blobId"`
	LFS       *struct {
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
	} `json:"lfs"`
}

// maxListing bounds the listing read: a repository with every file
// described takes a few hundred bytes a file.
const maxListing = 64 << 20

var hexRE = regexp.MustCompile(`^[0-9a-f]+$`)

// List fetches the commit and files of n's revision.
func (c *Client) List(ctx context.Context, n Name) (*Listing, error) {
	if c.Offline {
		return nil, fmt.Errorf("listing %s: %w", n, ErrOffline)
	}
	u := fmt.Sprintf("%s/api/models/%s/revision/%s?blobs=true", c.Endpoint, n.Repo, url.PathEscape(n.Revision))
	resp, err := c.get(ctx, u, 0)
	if err != nil {
		return nil, c.netError(err, "listing "+n.String())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, c.httpError(resp, n, "listing")
	}
	var info struct {
		SHA      string       `json:"sha"`
		Siblings []apiSibling `json:"siblings"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxListing)).Decode(&info); err != nil {
		return nil, c.netError(fmt.Errorf("reading the listing: %w", err), n.String())
	}
	if !commitRE.MatchString(info.SHA) {
		return nil, fmt.Errorf("%s: the hub's listing names commit %q, not 40 hex digits", n, info.SHA)
	}
	l := &Listing{Commit: info.SHA}
	for _, s := range info.Siblings {
		f := File{Name: s.RFilename, BlobID: s.BlobID}
		if s.Size == nil {
			return nil, fmt.Errorf("%s: the hub's listing gives no size for %q", n, s.RFilename)
		}
		f.Size = *s.Size
		if s.LFS != nil {
			f.SHA256, f.Size = s.LFS.SHA256, s.LFS.Size
			if len(f.SHA256) != 64 || !hexRE.MatchString(f.SHA256) {
				return nil, fmt.Errorf("%s: the hub's listing gives %q a sha256 of %q", n, s.RFilename, f.SHA256)
			}
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("%s: the hub's listing gives %q a size of %d", n, s.RFilename, f.Size)
		}
		l.Files = append(l.Files, f)
	}
	return l, nil
}

// get sends GET u with the client's token, from byte offset from when
// from > 0.
func (c *Client) get(ctx context.Context, u string, from int64) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "attn; go/"+runtime.Version())
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if from > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", from))
	}
	return c.http().Do(req)
}

// resolveURL is where file f of commit is served.
func (c *Client) resolveURL(repo, commit, f string) string {
	segs := strings.Split(f, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return fmt.Sprintf("%s/%s/resolve/%s/%s", c.Endpoint, repo, commit, strings.Join(segs, "/"))
}

// Single-file names a checkpoint directory may need (model.Load,
// tokenizer.Load, infer's image processor, generate's config).
var wantedNames = map[string]bool{
	"config.json": true, "generation_config.json": true, "preprocessor_config.json": true,
	"tokenizer.json": true, "tokenizer_config.json": true, "special_tokens_map.json": true, "added_tokens.json": true,
	"vocab.json": true, "merges.txt": true, "vocab.txt": true,
	"spiece.model": true, "source.spm": true, "target.spm": true, "sentencepiece.bpe.model": true,
}

var (
	safetensorsShard = regexp.MustCompile(`^model-\d{5}-of-\d{5}\.safetensors$`)
	pickleShard      = regexp.MustCompile(`^pytorch_model-\d{5}-of-\d{5}\.bin$`)
)

// Wanted picks the files of a listing a checkpoint needs: config,
// tokenizer, preprocessor and generation config, and the weights as
// transformers' from_pretrained reads them — model.safetensors or its
// index and shards, or, only when there are none, pytorch_model.bin or
// its index and shards. Names that are not plain top-level files are
// never picked.
func Wanted(files []File) []File {
	var out, pickles []File
	hasSafetensors := false
	for _, f := range files {
		name := f.Name
		if strings.ContainsAny(name, `/\`) || name != path.Clean(name) {
			continue
		}
		switch {
		case wantedNames[name]:
			out = append(out, f)
		case name == "model.safetensors" || name == "model.safetensors.index.json" || safetensorsShard.MatchString(name):
			hasSafetensors = hasSafetensors || name != "model.safetensors.index.json"
			out = append(out, f)
		case name == "pytorch_model.bin" || name == "pytorch_model.bin.index.json" || pickleShard.MatchString(name):
			pickles = append(pickles, f)
		}
	}
	if !hasSafetensors {
		out = append(out, pickles...)
	}
	return out
}
