package train

import (
	"math"
	"strings"
	"unicode"
)

// BagOfWordsBaseline trains the usual baseline of a text classifier on
// the same split a classify run uses (cfg's data, seed and val_fraction):
// multinomial logistic regression on binary lowercase word features
// (words = runs of letters, digits and apostrophes seen in training),
// L2 weight 1e-3, 300 epochs of full-batch Adam (lr 0.05). It returns
// the validation accuracy.
func BagOfWordsBaseline(cfg Config) (float64, error) {
	ex, err := ReadExamples(cfg.Data)
	if err != nil {
		return 0, err
	}
	names, labels := labelIndex(ex)
	words := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
		})
	}
	trainEx, valEx := SplitExamples(ex, cfg.Seed, cfg.ValFraction)
	vocab := map[string]int{}
	type row struct {
		feats []int
		y     int
	}
	var train, val []row
	for _, part := range []struct {
		ex    []Example
		rows  *[]row
		learn bool
	}{{trainEx, &train, true}, {valEx, &val, false}} {
		for _, e := range part.ex {
			seen := map[int]bool{}
			var f []int
			for _, w := range words(e.Text) {
				id, ok := vocab[w]
				if !ok && part.learn {
					id, ok = len(vocab), true
					vocab[w] = id
				}
				if ok && !seen[id] {
					seen[id] = true
					f = append(f, id)
				}
			}
			*part.rows = append(*part.rows, row{f, labels[e.Label]})
		}
	}
	k, d := len(names), len(vocab)+1 // the last feature is the bias
	w := make([]float64, k*d)
	m, v := make([]float64, len(w)), make([]float64, len(w))
	grad := make([]float64, len(w))
	scores := func(f []int, s []float64) {
		for c := 0; c < k; c++ {
			s[c] = w[c*d+d-1]
			for _, j := range f {
				s[c] += w[c*d+j]
			}
		}
		mx := s[0]
		for _, x := range s {
			mx = math.Max(mx, x)
		}
		var z float64
		for c := range s {
			s[c] = math.Exp(s[c] - mx)
			z += s[c]
		}
		for c := range s {
			s[c] /= z
		}
	}
	s := make([]float64, k)
	const lr, l2, b1, b2 = 0.05, 1e-3, 0.9, 0.999
	for epoch := 1; epoch <= 300; epoch++ {
		for i := range grad {
			grad[i] = l2 * w[i]
		}
		for _, r := range train {
			scores(r.feats, s)
			for c := 0; c < k; c++ {
				e := s[c]
				if c == r.y {
					e--
				}
				e /= float64(len(train))
				grad[c*d+d-1] += e
				for _, j := range r.feats {
					grad[c*d+j] += e
				}
			}
		}
		for i, g := range grad {
			m[i] = b1*m[i] + (1-b1)*g
			v[i] = b2*v[i] + (1-b2)*g*g
			mh := m[i] / (1 - math.Pow(b1, float64(epoch)))
			vh := v[i] / (1 - math.Pow(b2, float64(epoch)))
			w[i] -= lr * mh / (math.Sqrt(vh) + 1e-8)
		}
	}
	right := 0
	for _, r := range val {
		scores(r.feats, s)
		best := 0
		for c := range s {
			if s[c] > s[best] {
				best = c
			}
		}
		if best == r.y {
			right++
		}
	}
	return float64(right) / float64(len(val)), nil
}
