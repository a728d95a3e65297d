// Package viz draws attention weights: terminal heatmaps (ANSI colours or
// plain characters), SVG and PNG heatmaps of one head, model views (layers
// × heads thumbnails) and patch overlays for vision models; and reduces
// them (mean over heads, attention rollout).
//
// Weights are indexed [layer][head][query][key], as model.Weights gives
// them; a Map is one [query][key] matrix with its token labels.
package viz

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"
)

// Map is one attention matrix to draw: W[q][k] is the weight query
// Queries[q] gives key Keys[k] (for self-attention Queries = Keys).
type Map struct {
	Title         string
	Queries, Keys []string
	W             [][]float32
	// Scale is the weight drawn brightest (larger ones too); 0 means the
	// largest weight of the Map. 1 shows weights on one absolute scale.
	Scale float32
}

// maxTokens bounds what a Map may hold so that a drawing stays a sane
// size (the models' contexts are at most a few thousand positions).
const maxTokens = 8192

// Check reports a Map whose shape disagrees with its labels, or whose
// weights are not finite.
func (m Map) Check() error {
	if len(m.Queries) == 0 || len(m.Keys) == 0 {
		return errors.New("viz: no tokens")
	}
	if len(m.Queries) > maxTokens || len(m.Keys) > maxTokens {
		return fmt.Errorf("viz: %d×%d tokens is more than the %d a drawing holds", len(m.Queries), len(m.Keys), maxTokens)
	}
	if len(m.W) != len(m.Queries) {
		return fmt.Errorf("viz: %d rows of weights for %d query tokens", len(m.W), len(m.Queries))
	}
	for q, row := range m.W {
		if len(row) != len(m.Keys) {
			return fmt.Errorf("viz: row %d has %d weights for %d key tokens", q, len(row), len(m.Keys))
		}
		for k, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("viz: weight [%d][%d] is %v", q, k, v)
			}
		}
	}
	if !(m.Scale >= 0) || math.IsInf(float64(m.Scale), 0) {
		return fmt.Errorf("viz: scale %v: want a positive number or 0 (the largest weight)", m.Scale)
	}
	return nil
}

// Window returns the part of m with queries q0 … q1−1 and keys k0 …
// k1−1 (clamped to m's tokens), sharing m's weights; a Map that fails
// Check is returned as it is.
func (m Map) Window(q0, q1, k0, k1 int) Map {
	if m.Check() != nil {
		return m
	}
	cl := func(a, b, n int) (int, int) {
		a, b = min(max(a, 0), n), min(max(b, 0), n)
		return a, max(a, b)
	}
	q0, q1 = cl(q0, q1, len(m.Queries))
	k0, k1 = cl(k0, k1, len(m.Keys))
	w := make([][]float32, 0, q1-q0)
	for _, row := range m.W[q0:q1] {
		w = append(w, row[k0:k1])
	}
	m.Queries, m.Keys, m.W = m.Queries[q0:q1], m.Keys[k0:k1], w
	return m
}

// top is the weight drawn brightest: Scale, or the largest weight (at
// least a tiny positive number, so that it can divide).
func (m Map) top() float32 {
	if m.Scale > 0 {
		return m.Scale
	}
	mx := float32(1e-12)
	for _, row := range m.W {
		mx = max(mx, largest(row))
	}
	return mx
}

func largest(w []float32) float32 {
	mx := float32(math.Inf(-1))
	for _, v := range w {
		mx = max(mx, v)
	}
	return mx
}

// Average returns the mean over heads of one layer's weights
// [head][query][key].
func Average(heads [][][]float32) ([][]float32, error) {
	if len(heads) == 0 {
		return nil, errors.New("viz: no heads to average")
	}
	tq, tk := len(heads[0]), 0
	if tq > 0 {
		tk = len(heads[0][0])
	}
	out := make([][]float32, tq)
	for q := range out {
		out[q] = make([]float32, tk)
	}
	for h, w := range heads {
		if len(w) != tq {
			return nil, fmt.Errorf("viz: head %d has %d rows, head 0 %d", h, len(w), tq)
		}
		for q, row := range w {
			if len(row) != tk {
				return nil, fmt.Errorf("viz: head %d row %d has %d keys, want %d", h, q, len(row), tk)
			}
			for k, v := range row {
				out[q][k] += v
			}
		}
	}
	inv := 1 / float32(len(heads))
	for _, row := range out {
		for k := range row {
			row[k] *= inv
		}
	}
	return out, nil
}

// Rollout is attention rollout (Abnar & Zuidema 2020) over layers, each a
// square head-averaged matrix [T][T] from the first layer to the last:
// every layer's A' = 0.5·A + 0.5·I (the residual connection), rows
// renormalised, and R = A'_L ⋯ A'_2 · A'_1, so R[q][k] is how much of
// input token k flows into position q at the top.
func Rollout(layers [][][]float32) ([][]float32, error) {
	if len(layers) == 0 {
		return nil, errors.New("viz: rollout needs at least one layer")
	}
	t := len(layers[0])
	var r [][]float32
	for l, a := range layers {
		if len(a) != t {
			return nil, fmt.Errorf("viz: rollout: layer %d has %d rows, layer 0 %d", l, len(a), t)
		}
		ap := make([][]float64, t)
		for q, row := range a {
			if len(row) != t {
				return nil, fmt.Errorf("viz: rollout needs square matrices: layer %d row %d has %d keys for %d queries", l, q, len(row), t)
			}
			ap[q] = make([]float64, t)
			var s float64
			for k, v := range row {
				x := 0.5 * float64(v)
				if k == q {
					x += 0.5
				}
				ap[q][k] = x
				s += x
			}
			for k := range ap[q] {
				ap[q][k] /= s
			}
		}
		if r == nil {
			r = make([][]float32, t)
			for q := range r {
				r[q] = make([]float32, t)
				for k := range r[q] {
					r[q][k] = float32(ap[q][k])
				}
			}
			continue
		}
		next := make([][]float32, t)
		for q := range next {
			next[q] = make([]float32, t)
			for k := range t {
				var s float64
				for j := range t {
					s += ap[q][j] * float64(r[j][k])
				}
				next[q][k] = float32(s)
			}
		}
		r = next
	}
	return r, nil
}

// Peak is the key a query attends to most.
type Peak struct {
	Query, Key int
	Weight     float32
}

// Peaks returns, per query row of w, its largest weight (the first on a
// tie).
func Peaks(w [][]float32) []Peak {
	out := make([]Peak, len(w))
	for q, row := range w {
		p := Peak{Query: q, Key: -1, Weight: float32(math.Inf(-1))}
		for k, v := range row {
			if v > p.Weight {
				p.Key, p.Weight = k, v
			}
		}
		out[q] = p
	}
	return out
}

// Label is a token's vocabulary spelling made readable: the byte-level
// BPE space (Ġ) and SentencePiece's word start (▁) dropped, a newline (Ċ
// or \n) shown as \n, an empty token as ␣.
func Label(tok string) string {
	s := strings.NewReplacer("Ċ", `\n`, "\n", `\n`, "ĉ", `\t`, "\t", `\t`).Replace(tok)
	s = strings.TrimPrefix(strings.TrimPrefix(s, "Ġ"), "▁")
	if s == "" {
		return "␣"
	}
	return s
}

// clip shortens s to at most n runes, marking a cut with "…".
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n <= 1 {
		return string(r[:n])
	}
	return string(r[:n-1]) + "…"
}
