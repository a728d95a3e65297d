// Package hub fetches Hugging Face model repositories into a local cache
// and finds them there again, so that a repository name works wherever a
// checkpoint directory does.
//
// It speaks the hub's file API as huggingface_hub does:
// GET {endpoint}/api/models/{repo}/revision/{rev}?blobs=true lists the
// files of a commit with their sizes and LFS sha256, and
// GET {endpoint}/{repo}/resolve/{commit}/{file} serves one (LFS files by a
// redirect to a CDN), with Range to resume. Only the files a checkpoint
// needs are fetched (see Wanted); every file is checked against its
// listed size and hash before it takes its name.
//
// The cache ($ATTN_HOME, default ~/.cache/attn) holds
//
//	models/<org>--<name>/refs/<revision>      the commit the revision named when pulled
//	models/<org>--<name>/snapshots/<commit>/  the files of that commit (a checkpoint directory)
//
// A ref is written after every file of its snapshot is in place, so a
// name that resolves is a complete checkpoint.
package hub

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/attn-dev/attn/internal/home"
)

// DefaultEndpoint is the hub's address when HF_ENDPOINT is unset.
const DefaultEndpoint = "https://huggingface.co"

// DefaultRevision is the revision of a name given without @REVISION.
const DefaultRevision = "main"

// Name is a parsed NAME[@REVISION]: a repository and a revision (a
// branch, tag or commit).
type Name struct {
	Repo     string // "org/name", or a legacy "name" such as "gpt2"
	Revision string // DefaultRevision when the name gave none
}

func (n Name) String() string {
	if n.Revision == DefaultRevision {
		return n.Repo
	}
	return n.Repo + "@" + n.Revision
}

// repoPart is one side of "org/name" as the hub accepts it.
var repoPart = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$`)

// ParseName parses NAME[@REVISION].
func ParseName(s string) (Name, error) {
	repo, rev, hasRev := strings.Cut(s, "@")
	if !hasRev {
		rev = DefaultRevision
	}
	if err := checkRepo(repo); err != nil {
		return Name{}, err
	}
	if err := checkRevision(rev); err != nil {
		return Name{}, err
	}
	return Name{repo, rev}, nil
}

func checkRepo(repo string) error {
	parts := strings.Split(repo, "/")
	ok := len(parts) <= 2
	for _, p := range parts {
		// "--" and ".." would make the cache's directory name ambiguous
		// or escape it; the hub refuses them too.
		ok = ok && repoPart.MatchString(p) && !strings.Contains(p, "--") && !strings.Contains(p, "..")
	}
	if !ok {
		return fmt.Errorf("%q is not a repository name: want ORG/NAME (or NAME), letters, digits, '.', '_' and '-'", repo)
	}
	return nil
}

func checkRevision(rev string) error {
	ok := rev != "" && len(rev) <= 255 && !strings.Contains(rev, "..") && !strings.HasPrefix(rev, "/") && !strings.HasSuffix(rev, "/")
	for _, r := range rev {
		ok = ok && r > ' ' && r != 0x7f && r != '\\'
	}
	if !ok {
		return fmt.Errorf("%q is not a revision: want a branch, tag or commit", rev)
	}
	return nil
}

// commitRE is the form of a commit the hub reports; it becomes a
// directory name, so nothing else is accepted.
var commitRE = regexp.MustCompile(`^[0-9a-f]{40}$`)

// Home is the cache's root: $ATTN_HOME, or ~/.cache/attn (internal/home).
func Home() (string, error) { return home.Dir() }

// Offline reports whether ATTN_OFFLINE (or huggingface_hub's
// HF_HUB_OFFLINE) asks that nothing touch the network.
func Offline() bool {
	for _, k := range []string{"ATTN_OFFLINE", "HF_HUB_OFFLINE"} {
		switch strings.ToLower(os.Getenv(k)) {
		case "1", "true", "yes", "on":
			return true
		}
	}
	return false
}
