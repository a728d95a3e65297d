package hub

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
)

// The kinds of failure a caller may want to tell apart (errors.Is).
var (
	ErrRepoNotFound     = errors.New("repository not found")
	ErrRevisionNotFound = errors.New("revision not found")
	ErrAccess           = errors.New("access denied")
	ErrOffline          = errors.New("offline (--offline or ATTN_OFFLINE=1)")
	ErrNotCached        = errors.New("not in the cache")
	ErrChecksum         = errors.New("checksum mismatch")
	ErrNetwork          = errors.New("network unreachable")
	ErrDiskFull         = errors.New("disk full")
)

// HTTPError is a refusal by the hub, with the error code and message of
// its X-Error-Code and X-Error-Message headers.
type HTTPError struct {
	Status  int
	Code    string // X-Error-Code: RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo, …
	Message string // X-Error-Message
	URL     string
	kind    error
	text    string
}

func (e *HTTPError) Error() string { return e.text }
func (e *HTTPError) Unwrap() error { return e.kind }

// httpError turns a failed response into an error in the user's terms;
// what names the request ("listing", "config.json").
func (c *Client) httpError(resp *http.Response, n Name, what string) error {
	e := &HTTPError{
		Status:  resp.StatusCode,
		Code:    resp.Header.Get("X-Error-Code"),
		Message: resp.Header.Get("X-Error-Message"),
		URL:     resp.Request.URL.Redacted(),
	}
	detail := ""
	if e.Message != "" {
		detail = ": " + e.Message
	}
	tokenHint := "set HF_TOKEN to a token of an account that has access"
	if c.Token != "" {
		tokenHint = "HF_TOKEN is set: check that its account has access"
	}
	switch {
	case e.Code == "RevisionNotFound":
		e.kind = ErrRevisionNotFound
		e.text = fmt.Sprintf("%s has no revision %q on %s (a branch, tag or commit)", n.Repo, n.Revision, c.Endpoint)
	case e.Code == "GatedRepo":
		e.kind = ErrAccess
		e.text = fmt.Sprintf("%s is gated (HTTP %d%s): accept its conditions at %s/%s and %s", n.Repo, e.Status, detail, c.Endpoint, n.Repo, tokenHint)
	case e.Code == "RepoNotFound" || e.Status == http.StatusNotFound && what == "listing":
		// The hub answers 401 with RepoNotFound for a private repository
		// as for a missing one, so that names do not leak.
		e.kind = ErrRepoNotFound
		e.text = fmt.Sprintf("repository %s not found on %s (check the name; a private or gated repository also reads so: %s)", n.Repo, c.Endpoint, tokenHint)
	case e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden:
		e.kind = ErrAccess
		e.text = fmt.Sprintf("%s: %s refused access to %s (HTTP %d%s): %s", n.Repo, c.Endpoint, what, e.Status, detail, tokenHint)
	default:
		e.text = fmt.Sprintf("%s: %s answered HTTP %d for %s%s", n.Repo, c.Endpoint, e.Status, what, detail)
	}
	return e
}

// netError rephrases a transport failure: the network down or the
// endpoint unreachable is said so, with the way out.
func (c *Client) netError(err error, what string) error {
	var ne net.Error
	var oe *net.OpError
	var de *net.DNSError
	if errors.As(err, &de) || errors.As(err, &oe) && oe.Op == "dial" || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENETUNREACH) {
		return fmt.Errorf("%s: cannot reach %s (network down? HF_ENDPOINT wrong? --offline uses the cache only): %w: %w", what, c.Endpoint, ErrNetwork, err)
	}
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%s: %s timed out: %w: %w", what, c.Endpoint, ErrNetwork, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// diskError says a full disk is one, with where the cache lives.
func diskError(err error, path string) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("writing %s: %w (free some space, or set ATTN_HOME to a larger disk): %w", path, ErrDiskFull, err)
	}
	return fmt.Errorf("writing %s: %w", path, err)
}
