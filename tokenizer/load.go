package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Load detects and reads the tokenizer in a model directory, trying in order:
//
//   - source.spm + vocab.json: Marian (LoadMarian);
//   - tokenizer.json: Hugging Face's file (LoadHFJSON);
//   - vocab.json + merges.txt, or OpenAI's encoder.json + vocab.bpe:
//     byte-level BPE (LoadBPEFiles);
//   - vocab.txt: WordPiece (LoadVocabTxt);
//   - a single *.model or *.spm: SentencePiece (LoadSentencePiece).
//
// tokenizer_config.json and config.json, when present, refine the choice
// (do_lower_case for BERT; RoBERTa/BART special tokens for BPE).
func Load(dir string) (Tokenizer, error) {
	has := func(name string) bool {
		st, err := os.Stat(filepath.Join(dir, name))
		return err == nil && !st.IsDir()
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("tokenizer: %s is not a directory", dir)
	}
	cfg := readConfigs(dir)
	switch {
	case has(CharVocabFile):
		data, err := os.ReadFile(p(CharVocabFile))
		if err != nil {
			return nil, fmt.Errorf("tokenizer: %w", err)
		}
		c := &Char{}
		if err := json.Unmarshal(data, c); err != nil {
			return nil, fmt.Errorf("tokenizer: %s: %w", p(CharVocabFile), err)
		}
		return c, nil
	case has("source.spm") && has("vocab.json"):
		return LoadMarian(dir)
	case has("tokenizer.json"):
		return LoadHFJSON(p("tokenizer.json"))
	case has("vocab.json") && has("merges.txt"):
		return loadBPEDir(p("vocab.json"), p("merges.txt"), cfg)
	case has("vocab.json") && !has("vocab.txt"):
		return nil, fmt.Errorf("tokenizer: %s has vocab.json but no merges.txt (a byte-level BPE needs both)", dir)
	case has("encoder.json") && has("vocab.bpe"):
		return loadBPEDir(p("encoder.json"), p("vocab.bpe"), cfg)
	case has("vocab.txt"):
		w, err := LoadVocabTxt(p("vocab.txt"))
		if err != nil {
			return nil, err
		}
		if cfg.DoLowerCase != nil {
			w.Lowercase = *cfg.DoLowerCase
			w.StripAccents = *cfg.DoLowerCase
		}
		if cfg.StripAccents != nil {
			w.StripAccents = *cfg.StripAccents
		}
		return w, nil
	}
	var spm []string
	for _, pat := range []string{"*.model", "*.spm"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		spm = append(spm, m...)
	}
	if len(spm) == 1 {
		return LoadSentencePiece(spm[0])
	}
	if len(spm) > 1 {
		return nil, fmt.Errorf("tokenizer: %s holds several SentencePiece models %v; name one with LoadSentencePiece", dir, spm)
	}
	return nil, fmt.Errorf("tokenizer: %s: %w (looked for tokenizer.json, vocab.json+merges.txt, encoder.json+vocab.bpe, vocab.txt, source.spm+vocab.json, *.model, *.spm)", dir, ErrNoTokenizer)
}

// FileNames are the files that make a directory's tokenizer for Load
// (besides a lone *.model or *.spm SentencePiece file, see Files).
var FileNames = []string{CharVocabFile, "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
	"added_tokens.json", "vocab.json", "merges.txt", "encoder.json", "vocab.bpe", "vocab.txt", "source.spm", "target.spm"}

// Files returns the paths of the tokenizer files dir holds: those of
// FileNames and any *.model or *.spm. Copied together to another
// directory, they make the same tokenizer there.
func Files(dir string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range FileNames {
		p := filepath.Join(dir, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			out, seen[p] = append(out, p), true
		}
	}
	for _, pat := range []string{"*.model", "*.spm"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, p := range m {
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && !seen[p] {
				out, seen[p] = append(out, p), true
			}
		}
	}
	return out
}

// ErrNoTokenizer is what Load wraps when a directory holds no tokenizer
// files at all (as against files it cannot read).
var ErrNoTokenizer = errors.New("no tokenizer files")

// hfConfigs is what Load reads from tokenizer_config.json and config.json.
type hfConfigs struct {
	DoLowerCase    *bool  `json:"do_lower_case"`
	StripAccents   *bool  `json:"strip_accents"`
	AddPrefixSpace *bool  `json:"add_prefix_space"`
	TokenizerClass string `json:"tokenizer_class"`
	ModelType      string `json:"model_type"`
	// AddedTokens is tokenizer_config.json's added_tokens_decoder: id -> token.
	AddedTokens map[string]hfAddedToken `json:"added_tokens_decoder"`
}

func readConfigs(dir string) hfConfigs {
	var c hfConfigs
	for _, name := range []string{"config.json", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			continue
		}
		_ = json.Unmarshal(data, &c) // a config we cannot read only loses refinements
	}
	return c
}

func loadBPEDir(vocabPath, mergesPath string, cfg hfConfigs) (*BPE, error) {
	b, err := LoadBPEFiles(vocabPath, mergesPath)
	if err != nil {
		return nil, err
	}
	if cfg.AddPrefixSpace != nil {
		b.addPrefixSpace = *cfg.AddPrefixSpace
	}
	cls := strings.ToLower(cfg.TokenizerClass + " " + cfg.ModelType)
	roberta := strings.Contains(cls, "roberta") || strings.Contains(cls, "bart")
	var added []addedToken
	switch {
	case len(cfg.AddedTokens) > 0:
		for key, t := range cfg.AddedTokens {
			id, err := strconv.Atoi(key)
			if err != nil {
				return nil, fmt.Errorf("tokenizer_config.json added_tokens_decoder: key %q is not an id", key)
			}
			if t.SingleWord {
				return nil, fmt.Errorf("tokenizer_config.json added token %q: single_word is not supported", t.Content)
			}
			added = append(added, addedToken{Content: t.Content, ID: id, Special: t.Special, LStrip: t.LStrip, RStrip: t.RStrip})
		}
	case roberta:
		for _, s := range []string{"<s>", "<pad>", "</s>", "<unk>", "<mask>"} {
			if id, ok := b.vocab[s]; ok {
				added = append(added, addedToken{Content: s, ID: id, Special: true, LStrip: s == "<mask>"})
			}
		}
	}
	if added != nil {
		if err := b.setAdded(added); err != nil {
			return nil, err
		}
	}
	if roberta {
		s, oks := b.vocab["<s>"]
		e, oke := b.vocab["</s>"]
		if oks && oke {
			b.post = robertaTemplate(s, e)
		}
		if id, ok := b.vocab["<unk>"]; ok {
			b.unk = id
		}
	}
	return b, nil
}

// LoadBPEFiles reads a byte-level BPE from vocab.json + merges.txt (or their
// OpenAI names, encoder.json + vocab.bpe). <|endoftext|>, when in the
// vocabulary, is a special added token.
func LoadBPEFiles(vocabPath, mergesPath string) (*BPE, error) {
	data, err := os.ReadFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("bpe vocab: %w", err)
	}
	var vocab map[string]int
	if err := json.Unmarshal(data, &vocab); err != nil {
		return nil, fmt.Errorf("bpe vocab %s: %w", vocabPath, err)
	}
	merges, err := readMerges(mergesPath)
	if err != nil {
		return nil, err
	}
	b, err := NewBPE(vocab, merges)
	if err != nil {
		return nil, fmt.Errorf("%s + %s: %w", vocabPath, mergesPath, err)
	}
	if id, ok := vocab["<|endoftext|>"]; ok {
		if err := b.setAdded([]addedToken{{Content: "<|endoftext|>", ID: id, Special: true}}); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// readMerges reads merges.txt: an optional "#version" line, then one merge
// "left right" per line in rank order.
func readMerges(path string) ([][2]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bpe merges: %w", err)
	}
	var out [][2]string
	for n, line := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimRight(string(line), "\r")
		if s == "" || (n == 0 && strings.HasPrefix(s, "#version")) {
			continue
		}
		l, r, ok := cutMerge(s)
		if !ok {
			return nil, fmt.Errorf("bpe merges %s line %d %q: want two tokens separated by a space", path, n+1, s)
		}
		out = append(out, [2]string{l, r})
	}
	return out, nil
}

func cutMerge(s string) (string, string, bool) {
	l, r, ok := strings.Cut(s, " ")
	if !ok || l == "" || r == "" || strings.Contains(r, " ") {
		return "", "", false
	}
	return l, r, true
}

// LoadVocabTxt reads BERT's vocab.txt (one token per line, id = line number)
// as an uncased WordPiece; set Lowercase and StripAccents false for cased
// models.
func LoadVocabTxt(path string) (*WordPiece, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wordpiece vocab: %w", err)
	}
	defer f.Close()
	var tokens []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		tokens = append(tokens, strings.TrimRight(sc.Text(), "\r"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("wordpiece vocab %s: %w", path, err)
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("wordpiece vocab %s: empty", path)
	}
	w, err := NewWordPiece(tokens, "[UNK]")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return w, nil
}
