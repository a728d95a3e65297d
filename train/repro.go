package train

import (
	"fmt"
	"math"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/nn"
	"github.com/attn-dev/attn/safetensors"
)

// ReproOptions are the hyper-parameters of Reproduce: one AdamW group
// over every parameter, as torch.optim.AdamW(model.parameters(), lr=LR,
// betas=(Beta1, Beta2), eps=Eps, weight_decay=WeightDecay), constant
// learning rate, no clipping; the loss is the one m's head computes
// (ObjectiveOf).
type ReproOptions struct {
	Steps                 int // 0 = every batch of the inputs
	LR, Beta1, Beta2, Eps float64
	WeightDecay           float64
}

// ReproBatches are pre-tokenized steps: InputIDs and Labels [S, B, T]
// (Labels [S, B, TDec] for a seq2seq model), AttentionMask optional.
type ReproBatches struct {
	S, B, T, TLabels int
	InputIDs         []int
	Labels           []int
	AttentionMask    []int
}

// ReadReproBatches reads steps.input_ids, steps.labels and optionally
// steps.attention_mask (I64 [S, B, T]) from src.
func ReadReproBatches(src safetensors.Source) (*ReproBatches, error) {
	known := map[string]bool{"steps.input_ids": true, "steps.labels": true, "steps.attention_mask": true}
	for _, n := range src.Names() {
		if !known[n] {
			return nil, fmt.Errorf("train: inputs: unknown tensor %q (known: steps.input_ids, steps.labels, steps.attention_mask)", n)
		}
	}
	read := func(name string) ([]int, []int, error) {
		if _, ok := src.Info(name); !ok {
			return nil, nil, nil
		}
		v, shape, err := src.Int64(name)
		if err != nil {
			return nil, nil, fmt.Errorf("train: inputs: %w", err)
		}
		if len(shape) != 3 || shape[0] < 1 || shape[1] < 1 || shape[2] < 1 {
			return nil, nil, fmt.Errorf("train: inputs: %s has shape %v, want [S, B, T]", name, shape)
		}
		out := make([]int, len(v))
		for i, x := range v {
			if x < math.MinInt32 || x > math.MaxInt32 {
				return nil, nil, fmt.Errorf("train: inputs: %s[%d] = %d is out of range", name, i, x)
			}
			out[i] = int(x)
		}
		return out, shape, nil
	}
	ids, is, err := read("steps.input_ids")
	if err != nil {
		return nil, err
	}
	labels, ls, err := read("steps.labels")
	if err != nil {
		return nil, err
	}
	if ids == nil || labels == nil {
		return nil, fmt.Errorf("train: inputs: steps.input_ids and steps.labels are both required")
	}
	if is[0] != ls[0] || is[1] != ls[1] {
		return nil, fmt.Errorf("train: inputs: steps.input_ids %v and steps.labels %v differ in S or B", is, ls)
	}
	mask, ms, err := read("steps.attention_mask")
	if err != nil {
		return nil, err
	}
	if mask != nil && (ms[0] != is[0] || ms[1] != is[1] || ms[2] != is[2]) {
		return nil, fmt.Errorf("train: inputs: steps.attention_mask %v, want %v", ms, is)
	}
	return &ReproBatches{S: is[0], B: is[1], T: is[2], TLabels: ls[2], InputIDs: ids, Labels: labels, AttentionMask: mask}, nil
}

// Reproduce trains m on the batches step by step, as a PyTorch script
// that other tools compare against would, and returns what
// `attn train --dump` writes: loss.s (the loss of batch s with the
// parameters after s updates), loss (= loss.0), grad.<name> (the step-0
// gradients under Hugging Face's names and layouts; a tied embedding
// holds the gradient of both uses) and after_step.<name> (the parameters
// after the first update).
func Reproduce(m model.Model, batches *ReproBatches, o ReproOptions) ([]safetensors.Tensor, error) {
	steps := o.Steps
	if steps == 0 {
		steps = batches.S
	}
	if steps < 1 || steps > batches.S {
		return nil, fmt.Errorf("train: --steps %d, but the inputs hold %d batches", steps, batches.S)
	}
	if !(o.LR >= 0) || math.IsInf(o.LR, 0) {
		return nil, fmt.Errorf("train: learning rate %g must be finite and non-negative", o.LR)
	}
	obj, err := ObjectiveOf(m)
	if err != nil {
		return nil, err
	}
	named := Trainable(m.NamedParameters("", nil))
	params := make([]*autograd.Var, len(named))
	for i, p := range named {
		params[i] = p.Var
	}
	opt, err := NewAdamW(o.Beta1, o.Beta2, o.Eps, Group{Name: "all", Params: params, LR: o.LR, WeightDecay: o.WeightDecay})
	if err != nil {
		return nil, err
	}
	g := autograd.NewGraph(true)
	g.SetDropout(false) // torch's model.eval() semantics, as the reference computes
	var out []safetensors.Tensor
	bt, bl := batches.B*batches.T, batches.B*batches.TLabels
	for s := 0; s < steps; s++ {
		g.Reset()
		opt.ZeroGrad()
		in := &model.Inputs{B: batches.B, T: batches.T, InputIDs: batches.InputIDs[s*bt : (s+1)*bt]}
		if batches.AttentionMask != nil {
			in.AttentionMask = batches.AttentionMask[s*bt : (s+1)*bt]
		}
		loss, _, lmOut, err := lmLoss(g, m, obj, in, batches.Labels[s*bl:(s+1)*bl])
		if err != nil {
			return nil, fmt.Errorf("train: step %d: %w", s, err)
		}
		if err := lmBackward(g, m, obj, loss, lmOut); err != nil {
			return nil, fmt.Errorf("train: step %d: %w", s, err)
		}
		l := loss.Value.Item()
		out = append(out, safetensors.F32(fmt.Sprintf("loss.%d", s), nil, []float32{l}))
		if s == 0 {
			out = append(out, safetensors.F32("loss", nil, []float32{l}))
			out = append(out, hfTensors(m, "grad.", named, true)...)
		}
		if err := opt.Step(1); err != nil {
			return nil, fmt.Errorf("train: step %d: %w", s, err)
		}
		if s == 0 {
			out = append(out, hfTensors(m, "after_step.", named, false)...)
		}
	}
	return out, nil
}

// hfBuffers are tensors attn's models hold as parameters but transformers
// registers as buffers, which no optimizer touches (Marian/BART's
// final_logits_bias, zeros in every released checkpoint).
var hfBuffers = map[string]bool{"final_logits_bias": true}

// Trainable drops from named the tensors transformers never trains
// (hfBuffers).
func Trainable(named []nn.NamedParam) []nn.NamedParam {
	out := named[:0:0]
	for _, p := range named {
		if !hfBuffers[p.Name] {
			out = append(out, p)
		}
	}
	return out
}

// hfTensors copies the parameters (or their gradients) of m under
// prefix+name in Hugging Face's layout (GPT-2's Conv1D weights [in, out]).
func hfTensors(m model.Model, prefix string, named []nn.NamedParam, grads bool) []safetensors.Tensor {
	out := make([]safetensors.Tensor, 0, len(named))
	for _, p := range named {
		t := p.Var.Value
		if grads {
			t = p.Var.Grad
			if t == nil { // no gradient reached it: zeros, as torch's would be None
				t = p.Var.Value.Clone()
				t.Zero()
			}
		}
		t = t.Contiguous()
		shape, data := t.Shape, t.Data()
		if model.StoredInOut(m, p.Name) {
			r, c := shape[0], shape[1]
			tr := make([]float32, len(data))
			for i := 0; i < r; i++ {
				for j := 0; j < c; j++ {
					tr[j*r+i] = data[i*c+j]
				}
			}
			shape, data = []int{c, r}, tr
		}
		out = append(out, safetensors.F32(prefix+p.Name, shape, data))
	}
	return out
}
