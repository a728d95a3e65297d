package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/attn-dev/attn/tokenizer"
)

// TextData is a tokenized text split nanoGPT's way: the first
// 1 − val_fraction of the tokens train, the rest validate.
type TextData struct {
	Train, Val []int32
	Tok        tokenizer.Tokenizer
	Kind       string // char, bpe or model
	SHA256     string // of the source text
}

// tokenCache is OUT/data/meta.json: what the cached tokens were made from.
type tokenCache struct {
	Source    string `json:"source"`
	SHA256    string `json:"sha256"`
	Tokenizer string `json:"tokenizer"`
	VocabSize int    `json:"vocab_size"`
	Tokens    int    `json:"tokens"`
}

// Tokenizer files written beside the token cache and into checkpoints.
const (
	bpeFile    = "tokenizer.json" // a trained BPE, Hugging Face's format
	tokensFile = "tokens.bin"     // little-endian uint32 ids
)

// LoadText reads and tokenizes cfg.Data, or reuses the cache in
// cacheDir (OUT/data) when it was made from the same text with the same
// tokenizer. modelTok is the checkpoint's tokenizer for "model".
func LoadText(cfg *Config, cacheDir string, modelTok tokenizer.Tokenizer) (*TextData, error) {
	text, err := os.ReadFile(cfg.Data)
	if err != nil {
		return nil, fmt.Errorf("train: data: %w", err)
	}
	sum := sha256.Sum256(text)
	d := &TextData{Kind: cfg.Tokenizer, SHA256: hex.EncodeToString(sum[:])}
	var ids []int32
	if meta, tok, cached, err := readTokenCache(cacheDir, cfg, modelTok); err == nil && meta.SHA256 == d.SHA256 {
		d.Tok, ids = tok, cached
	} else {
		if d.Tok, err = makeTokenizer(cfg, text, modelTok); err != nil {
			return nil, err
		}
		all, err := d.Tok.Encode(string(text), false)
		if err != nil {
			return nil, fmt.Errorf("train: tokenizing %s: %w", cfg.Data, err)
		}
		ids = make([]int32, len(all))
		for i, v := range all {
			ids[i] = int32(v)
		}
		if err := writeTokenCache(cacheDir, cfg, d, ids); err != nil {
			return nil, err
		}
	}
	n := int(float64(len(ids)) * (1 - cfg.ValFraction))
	d.Train, d.Val = ids[:n], ids[n:]
	if len(d.Train) <= cfg.BlockSize || len(d.Val) <= cfg.BlockSize {
		return nil, fmt.Errorf("train: %s has %d tokens: %d train and %d validation, each must exceed block_size %d", cfg.Data, len(ids), len(d.Train), len(d.Val), cfg.BlockSize)
	}
	return d, nil
}

func makeTokenizer(cfg *Config, text []byte, modelTok tokenizer.Tokenizer) (tokenizer.Tokenizer, error) {
	switch cfg.Tokenizer {
	case "char":
		return tokenizer.NewChar(string(text))
	case "bpe":
		b, err := tokenizer.TrainBPE(bytes.NewReader(text), tokenizer.TrainOptions{VocabSize: cfg.VocabSize})
		if err != nil {
			return nil, fmt.Errorf("train: training a BPE on %s: %w", cfg.Data, err)
		}
		return b, nil
	case "model":
		if modelTok == nil {
			return nil, fmt.Errorf("train: tokenizer \"model\": %s has no tokenizer files", cfg.Model)
		}
		return modelTok, nil
	default: // a directory (Config.Validate)
		t, err := tokenizer.Load(cfg.Tokenizer)
		if err != nil {
			return nil, fmt.Errorf("train: tokenizer: %w", err)
		}
		return t, nil
	}
}

// WriteTokenizer writes tok's files into dir: char_vocab.json for a Char,
// tokenizer.json for a BPE (a model's own tokenizer files are copied by
// the caller).
func WriteTokenizer(dir string, tok tokenizer.Tokenizer) error {
	switch t := tok.(type) {
	case *tokenizer.Char:
		data, err := json.Marshal(t)
		if err != nil {
			return err
		}
		return writeFileSync(filepath.Join(dir, tokenizer.CharVocabFile), data)
	case *tokenizer.BPE:
		var buf bytes.Buffer
		if err := t.WriteHFJSON(&buf); err != nil {
			return fmt.Errorf("train: tokenizer: %w", err)
		}
		return writeFileSync(filepath.Join(dir, bpeFile), buf.Bytes())
	}
	return nil
}

// LoadTokenizer reads the tokenizer of a checkpoint (tokenizer.Load,
// which knows the char_vocab.json this package writes).
func LoadTokenizer(dir string) (tokenizer.Tokenizer, error) { return tokenizer.Load(dir) }

func readTokenCache(dir string, cfg *Config, modelTok tokenizer.Tokenizer) (*tokenCache, tokenizer.Tokenizer, []int32, error) {
	data, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, nil, nil, err
	}
	var meta tokenCache
	if err := json.Unmarshal(data, &meta); err != nil {
		return nil, nil, nil, err
	}
	if meta.Tokenizer != cfg.Tokenizer || (cfg.Tokenizer == "bpe" && meta.VocabSize != cfg.VocabSize) {
		return nil, nil, nil, fmt.Errorf("stale")
	}
	var tok tokenizer.Tokenizer
	if cfg.Tokenizer == "char" || cfg.Tokenizer == "bpe" { // made from the text, kept with the cache
		tok, err = LoadTokenizer(dir)
	} else { // the model's or a directory's: not made from the text
		tok, err = makeTokenizer(cfg, nil, modelTok)
	}
	if err != nil {
		return nil, nil, nil, err
	}
	raw, err := os.ReadFile(filepath.Join(dir, tokensFile))
	if err != nil || len(raw) != 4*meta.Tokens {
		return nil, nil, nil, fmt.Errorf("token cache: %d bytes for %d tokens", len(raw), meta.Tokens)
	}
	ids := make([]int32, meta.Tokens)
	for i := range ids {
		ids[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
		if int(ids[i]) >= tok.VocabSize() {
			return nil, nil, nil, fmt.Errorf("token cache: id %d outside the vocabulary", ids[i])
		}
	}
	return &meta, tok, ids, nil
}

func writeTokenCache(dir string, cfg *Config, d *TextData, ids []int32) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: token cache: %w", err)
	}
	raw := make([]byte, 4*len(ids))
	for i, v := range ids {
		binary.LittleEndian.PutUint32(raw[4*i:], uint32(v))
	}
	if err := writeFileSync(filepath.Join(dir, tokensFile), raw); err != nil {
		return err
	}
	if err := WriteTokenizer(dir, d.Tok); err != nil {
		return err
	}
	meta, _ := json.MarshalIndent(tokenCache{Source: cfg.Data, SHA256: d.SHA256, Tokenizer: cfg.Tokenizer,
		VocabSize: cfg.VocabSize, Tokens: len(ids)}, "", "  ")
	return writeFileSync(filepath.Join(dir, "meta.json"), meta) // last: it validates the rest
}

// Batch fills ids and targets [B, T] with B random windows of data
// (nanoGPT's get_batch: x = data[i:i+T], y = data[i+1:i+T+1]).
func Batch(rng *rand.Rand, data []int32, b, t int, ids, targets []int) {
	for r := 0; r < b; r++ {
		i := rng.IntN(len(data) - t)
		for j := 0; j < t; j++ {
			ids[r*t+j] = int(data[i+j])
			targets[r*t+j] = int(data[i+j+1])
		}
	}
}
