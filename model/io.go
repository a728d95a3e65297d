package model

import (
	"strings"
	"time"

	"fmt"
	"github.com/attn-dev/attn/autograd"
	"slices"

	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tensor"
)

// inputNames are the tensors an inputs file of `attn forward` may hold.
var inputNames = []string{"input_ids", "attention_mask", "token_type_ids", "position_ids",
	"decoder_input_ids", "decoder_attention_mask", "pixel_values"}

// accept returns an error naming the first input in that is set but not
// among the ones the model takes (so that nothing is silently ignored).
func (in *Inputs) accept(model string, names ...string) error {
	set := map[string]bool{
		"input_ids": in.InputIDs != nil, "attention_mask": in.AttentionMask != nil,
		"token_type_ids": in.TokenTypeIDs != nil, "position_ids": in.PositionIDs != nil,
		"decoder_input_ids": in.DecoderInputIDs != nil, "decoder_attention_mask": in.DecoderAttentionMask != nil,
		"pixel_values": in.PixelValues != nil,
	}
	for _, n := range inputNames {
		if set[n] && !slices.Contains(names, n) {
			return fmt.Errorf("%s does not take %s (it takes %s)", model, n, strings.Join(names, ", "))
		}
	}
	return nil
}

// ReadInputs reads the keyword arguments of a forward from src: integer
// [B, T] input_ids, attention_mask, token_type_ids, position_ids,
// decoder_input_ids, decoder_attention_mask and float [B, C, H, W]
// pixel_values, as Hugging Face names them. The data is copied, so src
// may be closed afterwards.
func ReadInputs(src safetensors.Source) (*Inputs, error) {
	in := &Inputs{}
	for _, n := range src.Names() {
		if !slices.Contains(inputNames, n) {
			return nil, fmt.Errorf("model: inputs: unknown tensor %q (known: %v)", n, inputNames)
		}
	}
	ints := func(name string, b, t *int) ([]int, error) {
		if _, ok := src.Info(name); !ok {
			return nil, nil
		}
		v, shape, err := src.Int64(name)
		if err != nil {
			return nil, fmt.Errorf("model: inputs: %w", err)
		}
		if len(shape) != 2 {
			return nil, fmt.Errorf("model: inputs: %s has shape %v, want [B, T]", name, shape)
		}
		if *b == 0 {
			*b = shape[0]
		}
		if *t == 0 {
			*t = shape[1]
		}
		if shape[0] != *b || shape[1] != *t {
			return nil, fmt.Errorf("model: inputs: %s has shape %v, want [%d, %d]", name, shape, *b, *t)
		}
		out := make([]int, len(v))
		for i, x := range v {
			if x < -1<<31 || x > 1<<31-1 {
				return nil, fmt.Errorf("model: inputs: %s[%d] = %d is out of range", name, i, x)
			}
			out[i] = int(x)
		}
		return out, nil
	}
	var err error
	if in.InputIDs, err = ints("input_ids", &in.B, &in.T); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		dst  *[]int
	}{{"attention_mask", &in.AttentionMask}, {"token_type_ids", &in.TokenTypeIDs}, {"position_ids", &in.PositionIDs}} {
		if *f.dst, err = ints(f.name, &in.B, &in.T); err != nil {
			return nil, err
		}
	}
	if in.DecoderInputIDs, err = ints("decoder_input_ids", &in.B, &in.TDec); err != nil {
		return nil, err
	}
	if in.DecoderAttentionMask, err = ints("decoder_attention_mask", &in.B, &in.TDec); err != nil {
		return nil, err
	}
	if _, ok := src.Info("pixel_values"); ok {
		v, shape, err := src.Float32("pixel_values")
		if err != nil {
			return nil, fmt.Errorf("model: inputs: %w", err)
		}
		if len(shape) != 4 || (in.B != 0 && shape[0] != in.B) {
			return nil, fmt.Errorf("model: inputs: pixel_values has shape %v, want [B, C, H, W]", shape)
		}
		in.B = shape[0]
		in.PixelValues = tensor.FromSlice(slices.Clone(v), shape...)
	}
	if in.B == 0 {
		return nil, fmt.Errorf("model: inputs: no input_ids, decoder_input_ids or pixel_values")
	}
	return in, nil
}

// WriteOutputs writes out to path as F32 safetensors (atomically).
func WriteOutputs(path string, out *Outputs) error {
	ts := make([]safetensors.Tensor, 0, len(out.Names))
	for _, n := range out.Names {
		t := out.Get(n).Contiguous()
		ts = append(ts, safetensors.F32(n, t.Shape, t.Data()))
	}
	if err := safetensors.Write(path, ts, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("model: outputs: %w", err)
	}
	return nil
}

// ForwardStats are the measurements of RunFile.
type ForwardStats struct {
	Seconds []float64 // per repetition, forward only (no load, no I/O)
}

// RunFile is `attn forward`: it reads the inputs file, runs m repeat
// times (≥ 1) in one reused inference graph, and writes the last run's
// outputs to outPath. With repeat > 1 the Linear weights are packed for
// the GEMM once (PackLinearWeights; the first run pays the packing, the
// copies are dropped on return): a single forward packs each weight once
// anyway, so it gains nothing from keeping copies.
func RunFile(m Model, inputsPath, outPath string, opt Options, repeat int) (*ForwardStats, error) {
	if repeat > 1 {
		PackLinearWeights(m, true)
		defer PackLinearWeights(m, false)
	}
	src, err := safetensors.Open(inputsPath)
	if err != nil {
		return nil, fmt.Errorf("model: inputs: %w", err)
	}
	in, err := ReadInputs(src)
	src.Close()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", inputsPath, err)
	}
	g := autograd.NewGraph(false)
	st := &ForwardStats{}
	var out *Outputs
	for i := 0; i < max(1, repeat); i++ {
		g.Reset()
		t0 := time.Now()
		if out, err = m.Forward(g, in, opt); err != nil {
			return nil, err
		}
		st.Seconds = append(st.Seconds, time.Since(t0).Seconds())
	}
	if outPath != "" {
		if err := WriteOutputs(outPath, out); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// PackLinearWeights turns on (or off, releasing the copies) the packed
// weight copies of every matrix parameter of m used by a Linear layer (see
// autograd.Var.SetPackedLinear): whole-sequence inference forwards (at least
// kernels.PackMinRows tokens) then skip re-packing each weight at every
// call, at the price of a second copy of those weights, built lazily per
// layer at its first such forward. Decode steps (one row) never pack.
func PackLinearWeights(m Model, on bool) {
	for _, p := range m.NamedParameters("", nil) {
		if p.Var.Value.Rank() == 2 {
			p.Var.SetPackedLinear(on)
		}
	}
}
