package model

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/nn"
	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tensor"
	"github.com/attn-dev/attn/torchfile"
)

// Model is a loaded checkpoint: the nn blocks of one architecture with
// their weights under Hugging Face's names.
type Model interface {
	// NamedParameters lists the state_dict save_pretrained writes (tied
	// copies left out), in nn.Linear's [out, in] layout.
	nn.Module
	// Forward runs the model on in (see Inputs) in graph g and returns the
	// tensors Hugging Face's forward returns, valid until g.Reset.
	Forward(g *autograd.Graph, in *Inputs, opt Options) (*Outputs, error)
	// Info summarises the architecture.
	Info() Info
	// Config is the checkpoint's config.json.
	Config() *Config
	// Close releases the mapped checkpoint; the model is unusable after.
	Close() error
}

// Options choose what Forward computes beyond the head's output.
type Options struct {
	HiddenStates bool // hidden_states.N (N = 0..L), as output_hidden_states=True
	Attentions   bool // attentions.N [B, NH, Tq, Tk], every layer's (see Capture to choose)
	// LastLogits computes the LM head for the last position only: logits
	// [B, 1, V] (for generation).
	LastLogits bool
	// HeadRows, for a model with a token-level head on an encoder
	// (BERT's masked-LM head; see RowHead), runs that head on these rows
	// of last_hidden_state only, indices into its B·T positions
	// (row-major): logits [len(HeadRows), V]. A masked-LM step scores
	// about one position in seven, and the head over a vocabulary is
	// most of a small model's work.
	HeadRows []int
	// NoLogits skips the LM head of a LinearHead model: the caller
	// applies LMHeadWeight to last_hidden_state itself (a trainer fusing
	// it into the loss, autograd.LinearCrossEntropy).
	NoLogits bool
	// Cache, for the decoder models (GPT-2, the Marian/BART decoders),
	// holds the keys and values of earlier calls: the new tokens sit at
	// positions Cache.Len() … and attention_mask covers past and new
	// positions, [B, Cache.Len()+T]. See NewCache.
	Cache *Cache
	// Encoder, for encoder-decoders, is the output of Encode: Forward
	// then skips the encoder (and input_ids) and runs the decoder only.
	Encoder *Encoded
	// Dropout applies the config's dropout rates in a training graph (as
	// torch's model.train()); off, a training graph computes what an
	// inference graph does (model.eval()).
	Dropout bool
	// Capture, when set, receives the attention probabilities of the
	// layers and heads it chooses (see Capture).
	Capture *Capture
	// HeadMask [layer][head], when set, multiplies the output of each
	// head of the encoder's (or a decoder-only model's) self-attention
	// (Hugging Face's head_mask: 0 switches a head off); a nil row
	// leaves its layer as it is.
	HeadMask [][]float32
	// Out, when set, is emptied and filled instead of a new Outputs, so
	// that a forward repeated in one graph (a decode step) allocates
	// nothing.
	Out *Outputs
}

// RowHead is a model whose token-level head can run on chosen positions
// only (Options.HeadRows).
type RowHead interface {
	// HasRowHead reports whether this model has such a head (a BERT
	// with its masked-LM head; not one with a classifier).
	HasRowHead() bool
}

// LinearHead is a language model whose logits are last_hidden_state·Wᵀ,
// no bias and no transform (GPT-2's tied head): a trainer can fuse that
// product into its loss and never hold the logits [B, T, V].
type LinearHead interface {
	// LMHeadWeight is W [V, C], nil when the model has no LM head.
	LMHeadWeight() *autograd.Var
}

// Inputs are the keyword arguments of Hugging Face's forward, batch-first
// and flattened row-major. Absent fields are nil.
type Inputs struct {
	B, T          int
	InputIDs      []int // [B, T]
	AttentionMask []int // [B, T] (or [B, past+T] with a cache); 1 real, 0 padding; nil = all ones
	TokenTypeIDs  []int // [B, T], BERT; nil = zeros
	PositionIDs   []int // [B, T], GPT-2; nil = past … past+T−1 for every row

	TDec                 int
	DecoderInputIDs      []int // [B, TDec]
	DecoderAttentionMask []int // [B, TDec] (or [B, past+TDec] with a cache)

	PixelValues *tensor.Tensor // [B, C, H, W], ViT
}

// Outputs are named tensors, in the order they were produced: Values[i]
// is called Names[i].
type Outputs struct {
	Names  []string
	Values []*tensor.Tensor
	// Vars[i] is the graph Var holding Values[i]: a training loop takes
	// its loss from it (Var("logits")) and runs Backward.
	Vars []*autograd.Var
}

func (o *Outputs) add(name string, v *autograd.Var) {
	o.Names = append(o.Names, name)
	o.Values = append(o.Values, v.Value)
	o.Vars = append(o.Vars, v)
}

// outputs returns the Outputs a forward fills: opt.Out emptied, or a new
// one.
func (opt *Options) outputs() *Outputs {
	o := opt.Out
	if o == nil {
		return &Outputs{}
	}
	clear(o.Values)
	clear(o.Vars)
	o.Names, o.Values, o.Vars = o.Names[:0], o.Values[:0], o.Vars[:0]
	return o
}

// addSeq adds name.0 … name.N−1.
func (o *Outputs) addSeq(name string, vs []*autograd.Var) {
	for i, v := range vs {
		o.add(fmt.Sprintf("%s.%d", name, i), v)
	}
}

// Var returns the graph Var of the named output, or nil.
func (o *Outputs) Var(name string) *autograd.Var {
	for i, n := range o.Names {
		if n == name && i < len(o.Vars) {
			return o.Vars[i]
		}
	}
	return nil
}

// Get returns the named output or nil.
func (o *Outputs) Get(name string) *tensor.Tensor {
	for i, n := range o.Names {
		if n == name {
			return o.Values[i]
		}
	}
	return nil
}

// Info summarises a model for `attn show`.
type Info struct {
	ModelType     string           `json:"model_type"`
	Architecture  string           `json:"architecture"`
	Layers        int              `json:"layers"` // encoder (or only) stack
	Heads         int              `json:"heads"`
	DecoderLayers int              `json:"decoder_layers,omitempty"` // encoder-decoders
	DecoderHeads  int              `json:"decoder_heads,omitempty"`
	Hidden        int              `json:"hidden"` // C
	FFN           int              `json:"ffn"`
	Context       int              `json:"context"` // longest sequence (positions); ViT: patches + 1
	Vocab         int              `json:"vocab"`   // 0 for ViT
	Params        int64            `json:"params"`
	DTypes        map[string]int64 `json:"dtypes"` // parameters per stored dtype
	FileBytes     int64            `json:"file_bytes"`
}

// base is what every architecture shares: config, state_dict, source.
type base struct {
	cfg    *Config
	info   Info
	params []nn.NamedParam
	inOut  map[string]bool
	src    safetensors.Source

	// pending are the Conv1D weights still in the file's [in, out]
	// layout; ready transposes them. pristine is true while nothing can
	// have written the mapping: no transposition yet and no parameter
	// handed out (NamedParameters). mu guards both.
	mu       sync.Mutex
	pending  []pendingT
	pristine atomic.Bool
	laidOut  atomic.Bool

	linears []linearWeight // the weights ToBF16 converts
	dtype   DType          // "" until ToBF16 (guarded by mu)
}

// ready lays the pending Conv1D weights out as [out, in] (in place, once):
// every use of the float32 parameters goes through it (ToBF16 reads the
// file's layout instead).
func (m *base) ready() {
	if m.laidOut.Load() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.laidOut.Load() {
		return
	}
	m.pristine.Store(false)
	var scratch []float32
	for _, p := range m.pending {
		d := p.w.Value.Data()
		scratch = append(scratch[:0], d...)
		transpose(d, scratch, p.in, p.out)
	}
	m.pending = nil
	m.laidOut.Store(true)
}

func (m *base) NamedParameters(prefix string, dst []nn.NamedParam) []nn.NamedParam {
	m.ready()
	for _, p := range m.params {
		dst = append(dst, nn.NamedParam{Name: prefix + p.Name, Var: p.Var})
	}
	return dst
}

func (m *base) Info() Info      { return m.info }
func (m *base) Config() *Config { return m.cfg }

func (m *base) Close() error {
	if m.src == nil {
		return nil
	}
	err := m.src.Close()
	m.src = nil
	return err
}

// architecture is one model_type: its head classes and its constructor.
type architecture struct {
	heads []string // the "architectures" values it accepts; heads[0] is the default
	build func(cfg *Config, head string, b *binder) (Model, error)
	// initConfig returns the config.json keys of a fresh model.
	initConfig func(o InitOptions, head string) map[string]any
}

var registry = map[string]*architecture{}

func register(modelType string, a *architecture) { registry[modelType] = a }

// ModelTypes lists the supported model_type values.
func ModelTypes() []string {
	var ts []string
	for t := range registry {
		ts = append(ts, t)
	}
	sort.Strings(ts)
	return ts
}

// lookup returns the architecture and head of cfg.
func lookup(cfg *Config) (*architecture, string, error) {
	mt := cfg.ModelType()
	a, ok := registry[mt]
	if !ok {
		return nil, "", fmt.Errorf("model: %s: model_type %q is not supported (supported: %s)", cfg.Path, mt, strings.Join(ModelTypes(), ", "))
	}
	head := cfg.Architecture()
	if head == "" {
		head = a.heads[0]
	}
	if !slices.Contains(a.heads, head) {
		return nil, "", fmt.Errorf("model: %s: architecture %q of model_type %q is not supported (supported: %s)", cfg.Path, head, mt, strings.Join(a.heads, ", "))
	}
	return a, head, nil
}

// pickleExts are the extensions of PyTorch pickle checkpoints.
var pickleExts = []string{".bin", ".pt", ".pth", ".ckpt", ".pkl"}

// The names transformers gives a pickle checkpoint and its shard index.
const (
	pickleFile  = "pytorch_model.bin"
	pickleIndex = "pytorch_model.bin.index.json"
)

// openPickle opens dir's pytorch_model.bin (or the shards its index
// names) with package torchfile, which reads tensors without running the
// pickle, into an in-memory source. It returns the files it read; no
// files and no error when dir has neither. Any other pickle file there
// gets an error with the command that converts it.
func openPickle(dir string) (safetensors.Source, []string, error) {
	var files []string
	if raw, err := os.ReadFile(filepath.Join(dir, pickleIndex)); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(raw, &idx); err != nil {
			return nil, nil, fmt.Errorf("model: %s: %w", filepath.Join(dir, pickleIndex), err)
		}
		for _, f := range idx.WeightMap {
			if f == "" || f != filepath.Base(f) || f == "." || f == ".." {
				return nil, nil, fmt.Errorf("model: %s: shard %q is not a file name in the directory", filepath.Join(dir, pickleIndex), f)
			}
			if p := filepath.Join(dir, f); !slices.Contains(files, p) {
				files = append(files, p)
			}
		}
		sort.Strings(files)
	} else if exists(filepath.Join(dir, pickleFile)) {
		files = []string{filepath.Join(dir, pickleFile)}
	} else if p := findPickle(dir); p != "" {
		return nil, nil, fmt.Errorf("model: %s has no model.safetensors, only the PyTorch checkpoint %s; convert it once with `attn convert %s %s`",
			dir, filepath.Base(p), p, filepath.Join(dir, "model.safetensors"))
	} else {
		return nil, nil, nil
	}
	slog.Info("reading a PyTorch pickle checkpoint (tensors only, nothing in it is run)", "files", files)
	src, err := torchfile.Open(files...)
	if err != nil {
		return nil, nil, fmt.Errorf("model: %w", err)
	}
	return src, files, nil
}

// Load opens the Hugging Face checkpoint in dir (config.json and
// model.safetensors, or model.safetensors.index.json and its shards) as
// the architecture config.json names. Weights stay in the memory-mapped
// file (only GPT-2's Conv1D weights are rewritten, in place, when the
// model is first used; see ToBF16); Close the model to release
// it. A directory with only pytorch_model.bin (or its sharded index) is
// read with package torchfile into memory instead: tensors only, nothing
// in the pickle runs.
func Load(dir string, opts ...Option) (Model, error) {
	var o loadOptions
	for _, opt := range opts {
		opt(&o)
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		if slices.Contains(pickleExts, filepath.Ext(dir)) {
			return nil, fmt.Errorf("model: %s is a PyTorch checkpoint file; pass the directory that holds it and config.json", dir)
		}
		return nil, fmt.Errorf("model: %s is a file; pass the checkpoint directory (with config.json)", dir)
	}
	cfg, err := ReadConfig(dir)
	if err != nil {
		return nil, err
	}
	a, head, err := lookup(cfg)
	if err != nil {
		return nil, err
	}
	var src safetensors.Source
	var pickles []string
	if !exists(filepath.Join(dir, "model.safetensors")) && !exists(filepath.Join(dir, safetensors.IndexFile)) {
		if src, pickles, err = openPickle(dir); err != nil {
			return nil, err
		}
	}
	if src == nil {
		if src, err = safetensors.OpenSharded(dir); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
	}
	b := newLoadBinder(src, "")
	m, err := a.build(cfg, head, b)
	if err == nil {
		err = b.finish()
	}
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("model: %s (%s): %w", dir, head, err)
	}
	bm := baseOf(m)
	bm.src, bm.inOut, bm.pending = src, b.inOut, b.pending
	bm.pristine.Store(true)
	bm.info.DTypes = map[string]int64{}
	for _, n := range src.Names() {
		if info, ok := src.Info(n); ok {
			bm.info.DTypes[string(info.DType)] += info.NumElements()
		}
	}
	bm.info.FileBytes = checkpointBytes(dir, pickles)
	if o.dtype == BF16 {
		if err := ToBF16(m); err != nil {
			m.Close()
			return nil, fmt.Errorf("model: %s: %w", dir, err)
		}
	}
	return m, nil
}

// checkpointBytes is the size of the weight files: the pickles read, or
// model.safetensors, or every shard the index names.
func checkpointBytes(dir string, pickles []string) int64 {
	files := pickles
	if len(files) == 0 {
		files = []string{filepath.Join(dir, "model.safetensors")}
		if data, err := os.ReadFile(filepath.Join(dir, safetensors.IndexFile)); err == nil {
			var idx struct {
				WeightMap map[string]string `json:"weight_map"`
			}
			if json.Unmarshal(data, &idx) == nil {
				files = files[:0]
				for _, f := range idx.WeightMap {
					if p := filepath.Join(dir, f); !slices.Contains(files, p) {
						files = append(files, p)
					}
				}
			}
		}
	}
	var n int64
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			n += st.Size()
		}
	}
	return n
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// findPickle returns a pickle checkpoint in dir, or "".
func findPickle(dir string) string {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if slices.Contains(pickleExts, filepath.Ext(e.Name())) {
			return filepath.Join(dir, e.Name())
		}
	}
	return ""
}

// finishBase fills the parts of base every constructor shares.
func finishBase(m *base, cfg *Config, head string, b *binder) {
	m.cfg, m.params, m.linears = cfg, b.named, b.linears
	m.info.ModelType, m.info.Architecture = cfg.ModelType(), head
	for _, p := range b.named {
		m.info.Params += int64(p.Var.Value.Len())
	}
}

// baseOf returns the shared part of a model built by this package.
func baseOf(m Model) *base {
	return m.(interface{ common() *base }).common()
}

func (m *base) common() *base { return m }
