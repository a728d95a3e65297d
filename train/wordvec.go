package train

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

// tokenEmbeddingNames are the token-embedding tables of the architectures
// a fresh model can be (BERT, GPT-2, Marian/BART).
var tokenEmbeddingNames = []string{"bert.embeddings.word_embeddings.weight", "transformer.wte.weight", "model.shared.weight"}

// initEmbeddings sets the rows of m's token embedding whose token is a
// word of the vectors file path (see Config.InitEmbeddings) to that
// word's vector and returns how many rows it set. The file is streamed:
// only the vectors of the vocabulary's words are parsed.
func initEmbeddings(m model.Model, tok tokenizer.Tokenizer, path string) (int, error) {
	var table []float32
	var width int
	for _, p := range m.NamedParameters("", nil) {
		for _, n := range tokenEmbeddingNames {
			if p.Name == n {
				table, width = p.Var.Value.Data(), p.Var.Value.Shape[1]
			}
		}
	}
	if table == nil {
		return 0, fmt.Errorf("train: init_embeddings: %s has no token embedding", m.Info().Architecture)
	}
	rows := map[string][]int{} // word → the ids spelled so
	for id := range min(tok.VocabSize(), len(table)/width) {
		s, ok := tok.IDToToken(id)
		if !ok {
			continue
		}
		if w := strings.TrimPrefix(strings.TrimPrefix(s, "Ġ"), "▁"); w != "" {
			rows[w] = append(rows[w], id)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("train: init_embeddings: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	set, line := 0, 0
	for sc.Scan() {
		line++
		text := sc.Text()
		word, rest, ok := strings.Cut(text, " ")
		if !ok {
			return 0, fmt.Errorf("train: init_embeddings %s:%d: not a word and its vector", path, line)
		}
		if line == 1 && isWord2VecHeader(word, rest) {
			continue
		}
		ids := rows[word]
		if len(ids) == 0 {
			continue
		}
		vals := strings.Fields(rest)
		if len(vals) != width {
			return 0, fmt.Errorf("train: init_embeddings %s:%d: %q has %d values; the model's embedding is %d wide (n_embd)", path, line, word, len(vals), width)
		}
		row := table[ids[0]*width : (ids[0]+1)*width]
		for j, v := range vals {
			x, err := strconv.ParseFloat(v, 32)
			if err != nil {
				return 0, fmt.Errorf("train: init_embeddings %s:%d: value %d of %q: %w", path, line, j+1, word, errors.Unwrap(err))
			}
			row[j] = float32(x)
		}
		for _, id := range ids[1:] {
			copy(table[id*width:(id+1)*width], row)
		}
		set += len(ids)
		delete(rows, word) // a word listed twice keeps its first vector
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("train: init_embeddings %s: %w", path, err)
	}
	if set == 0 {
		return 0, fmt.Errorf("train: init_embeddings: no token of the %d-word vocabulary is a word of %s", tok.VocabSize(), path)
	}
	return set, nil
}

// isWord2VecHeader reports whether a first line is word2vec's text
// header, "count dims".
func isWord2VecHeader(a, b string) bool {
	_, e1 := strconv.Atoi(a)
	_, e2 := strconv.Atoi(strings.TrimSpace(b))
	return e1 == nil && e2 == nil
}
