package train

import (
	"fmt"
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
	trainEx, valEx := SplitExamples(ex, cfg.Seed, cfg.ValFraction)
	m := TrainBagOfWords(trainEx)
	right := 0
	s := make([]float64, len(m.names))
	for _, e := range valEx {
		m.probs(e.Text, s)
		best := 0
		for c := range s {
			if s[c] > s[best] {
				best = c
			}
		}
		if m.names[best] == e.Label {
			right++
		}
	}
	return float64(right) / float64(len(valEx)), nil
}

// BagOfWords is the baseline's model: logistic regression on binary word
// features. As a Scorer it gives the probability of one class.
type BagOfWords struct {
	names  []string // sorted labels
	vocab  map[string]int
	w      []float64 // [K, D], the last feature the bias
	k, d   int
	scored int // the class Score reports
}

func bowWords(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\''
	})
}

// features returns the ids of the known words of s, each once; learn adds
// unknown ones to the vocabulary.
func (m *BagOfWords) features(s string, learn bool) []int {
	seen := map[int]bool{}
	var f []int
	for _, w := range bowWords(s) {
		id, ok := m.vocab[w]
		if !ok && learn {
			id, ok = len(m.vocab), true
			m.vocab[w] = id
		}
		if ok && !seen[id] {
			seen[id] = true
			f = append(f, id)
		}
	}
	return f
}

// TrainBagOfWords fits the baseline (see BagOfWordsBaseline) to ex.
func TrainBagOfWords(ex []Example) *BagOfWords {
	names, labels := labelIndex(ex)
	m := &BagOfWords{names: names, vocab: map[string]int{}}
	type row struct {
		feats []int
		y     int
	}
	train := make([]row, len(ex))
	for i, e := range ex {
		train[i] = row{m.features(e.Text, true), labels[e.Label]}
	}
	m.k, m.d = len(names), len(m.vocab)+1
	k, d := m.k, m.d
	w := make([]float64, k*d)
	m.w = w
	mo, v := make([]float64, len(w)), make([]float64, len(w))
	grad := make([]float64, len(w))
	s := make([]float64, k)
	const lr, l2, b1, b2 = 0.05, 1e-3, 0.9, 0.999
	for epoch := 1; epoch <= 300; epoch++ {
		for i := range grad {
			grad[i] = l2 * w[i]
		}
		for _, r := range train {
			m.scores(r.feats, s)
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
			mo[i] = b1*mo[i] + (1-b1)*g
			v[i] = b2*v[i] + (1-b2)*g*g
			mh := mo[i] / (1 - math.Pow(b1, float64(epoch)))
			vh := v[i] / (1 - math.Pow(b2, float64(epoch)))
			w[i] -= lr * mh / (math.Sqrt(vh) + 1e-8)
		}
	}
	return m
}

// scores writes the class probabilities of features f into s.
func (m *BagOfWords) scores(f []int, s []float64) {
	k, d, w := m.k, m.d, m.w
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

func (m *BagOfWords) probs(text string, s []float64) { m.scores(m.features(text, false), s) }

// Scoring sets the class Score reports the probability of.
func (m *BagOfWords) Scoring(label string) error {
	for i, n := range m.names {
		if n == label {
			m.scored = i
			return nil
		}
	}
	return fmt.Errorf("train: bag of words: no class %q (classes: %s)", label, strings.Join(m.names, ", "))
}

// Score implements Scorer: the probability of the class set by Scoring
// (the first label by default).
func (m *BagOfWords) Score(texts []string) ([]float64, error) {
	s := make([]float64, m.k)
	out := make([]float64, len(texts))
	for i, t := range texts {
		m.probs(t, s)
		out[i] = s[m.scored]
	}
	return out, nil
}
