package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/nn"
	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tensor"
)

// initKind is how Init fills a fresh parameter (the architectures'
// _init_weights: normal(0, initializer_range) for weights and embeddings,
// zeros for biases, ones for LayerNorm scales).
type initKind int

const (
	initNormal initKind = iota
	initZeros
	initOnes
)

// binder gives every parameter of a model under construction its tensor,
// by Hugging Face name: from a checkpoint (the mapped data itself, not a
// copy) or, for Init, freshly drawn. It records the model's state_dict
// (the names and tensors save_pretrained would write) and keeps the first
// error, so an architecture's constructor reads as its name table.
type binder struct {
	src   safetensors.Source // nil: initialise
	rng   *rand.Rand
	std   float64
	strip string // a prefix the file may lack (GPT-2's original Hub layout)
	drop  bool   // the file lacks strip

	named   []nn.NamedParam
	inOut   map[string]bool // names stored [in, out] in the file (Conv1D)
	used    map[string]bool
	ignored func(name string) bool // buffers a checkpoint may carry
	pending []pendingT             // Conv1D weights to transpose on first use
	linears []linearWeight         // the weights the model multiplies by
	err     error
}

func newLoadBinder(src safetensors.Source, strip string) *binder {
	b := &binder{src: src, strip: strip, inOut: map[string]bool{}, used: map[string]bool{}}
	if strip != "" {
		b.drop = !slices.ContainsFunc(src.Names(), func(n string) bool { return strings.HasPrefix(n, strip) })
	}
	return b
}

func newInitBinder(seed uint64, std float64) *binder {
	return &binder{rng: rand.New(rand.NewPCG(seed, 0x6174746e)), std: std, inOut: map[string]bool{}, used: map[string]bool{}}
}

func (b *binder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// basePrefix makes prefix optional: a base model (BertModel, ViTModel,
// GPT-2's Hub layout) is saved without its head class's prefix. When
// loading, the file decides (probe is a tensor every layout has); when
// initialising, withPrefix does.
func (b *binder) basePrefix(prefix, probe string, withPrefix bool) {
	b.strip = prefix
	if b.src != nil {
		b.drop = false
		b.drop = !b.has(prefix + probe)
	} else {
		b.drop = !withPrefix
	}
}

// fileName is the name under which the checkpoint stores name.
func (b *binder) fileName(name string) string {
	if b.drop {
		return strings.TrimPrefix(name, b.strip)
	}
	return name
}

// param returns the tensor called name, which must have the given shape.
func (b *binder) param(name string, kind initKind, shape ...int) *autograd.Var {
	v := b.fetch(name, kind, shape)
	b.named = append(b.named, nn.NamedParam{Name: b.fileName(name), Var: v})
	return v
}

func (b *binder) fetch(name string, kind initKind, shape []int) *autograd.Var {
	if b.src == nil {
		return autograd.Param(b.fresh(kind, shape))
	}
	if b.err != nil {
		return placeholder()
	}
	fn := b.fileName(name)
	data, got, err := b.src.Float32(fn)
	switch {
	case err != nil:
		b.fail(fmt.Errorf("tensor %s (shape %v) is missing or unreadable: %w", fn, shape, err))
	case !tensor.EqualShape(got, shape):
		b.fail(fmt.Errorf("tensor %s has shape %v in the checkpoint, the model wants %v", fn, got, shape))
	default:
		b.used[fn] = true
		return autograd.Param(tensor.FromSlice(data, shape...))
	}
	return placeholder()
}

// placeholder stands in for a parameter after an error, so construction
// can finish without allocating what a bad config asks for.
func placeholder() *autograd.Var { return autograd.Param(tensor.New(0)) }

// fresh draws a new parameter (Init, whose sizes were checked).
func (b *binder) fresh(kind initKind, shape []int) *tensor.Tensor {
	t := tensor.New(shape...)
	switch kind {
	case initOnes:
		t.Fill(1)
	case initNormal:
		d := t.Data()
		for i := range d {
			d[i] = float32(b.rng.NormFloat64() * b.std)
		}
	}
	return t
}

// tied returns the parameter to (already bound) for name, which
// save_pretrained drops as a tied copy of to; if the checkpoint has it
// anyway it is accepted and, as transformers' tie_weights does, replaced
// by to.
func (b *binder) tied(name string, to *autograd.Var) *autograd.Var {
	if b.src != nil {
		fn := b.fileName(name)
		if info, ok := b.src.Info(fn); ok {
			if !tensor.EqualShape(info.Shape, to.Shape()) {
				b.fail(fmt.Errorf("tensor %s has shape %v in the checkpoint, but it is tied to a tensor of shape %v", fn, info.Shape, to.Shape()))
			}
			b.used[fn] = true
		}
	}
	return to
}

// matmul records v, bound as name, as a weight the model multiplies by
// (for ToBF16); it returns v.
func (b *binder) matmul(name string, v *autograd.Var) *autograd.Var {
	b.linears = append(b.linears, linearWeight{name: b.fileName(name), v: v})
	return v
}

// has reports whether the checkpoint holds name (always false when
// initialising).
func (b *binder) has(name string) bool {
	if b.src == nil {
		return false
	}
	_, ok := b.src.Info(b.fileName(name))
	return ok
}

// linear binds name.weight [out, in] and name.bias [out].
func (b *binder) linear(name string, in, out int, bias bool) *nn.Linear {
	l := &nn.Linear{Weight: b.param(name+".weight", initNormal, out, in)}
	b.matmul(name+".weight", l.Weight)
	if bias {
		l.Bias = b.param(name+".bias", initZeros, out)
	}
	return l
}

// conv1D binds a GPT-2 Conv1D, the one quirk of that checkpoint: its
// weight is stored [in, out] (y = x·W + b). The model wants nn.Linear's
// [out, in], so the weight is transposed in place in the copy-on-write
// mapping (memory stays one copy) — not now but when the model is first
// used (base.ready): ToBF16, which converts the weights into a copy of its
// own from the file's layout, then never dirties those pages.
func (b *binder) conv1D(name string, in, out int) *nn.Linear {
	wname := name + ".weight"
	b.inOut[b.fileName(wname)] = true
	var w *autograd.Var
	if b.src == nil {
		w = autograd.Param(b.fresh(initNormal, []int{out, in}))
	} else {
		w = b.fetch(wname, initNormal, []int{in, out})
		if b.err == nil {
			// Shape [out, in] from the start; the data follows in ready.
			w = autograd.Param(tensor.FromSlice(w.Value.Data(), out, in))
			b.pending = append(b.pending, pendingT{w: w, in: in, out: out})
		}
	}
	b.named = append(b.named, nn.NamedParam{Name: b.fileName(wname), Var: w})
	b.matmul(wname, w)
	return &nn.Linear{Weight: w, Bias: b.param(name+".bias", initZeros, out)}
}

// pendingT is a Conv1D weight whose data is still the file's [in, out].
type pendingT struct {
	w       *autograd.Var
	in, out int
}

// transpose writes src [r, c] into dst as [c, r].
func transpose(dst, src []float32, r, c int) {
	for i := 0; i < r; i++ {
		row := src[i*c : (i+1)*c]
		for j, v := range row {
			dst[j*r+i] = v
		}
	}
}

// norm binds a LayerNorm: name.weight (γ) and name.bias (β), [c].
func (b *binder) norm(name string, c int, eps float32) *nn.LayerNorm {
	return &nn.LayerNorm{Weight: b.param(name+".weight", initOnes, c), Bias: b.param(name+".bias", initZeros, c), Eps: eps}
}

// embedding binds a [v, c] table name.weight.
func (b *binder) embedding(name string, v, c int) *nn.Embedding {
	return &nn.Embedding{Weight: b.param(name+".weight", initNormal, v, c)}
}

// finish reports the first error, or a checkpoint tensor the model did not
// take (other than the ignored buffers).
func (b *binder) finish() error {
	if b.err != nil || b.src == nil {
		return b.err
	}
	for _, n := range b.src.Names() {
		if !b.used[n] && (b.ignored == nil || !b.ignored(n)) {
			return fmt.Errorf("tensor %s in the checkpoint is not a parameter of this architecture (wrong architecture in config.json, or a head this loader does not know)", n)
		}
	}
	return nil
}
