package hub

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Cache is the directory pulled repositories live in (see the package
// documentation for its layout).
type Cache struct{ Dir string }

// repoDir is the directory of one repository: "org/name" becomes
// "org--name", which ParseName keeps unambiguous by refusing "--".
func (c Cache) repoDir(repo string) string {
	return filepath.Join(c.Dir, "models", strings.ReplaceAll(repo, "/", "--"))
}

func (c Cache) refPath(n Name) string {
	return filepath.Join(c.repoDir(n.Repo), "refs", url.PathEscape(n.Revision))
}

func (c Cache) snapshot(repo, commit string) string {
	return filepath.Join(c.repoDir(repo), "snapshots", commit)
}

// refs reads the refs of repo: revision → commit.
func (c Cache) refs(repo string) (map[string]string, error) {
	dir := filepath.Join(c.repoDir(repo), "refs")
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	refs := map[string]string{}
	for _, e := range ents {
		rev, err := url.PathUnescape(e.Name())
		if err != nil || !e.Type().IsRegular() {
			continue // a ref being written (.tmp), or not one of ours
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if commit := strings.TrimSpace(string(b)); commitRE.MatchString(commit) {
			refs[rev] = commit
		}
	}
	return refs, nil
}

// writeRef records that n's revision is commit, atomically.
func (c Cache) writeRef(n Name, commit string) error {
	p := c.refPath(n)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return diskError(err, p)
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(commit+"\n"), 0o644); err != nil {
		return diskError(err, tmp)
	}
	return os.Rename(tmp, p)
}

// Resolve returns the checkpoint directory of a pulled NAME[@REVISION]:
// the revision as it was when pulled (a commit, or a unique prefix of one
// of at least 7 digits, names that commit). It never touches the
// network; a name not pulled is ErrNotCached.
func (c Cache) Resolve(name string) (string, error) {
	n, err := ParseName(name)
	if err != nil {
		return "", err
	}
	refs, err := c.refs(n.Repo)
	if err != nil {
		return "", fmt.Errorf("reading the cache of %s: %w", n.Repo, err)
	}
	commit, ok := refs[n.Revision]
	if !ok && len(n.Revision) >= 7 && hexRE.MatchString(n.Revision) {
		for _, co := range refs {
			if strings.HasPrefix(co, n.Revision) {
				if ok && co != commit {
					return "", fmt.Errorf("%s: revision %s names more than one pulled commit; give more digits", n.Repo, n.Revision)
				}
				commit, ok = co, true
			}
		}
	}
	if !ok {
		if len(refs) == 0 {
			return "", fmt.Errorf("%s has not been pulled into %s (attn pull %s): %w", n, c.Dir, n, ErrNotCached)
		}
		var revs []string
		for r := range refs {
			revs = append(revs, r)
		}
		sort.Strings(revs)
		return "", fmt.Errorf("%s has been pulled at revision %s only, not %s (attn pull %s): %w", n.Repo, strings.Join(revs, ", "), n.Revision, n, ErrNotCached)
	}
	dir := c.snapshot(n.Repo, commit)
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("%s: its snapshot %s is gone (attn pull %s again): %w", n, dir, n, ErrNotCached)
	}
	return dir, nil
}

// Entry is one pulled revision of a repository, or (Revision "") a
// snapshot whose pull has not finished.
type Entry struct {
	Name     string `json:"name"`
	Revision string `json:"revision"`
	Commit   string `json:"commit"`
	Dir      string `json:"dir"`
	Bytes    int64  `json:"bytes"`
	Files    int    `json:"files"`
	Complete bool   `json:"complete"`
}

// List returns what the cache holds, sorted by name and revision.
func (c Cache) List() ([]Entry, error) {
	ents, err := os.ReadDir(filepath.Join(c.Dir, "models"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the cache: %w", err)
	}
	var out []Entry
	for _, e := range ents {
		repo := strings.ReplaceAll(e.Name(), "--", "/")
		if !e.IsDir() || checkRepo(repo) != nil {
			continue
		}
		refs, err := c.refs(repo)
		if err != nil {
			return nil, fmt.Errorf("reading the cache of %s: %w", repo, err)
		}
		referenced := map[string]bool{}
		for rev, commit := range refs {
			referenced[commit] = true
			out = append(out, c.entry(repo, rev, commit, true))
		}
		snaps, _ := os.ReadDir(filepath.Join(c.repoDir(repo), "snapshots"))
		for _, s := range snaps {
			if commitRE.MatchString(s.Name()) && !referenced[s.Name()] {
				out = append(out, c.entry(repo, "", s.Name(), false))
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Revision < out[j].Revision
	})
	return out, nil
}

func (c Cache) entry(repo, rev, commit string, complete bool) Entry {
	e := Entry{Name: repo, Revision: rev, Commit: commit, Dir: c.snapshot(repo, commit), Complete: complete}
	files, _ := os.ReadDir(e.Dir)
	for _, f := range files {
		if info, err := f.Info(); err == nil && info.Mode().IsRegular() {
			e.Bytes += info.Size()
			e.Files++
		}
	}
	return e
}

// Remove deletes a pulled repository: every revision for NAME, one for
// NAME@REVISION (its snapshot too unless another revision names the same
// commit). It returns the directories it removed.
func (c Cache) Remove(name string) ([]string, error) {
	n, err := ParseName(name)
	if err != nil {
		return nil, err
	}
	rd := c.repoDir(n.Repo)
	if _, err := os.Stat(rd); err != nil {
		return nil, fmt.Errorf("%s is not in the cache %s: %w", n.Repo, c.Dir, ErrNotCached)
	}
	if !strings.Contains(name, "@") {
		if err := os.RemoveAll(rd); err != nil {
			return nil, fmt.Errorf("removing %s: %w", rd, err)
		}
		return []string{rd}, nil
	}
	refs, err := c.refs(n.Repo)
	if err != nil {
		return nil, fmt.Errorf("reading the cache of %s: %w", n.Repo, err)
	}
	commit, ok := refs[n.Revision]
	if !ok {
		return nil, fmt.Errorf("%s has no pulled revision %s: %w", n.Repo, n.Revision, ErrNotCached)
	}
	if err := os.Remove(c.refPath(n)); err != nil {
		return nil, fmt.Errorf("removing %s: %w", n, err)
	}
	delete(refs, n.Revision)
	for _, co := range refs {
		if co == commit {
			return nil, nil // the snapshot serves another revision
		}
	}
	if len(refs) == 0 {
		return []string{rd}, os.RemoveAll(rd)
	}
	snap := c.snapshot(n.Repo, commit)
	return []string{snap}, os.RemoveAll(snap)
}
