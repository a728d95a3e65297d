package train

import (
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
)

// warmStart seeds the fresh model dst with the weights of the trained
// checkpoint dir, of another architecture, where they carry over: a
// BERT encoder from a GPT-2 of the same width trained on the same
// tokenizer. A BERT trained from scratch with masked LM on a small corpus
// sits for thousands of steps at the unigram solution (its attention
// starts uniform and learns slowly; PyTorch does the same); starting from
// a GPT's embeddings, attention and feed-forward weights, it reads its
// context from the first steps.
//
// GPT-2 → BERT: word and position embeddings (the GPT's rows; BERT's
// extra special-token rows keep their initialisation), each layer's
// query/key/value (the thirds of c_attn), attention output (c_proj),
// feed-forward (c_fc, mlp.c_proj), and the LayerNorms by where they sit
// in the residual stream: BERT's embedding LayerNorm from the first
// ln_1, its post-attention LayerNorm from ln_2, its post-feed-forward
// LayerNorm from the next layer's ln_1 (ln_f after the last).
func warmStart(dst model.Model, dir string) error {
	src, err := model.Load(dir)
	if err != nil {
		return fmt.Errorf("train: init_from: %w", err)
	}
	defer src.Close()
	si, di := src.Info(), dst.Info()
	if si.ModelType != "gpt2" || di.ModelType != "bert" {
		return fmt.Errorf("train: init_from %s: a %s cannot seed a %s (only a GPT-2 seeds a BERT)", dir, si.ModelType, di.ModelType)
	}
	if si.Hidden != di.Hidden || si.Layers != di.Layers || si.FFN != di.FFN {
		return fmt.Errorf("train: init_from %s: GPT-2 %d layers × %d wide (FFN %d) does not fit BERT %d × %d (FFN %d)",
			dir, si.Layers, si.Hidden, si.FFN, di.Layers, di.Hidden, di.FFN)
	}
	from := map[string]*autograd.Var{}
	for _, p := range src.NamedParameters("", nil) {
		from[p.Name] = p.Var
	}
	to := map[string]*autograd.Var{}
	for _, p := range dst.NamedParameters("", nil) {
		to[p.Name] = p.Var
	}
	c := di.Hidden
	copied := map[string]bool{}
	// put copies rows [r0, r1) of src's tensor (as [rows, rest]; r1 < 0:
	// all its rows) into the first rows of dst's.
	put := func(dn, sn string, r0, r1 int) error {
		d, s := to[dn], from[sn]
		if d == nil || s == nil {
			return fmt.Errorf("train: init_from %s: no tensor %s or %s", dir, sn, dn)
		}
		sv := s.Value.Contiguous()
		if r1 < 0 {
			r1 = sv.Shape[0]
		}
		rest := sv.Len() / sv.Shape[0]
		dd := d.Value.Data()
		if (r1-r0)*rest > len(dd) || d.Value.Len()%rest != 0 {
			return fmt.Errorf("train: init_from %s: %s %v does not fit %s %v", dir, sn, sv.Shape, dn, d.Value.Shape)
		}
		copy(dd, sv.Data()[r0*rest:r1*rest])
		copied[dn] = true
		return nil
	}
	pairs := [][2]string{
		{"bert.embeddings.word_embeddings.weight", "transformer.wte.weight"},
		{"bert.embeddings.position_embeddings.weight", "transformer.wpe.weight"},
		{"bert.embeddings.LayerNorm.weight", "transformer.h.0.ln_1.weight"},
		{"bert.embeddings.LayerNorm.bias", "transformer.h.0.ln_1.bias"},
	}
	for l := range di.Layers {
		b, g := fmt.Sprintf("bert.encoder.layer.%d.", l), fmt.Sprintf("transformer.h.%d.", l)
		next := fmt.Sprintf("transformer.h.%d.ln_1", l+1)
		if l == di.Layers-1 {
			next = "transformer.ln_f"
		}
		for i, qkv := range []string{"query", "key", "value"} {
			for _, wb := range []string{"weight", "bias"} {
				if err := put(b+"attention.self."+qkv+"."+wb, g+"attn.c_attn."+wb, i*c, (i+1)*c); err != nil {
					return err
				}
			}
		}
		for _, wb := range []string{"weight", "bias"} {
			pairs = append(pairs,
				[2]string{b + "attention.output.dense." + wb, g + "attn.c_proj." + wb},
				[2]string{b + "attention.output.LayerNorm." + wb, g + "ln_2." + wb},
				[2]string{b + "intermediate.dense." + wb, g + "mlp.c_fc." + wb},
				[2]string{b + "output.dense." + wb, g + "mlp.c_proj." + wb},
				[2]string{b + "output.LayerNorm." + wb, next + "." + wb})
		}
	}
	for _, p := range pairs {
		if err := put(p[0], p[1], 0, -1); err != nil {
			return err
		}
	}
	var left []string
	for n := range to {
		if !copied[n] {
			left = append(left, n)
		}
	}
	sort.Strings(left)
	slog.Info("train: warm start", "from", dir, "tensors", len(copied), "of", len(to), "left_initialised", strings.Join(left, ","))
	return nil
}
