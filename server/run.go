package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/attn-dev/attn/model"
)

// DefaultDrainTimeout bounds how long Run waits for requests in flight
// after its context ends.
const DefaultDrainTimeout = 30 * time.Second

// ModelSpec is one --model: NAME=DIR, or DIR (named by its base name).
type ModelSpec struct{ Name, Dir string }

// ParseModelSpec parses a --model value.
func ParseModelSpec(s string) (ModelSpec, error) {
	name, dir, found := strings.Cut(s, "=")
	if !found {
		dir, name = s, filepath.Base(filepath.Clean(s))
	}
	if name == "" || dir == "" {
		return ModelSpec{}, fmt.Errorf("--model %q: want DIR or NAME=DIR", s)
	}
	return ModelSpec{name, dir}, nil
}

// Run serves on ln: it answers at once (/health 503 while the models
// load), loads them, serves until ctx ends, then drains (503 for new
// requests, up to drain for those in flight) and closes the models.
func (s *Server) Run(ctx context.Context, ln net.Listener, models []ModelSpec, drain time.Duration, opts ...model.Option) error {
	if len(models) == 0 {
		return errors.New("server: no model to serve (give --model)")
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	var err error
	for _, m := range models {
		if err = s.Load(m.Name, m.Dir, opts...); err != nil {
			break
		}
	}
	if err == nil {
		s.Ready()
		s.log.Info("serving", "addr", ln.Addr().String(), "models", len(models), "explorer", "http://"+ln.Addr().String()+"/")
		select {
		case <-ctx.Done():
		case err = <-served:
		}
	}
	s.Drain()
	s.log.Info("draining", "timeout", drain)
	sctx, cancel := context.WithTimeout(context.Background(), drain)
	defer cancel()
	err = errors.Join(err, hs.Shutdown(sctx), s.Close())
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	s.log.Info("stopped", "error", err)
	return err
}
