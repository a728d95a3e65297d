package model

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/attn-dev/attn/internal/memlimit"
	"github.com/attn-dev/attn/safetensors"
)

// InitOptions size a freshly initialised model (attn init). Zero fields
// take the defaults of Defaults.
type InitOptions struct {
	Arch, Head            string // model_type and architecture (head class; "" = the type's default)
	Layers, Heads, Hidden int
	FFN                   int // feed-forward width; 0 = 4·Hidden
	Vocab, Context        int
	Activation            string
	// Encoder-decoders: the decoder's own sizes (0 = as the encoder's).
	DecoderLayers, DecoderHeads, DecoderFFN int
	// ViT.
	ImageSize, PatchSize, Channels int
	Labels                         int      // classification heads
	LabelNames                     []string // their names (id2label); nil or another length: LABEL_i
	Seed                           uint64
	// Dropout, when set, is every dropout rate the config holds
	// (residual, attention, embeddings, activation); nil keeps the
	// architecture's defaults (transformers').
	Dropout *float64
}

func (o InitOptions) act(def string) string {
	if o.Activation != "" {
		return o.Activation
	}
	return def
}

// withDefaults fills zero fields with a small model's sizes.
func (o InitOptions) withDefaults() InitOptions {
	def := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	def(&o.Layers, 2)
	def(&o.Heads, 4)
	def(&o.Hidden, 64)
	def(&o.FFN, 4*o.Hidden)
	def(&o.Vocab, 1000)
	def(&o.Context, 128)
	def(&o.DecoderLayers, o.Layers)
	def(&o.DecoderHeads, o.Heads)
	def(&o.DecoderFFN, o.FFN)
	def(&o.ImageSize, 32)
	def(&o.PatchSize, 8)
	def(&o.Channels, 3)
	def(&o.Labels, 2)
	return o
}

// Init builds a model of the given architecture with that architecture's
// own initialisation (transformers' _init_weights: weights and embeddings
// from normal(0, initializer_range = 0.02), biases 0, LayerNorm scales 1;
// GPT-2's residual projections scaled by 1/√(2·n_layer)), deterministic in
// o.Seed. Save writes it as a Hugging Face checkpoint.
func Init(o InitOptions) (Model, error) {
	o = o.withDefaults()
	a, ok := registry[o.Arch]
	if !ok {
		return nil, fmt.Errorf("new model: unknown architecture %q (supported: %v)", o.Arch, ModelTypes())
	}
	head := o.Head
	if head == "" {
		head = a.heads[0]
	}
	raw := a.initConfig(o, head)
	if o.Dropout != nil {
		for k, v := range raw {
			if _, num := v.(float64); num && strings.Contains(k, "drop") {
				raw[k] = *o.Dropout
			}
		}
	}
	data, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("new model: %w", err)
	}
	cfg, err := ParseConfig("config.json", data)
	if err != nil {
		return nil, err
	}
	if _, _, err := lookup(cfg); err != nil {
		return nil, err
	}
	n := estimateParams(o)
	if err := memlimit.Check(fmt.Sprintf("model.Init: %s of about %.3g parameters", o.Arch, n), 4*n); err != nil {
		return nil, err
	}
	b := newInitBinder(o.Seed, 0.02)
	m, err := a.build(cfg, head, b)
	if err != nil {
		return nil, fmt.Errorf("new model: %w", err)
	}
	baseOf(m).inOut = b.inOut
	return m, nil
}

// estimateParams bounds the parameter count of o before allocating, in
// float64 so that absurd sizes cannot overflow.
func estimateParams(o InitOptions) float64 {
	f := func(n int) float64 { return float64(n) }
	c, ff := f(o.Hidden), f(max(o.FFN, o.DecoderFFN))
	layers := f(o.Layers) + f(o.DecoderLayers)
	side := f(o.ImageSize/max(1, o.PatchSize) + 1)
	return layers*(4*c*c+2*c*ff+8*c) + (f(o.Vocab)+f(o.Context)+f(o.Labels))*c + c*c +
		f(o.Channels)*f(o.PatchSize)*f(o.PatchSize)*c + side*side*c
}

// Save writes m to dir in Hugging Face's layout: config.json and
// model.safetensors (tied weights left out, GPT-2 Conv1D weights [in,
// out]), with metadata {"format": "pt"}. The directory appears
// atomically: it is written under a temporary name and renamed; an
// existing non-empty dir is an error.
func Save(m Model, dir string) error { return SaveAs(m, dir, F32) }

// SaveAs is Save with the weights stored as dt: F32, or BF16 (each weight
// rounded to the nearest bfloat16, config torch_dtype "bfloat16"; half the
// bytes, read back widened to float32 by Load).
func SaveAs(m Model, dir string, dt DType) error {
	dtype, put := safetensors.DTypeF32, safetensors.PutF32
	switch dt {
	case F32:
	case BF16:
		dtype, put = safetensors.DTypeBF16, safetensors.PutBF16
	default:
		return fmt.Errorf("save model: dtype %q is not f32 or bf16", dt)
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return fmt.Errorf("save model: %s exists and is not a directory", dir)
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("save model: %s exists and is not empty", dir)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	defer os.RemoveAll(tmp)
	raw := m.Config().raw
	if dt == BF16 {
		raw = maps.Clone(raw)
		raw["torch_dtype"] = "bfloat16"
	}
	cfg, err := json.MarshalIndent(raw, "", "  ")
	if err != nil {
		return fmt.Errorf("save model: config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "config.json"), append(cfg, '\n'), 0o644); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	// Each tensor's bytes are made as the file is written (Fill), one at a
	// time: a checkpoint of a large model never holds a second copy of
	// all its weights.
	inOut := baseOf(m).inOut
	var ts []safetensors.Tensor
	for _, p := range m.NamedParameters("", nil) {
		v := p.Var.Value
		shape := append([]int(nil), v.Shape...)
		transposed := inOut[p.Name]
		if transposed {
			shape[0], shape[1] = shape[1], shape[0]
		}
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: dtype, Shape: shape, Fill: func(dst []byte) error {
			data := v.Contiguous().Data()
			if transposed {
				t := make([]float32, len(data))
				transpose(t, data, v.Shape[0], v.Shape[1])
				data = t
			}
			put(dst, data)
			return nil
		}})
	}
	if err := safetensors.Write(filepath.Join(tmp, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp's directory is private
		return fmt.Errorf("save model: %w", err)
	}
	if err := os.Remove(dir); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("save model: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// scaleResidual multiplies the weights named by names by 1/√(2·layers)
// (GPT-2's init of the projections that feed the residual stream).
func (b *binder) scaleResidual(layers int, names ...string) {
	if b.src != nil {
		return
	}
	s := float32(1 / math.Sqrt(2*float64(layers)))
	for _, p := range b.named {
		for _, n := range names {
			if len(p.Name) >= len(n) && p.Name[len(p.Name)-len(n):] == n {
				d := p.Var.Value.Data()
				for i := range d {
					d[i] *= s
				}
			}
		}
	}
}
