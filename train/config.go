package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"
)

// Config is one training run, as a JSON file (keys below) or flags
// (--key-name for key_name). Zero values take the defaults of
// DefaultConfig; presets (Presets) are named starting points.
type Config struct {
	// Task: causal-lm (GPT-2), masked-lm or classify (BERT), seq2seq
	// (Marian, on source<TAB>target lines), image (ViT on MNIST IDX or a
	// folder per class of PNG/JPEG images).
	Task string `json:"task"`
	// Model: Init a fresh one of Arch (default: the task's) with these
	// sizes, or continue from the checkpoint directory Model.
	Model string `json:"model"`
	// InitFrom seeds a fresh model with a trained checkpoint of another
	// architecture (a GPT-2 seeds a BERT of its width: see warmStart).
	InitFrom string `json:"init_from"`
	// InitEmbeddings seeds a fresh model's token embedding with word
	// vectors (GloVe's text format: a word and its n_embd values per
	// line; word2vec's, with its "count dims" first line, too): each
	// token spelled as a word of the file (less a leading Ġ or ▁) takes
	// its vector, the others keep their initialisation.
	InitEmbeddings string  `json:"init_embeddings"`
	Arch           string  `json:"arch"`
	Layers         int     `json:"n_layer"`
	Heads          int     `json:"n_head"`
	Hidden         int     `json:"n_embd"`
	Dropout        float64 `json:"dropout"`

	// Data: a UTF-8 text file (language-model tasks) or labelled lines
	// (classify: a glob of .tsv/.txt, .csv or .jsonl files), tokenized by
	// Tokenizer ("char", "bpe" — trained on the spot with VocabSize
	// entries —, "model", the checkpoint's own, or a directory holding
	// tokenizer files, such as a WordPiece vocab.txt); the last ValFraction
	// of the tokens (of the shuffled examples) validates.
	Data           string  `json:"data"`
	MLMProbability float64 `json:"mlm_probability"`
	// MaskTokens (classify): each input token of a training batch is
	// replaced by [MASK] with this probability, a fresh choice every
	// batch — a regulariser for small data sets (0 = off).
	MaskTokens  float64 `json:"mask_tokens"`
	PatchSize   int     `json:"patch_size"` // image: ViT patches of patch_size²
	ImageSize   int     `json:"image_size"` // image folders: resized to image_size² (0 = the first image's size)
	Tokenizer   string  `json:"tokenizer"`
	VocabSize   int     `json:"vocab_size"`
	ValFraction float64 `json:"val_fraction"`

	// Batches: BatchSize windows of BlockSize tokens per micro-step,
	// GradAccum micro-steps per iteration.
	BatchSize int `json:"batch_size"`
	BlockSize int `json:"block_size"`
	GradAccum int `json:"grad_accum"`

	// Optimisation: AdamW, warm-up then cosine from LR to MinLR at
	// LRDecayIters, clipping at GradClip (0 = off).
	MaxIters     int     `json:"max_iters"`
	LR           float64 `json:"lr"`
	MinLR        float64 `json:"min_lr"`
	WarmupIters  int     `json:"warmup_iters"`
	LRDecayIters int     `json:"lr_decay_iters"`
	Beta1        float64 `json:"beta1"`
	Beta2        float64 `json:"beta2"`
	Eps          float64 `json:"eps"`
	WeightDecay  float64 `json:"weight_decay"`
	GradClip     float64 `json:"grad_clip"`

	// Evaluation and output.
	EvalInterval    int    `json:"eval_interval"`
	EvalIters       int    `json:"eval_iters"`
	LogInterval     int    `json:"log_interval"`
	SampleTokens    int    `json:"sample_tokens"` // generated at each evaluation (0 = none)
	CheckpointEvery int    `json:"checkpoint_every"`
	KeepLast        int    `json:"keep_last"`
	Seed            uint64 `json:"seed"`
	Out             string `json:"out"`
}

// DefaultConfig is the base every preset and file starts from.
func DefaultConfig() Config {
	return Config{
		Task: TaskCausalLM, Layers: 4, Heads: 4, Hidden: 128,
		Tokenizer: "char", VocabSize: 1024, ValFraction: 0.1, MLMProbability: 0.15, PatchSize: 7,
		BatchSize: 12, BlockSize: 64, GradAccum: 1,
		MaxIters: 2000, LR: 1e-3, MinLR: 1e-4, WarmupIters: 100, LRDecayIters: 2000,
		Beta1: 0.9, Beta2: 0.99, Eps: 1e-8, WeightDecay: 0.1, GradClip: 1,
		EvalInterval: 250, EvalIters: 20, LogInterval: 10, SampleTokens: 200,
		CheckpointEvery: 500, KeepLast: 2, Seed: 1337, Out: "out",
	}
}

// Preset is a named recipe.
type Preset struct {
	Name, About string
	Config      func() Config
}

// Presets are the recipes `attn train --preset NAME` knows.
var Presets = []Preset{
	{"shakespeare-char", "nanoGPT's CPU recipe: a 4-layer, 4-head, 128-wide character GPT on tinyshakespeare, 2000 iterations (val loss ≈ 1.88)",
		func() Config {
			c := DefaultConfig()
			c.Data = "data/tinyshakespeare/input.txt"
			c.Out = "out-shakespeare-char"
			return c
		}},
	{"sentiment", "a fresh 1-layer, 64-wide BERT classifier on the UCI sentiment sentences with BERT's WordPiece vocabulary, 600 iterations (tools/bench/sentiment.sh compares it with a bag of words over splits)",
		func() Config {
			c := DefaultConfig()
			c.Task, c.Data = TaskClassify, "data/sentiment-labelled-sentences-uci/*_labelled.txt"
			c.Tokenizer = "data/bert-base-uncased-vocab"
			c.Layers, c.Heads, c.Hidden, c.Dropout = 1, 2, 64, 0.1
			c.BatchSize, c.BlockSize = 32, 64
			c.MaxIters, c.LRDecayIters, c.WarmupIters, c.LR = 600, 600, 50, 1e-3
			c.EvalInterval, c.CheckpointEvery = 200, 600
			c.Out = "out-sentiment"
			return c
		}},
	{"tiny-char", "a 2-layer, 64-wide character GPT for smoke tests: 200 iterations",
		func() Config {
			c := DefaultConfig()
			c.Data = "data/tinyshakespeare/input.txt"
			c.Layers, c.Heads, c.Hidden, c.BlockSize, c.BatchSize = 2, 2, 64, 32, 8
			c.MaxIters, c.LRDecayIters, c.WarmupIters, c.EvalInterval, c.EvalIters = 200, 200, 20, 50, 5
			c.Out = "out-tiny-char"
			return c
		}},
}

// PresetConfig returns the named preset's config.
func PresetConfig(name string) (Config, error) {
	var names []string
	for _, p := range Presets {
		if p.Name == name {
			return p.Config(), nil
		}
		names = append(names, p.Name)
	}
	return Config{}, fmt.Errorf("train: unknown preset %q (known: %s)", name, strings.Join(names, ", "))
}

// DecodeConfig overlays the JSON object data on c; an unknown key is an
// error naming it.
func DecodeConfig(c *Config, data []byte, what string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(c); err != nil {
		return fmt.Errorf("train: %s: %w (known keys: %s)", what, err, strings.Join(ConfigKeys(), ", "))
	}
	return nil
}

// ReadConfig overlays the JSON file path on c.
func ReadConfig(c *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("train: config: %w", err)
	}
	return DecodeConfig(c, data, path)
}

// ConfigKeys lists the JSON keys of Config, sorted.
func ConfigKeys() []string {
	var keys []string
	t := reflect.TypeOf(Config{})
	for i := 0; i < t.NumField(); i++ {
		keys = append(keys, t.Field(i).Tag.Get("json"))
	}
	sort.Strings(keys)
	return keys
}

// Set assigns one key from its text form (a flag's value).
func (c *Config) Set(key, value string) error {
	v := reflect.ValueOf(c).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("json") != key {
			continue
		}
		raw := value
		if v.Field(i).Kind() == reflect.String {
			b, _ := json.Marshal(value)
			raw = string(b)
		}
		return DecodeConfig(c, []byte(fmt.Sprintf("{%q: %s}", key, raw)), "--"+strings.ReplaceAll(key, "_", "-"))
	}
	return fmt.Errorf("train: unknown config key %q (known: %s)", key, strings.Join(ConfigKeys(), ", "))
}

// Validate reports a config that cannot run.
func (c *Config) Validate() error {
	pos := func(name string, v int) error {
		if v < 1 {
			return fmt.Errorf("train: %s = %d must be at least 1", name, v)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"n_layer", c.Layers}, {"n_head", c.Heads}, {"n_embd", c.Hidden}, {"batch_size", c.BatchSize},
		{"block_size", c.BlockSize}, {"grad_accum", c.GradAccum}, {"max_iters", c.MaxIters},
		{"eval_iters", c.EvalIters}, {"log_interval", c.LogInterval}, {"keep_last", c.KeepLast}} {
		if err := pos(f.name, f.v); err != nil {
			return err
		}
	}
	switch {
	case c.Model == "" && c.Hidden%c.Heads != 0:
		return fmt.Errorf("train: n_embd %d is not a multiple of n_head %d", c.Hidden, c.Heads)
	case c.Data == "":
		return fmt.Errorf("train: no data: set \"data\" (a text file) or --data")
	case !(c.ValFraction > 0 && c.ValFraction < 1):
		return fmt.Errorf("train: val_fraction %g must be in (0, 1)", c.ValFraction)
	case !(c.LR > 0) || !(c.MinLR >= 0 && c.MinLR <= c.LR):
		return fmt.Errorf("train: lr %g must be positive and min_lr %g in [0, lr]", c.LR, c.MinLR)
	case c.WarmupIters < 0 || c.LRDecayIters < c.WarmupIters:
		return fmt.Errorf("train: warmup_iters %d and lr_decay_iters %d: need 0 ≤ warmup ≤ decay", c.WarmupIters, c.LRDecayIters)
	case c.GradClip < 0 || c.EvalInterval < 0 || c.CheckpointEvery < 0 || c.SampleTokens < 0 || c.ImageSize < 0:
		return fmt.Errorf("train: grad_clip, eval_interval, checkpoint_every, sample_tokens and image_size must not be negative")
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("train: dropout %g outside [0, 1)", c.Dropout)
	case c.Out == "":
		return fmt.Errorf("train: no output directory (--out)")
	}
	switch c.Task {
	case TaskCausalLM, TaskMaskedLM, TaskClassify, TaskSeq2Seq, TaskImage:
	default:
		return fmt.Errorf("train: task %q: want %s, %s, %s, %s or %s", c.Task, TaskCausalLM, TaskMaskedLM, TaskClassify, TaskSeq2Seq, TaskImage)
	}
	if !(c.MaskTokens >= 0 && c.MaskTokens < 1) {
		return fmt.Errorf("train: mask_tokens %g must be in [0, 1)", c.MaskTokens)
	}
	if !(c.MLMProbability > 0 && c.MLMProbability < 1) {
		return fmt.Errorf("train: mlm_probability %g must be in (0, 1)", c.MLMProbability)
	}
	switch c.Tokenizer {
	case "char", "bpe", "model":
	default:
		if st, err := os.Stat(c.Tokenizer); err != nil || !st.IsDir() {
			return fmt.Errorf("train: tokenizer %q: want char, bpe, model or a directory of tokenizer files (vocab.txt, tokenizer.json, …)", c.Tokenizer)
		}
	}
	if c.Tokenizer == "model" && c.Model == "" {
		return fmt.Errorf("train: tokenizer \"model\" needs a checkpoint (--model)")
	}
	return nil
}
