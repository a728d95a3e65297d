package server

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// The web explorer: static ES modules, SVG and canvas, no build step and
// nothing fetched from elsewhere, so that it works offline from the one
// binary. It reads the API routes above like any other client.
//
//go:embed web
var webFiles embed.FS

// staticPrefix is where the explorer's files are served; "/" is its page.
const staticPrefix = "/static/"

var webFS = func() fs.FS {
	f, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the directory is embedded above
	}
	return f
}()

// explorer serves GET / (index.html) and GET /static/NAME.
func (s *Server) explorer(w http.ResponseWriter, r *http.Request, _ *reqInfo) *apiError {
	name := "index.html"
	if r.URL.Path != "/" {
		name = strings.TrimPrefix(r.URL.Path, staticPrefix)
		if name == "" || name != path.Clean(name) || strings.HasPrefix(name, ".") || name == "index.html" {
			return newError(http.StatusNotFound, "not_found", "no file %s", r.URL.Path)
		}
	}
	data, err := fs.ReadFile(webFS, name)
	if err != nil {
		return newError(http.StatusNotFound, "not_found", "no file %s", r.URL.Path)
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	// Everything the page loads comes from this server.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
	return nil
}
