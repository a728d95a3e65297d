package train

import (
	"fmt"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
)

// IgnoreIndex marks a label that takes no part in the loss (torch's
// CrossEntropyLoss default, which transformers' heads use).
const IgnoreIndex = -100

// Objective is what a head's forward computes when transformers is given
// labels=.
type Objective int

const (
	// CausalLM: logits[:, :-1] against labels[:, 1:] (GPT2LMHeadModel,
	// BartForCausalLM): the model predicts the next token.
	CausalLM Objective = iota
	// MaskedLM: logits against labels at every position (BertForMaskedLM);
	// unmasked positions carry IgnoreIndex.
	MaskedLM
	// Seq2SeqLM: labels are the target sequence; the decoder reads them
	// shifted right behind decoder_start_token_id (-100 read as
	// pad_token_id), and its logits are scored against them unshifted
	// (MarianMTModel, BartForConditionalGeneration).
	Seq2SeqLM
)

func (o Objective) String() string {
	switch o {
	case CausalLM:
		return "causal-lm"
	case MaskedLM:
		return "masked-lm"
	case Seq2SeqLM:
		return "seq2seq"
	}
	return fmt.Sprintf("Objective(%d)", int(o))
}

// ObjectiveOf returns the objective of m's head, or an error for a head
// without a language-model loss.
func ObjectiveOf(m model.Model) (Objective, error) {
	switch a := m.Info().Architecture; a {
	case "GPT2LMHeadModel", "BartForCausalLM", "BertLMHeadModel":
		return CausalLM, nil
	case "BertForMaskedLM":
		return MaskedLM, nil
	case "MarianMTModel", "BartForConditionalGeneration":
		return Seq2SeqLM, nil
	default:
		return 0, fmt.Errorf("train: %s has no language-model loss (heads: GPT2LMHeadModel, BartForCausalLM, BertLMHeadModel, BertForMaskedLM, MarianMTModel, BartForConditionalGeneration)", a)
	}
}

// LMLoss runs m's training forward in g on in and returns the mean
// cross-entropy transformers' head computes for labels [B, T] (obj says
// how labels line up with the logits; IgnoreIndex entries are skipped).
// For Seq2SeqLM, in holds the source and LMLoss sets the decoder inputs
// from labels. It returns the loss and the number of scored labels.
func LMLoss(g *autograd.Graph, m model.Model, obj Objective, in *model.Inputs, labels []int) (*autograd.Var, int, error) {
	loss, n, _, err := lmLoss(g, m, obj, in, labels)
	return loss, n, err
}

func lmLoss(g *autograd.Graph, m model.Model, obj Objective, in *model.Inputs, labels []int) (*autograd.Var, int, *model.Outputs, error) {
	b := in.B
	if b == 0 || len(labels)%b != 0 {
		return nil, 0, nil, fmt.Errorf("train: %d labels for a batch of %d rows", len(labels), b)
	}
	t := len(labels) / b
	if obj != Seq2SeqLM && t != in.T {
		return nil, 0, nil, fmt.Errorf("train: labels [%d, %d] but input_ids [%d, %d]", b, t, in.B, in.T)
	}
	targets := g.Ints(len(labels))
	switch obj {
	case CausalLM:
		// Row r scores position t+1 with the logits of t; the last
		// position of each row scores nothing. The mean over kept rows
		// equals torch's over the shifted slice.
		for r := 0; r < b; r++ {
			for i := 0; i < t; i++ {
				targets[r*t+i] = IgnoreIndex
				if i+1 < t {
					targets[r*t+i] = labels[r*t+i+1]
				}
			}
		}
	case MaskedLM:
		copy(targets, labels)
	case Seq2SeqLM:
		copy(targets, labels)
		start, pad := configInt(m, "decoder_start_token_id", 0), configInt(m, "pad_token_id", 0)
		dec := g.Ints(len(labels))
		for r := 0; r < b; r++ {
			dec[r*t] = start
			for i := 1; i < t; i++ {
				v := labels[r*t+i-1]
				if v == IgnoreIndex {
					v = pad
				}
				dec[r*t+i] = v
			}
		}
		in.DecoderInputIDs, in.TDec = dec, t
	}
	loss, n, out, _, err := logitsLoss(g, m, in, targets)
	return loss, n, out, err
}

// LogitsLoss runs m's forward in g on in and returns the mean
// cross-entropy of its logits [B, T, V] against targets, one per logits
// row (IgnoreIndex rows skipped), and the number of scored rows. For a
// model.LinearHead whose logits would exceed fuseHeadFloats the head is
// fused into the loss (autograd.LinearCrossEntropy) and no logits exist.
func LogitsLoss(g *autograd.Graph, m model.Model, in *model.Inputs, targets []int) (*autograd.Var, int, error) {
	loss, n, _, _, err := logitsLoss(g, m, in, targets)
	return loss, n, err
}

// logitsLoss is LogitsLoss that also returns the outputs and the targets
// of their logits' rows: targets itself, or only the scored ones when a
// model.RowHead ran its head on the scored positions alone (a masked-LM
// step, whose logits are then [n, V]).
func logitsLoss(g *autograd.Graph, m model.Model, in *model.Inputs, targets []int) (*autograd.Var, int, *model.Outputs, []int, error) {
	n := 0
	for _, v := range targets {
		if v != IgnoreIndex {
			n++
		}
	}
	if n == 0 {
		return nil, 0, nil, nil, fmt.Errorf("train: every label of the batch is %d (ignored); nothing to learn from", IgnoreIndex)
	}
	var headRows []int
	if rh, ok := m.(model.RowHead); ok && rh.HasRowHead() && n < len(targets) && len(targets) == in.B*in.T {
		// The loss is the same mean over the scored rows; the head
		// (a dense layer, a norm and the vocabulary) runs on n rows
		// instead of B·T.
		headRows = g.Ints(n)[:0]
		scored := g.Ints(n)[:0]
		for i, v := range targets {
			if v != IgnoreIndex {
				headRows, scored = append(headRows, i), append(scored, v)
			}
		}
		targets = scored
	}
	// A step (training or validation) of an LM with a large vocabulary
	// never holds its logits: the head is fused into the loss (GPT-2
	// small at 1024 positions would hold 206 MB of logits and as much of
	// gradient). Such a step returns no logits.
	var head *autograd.Var
	if lh, ok := m.(model.LinearHead); ok {
		if w := lh.LMHeadWeight(); w != nil && len(targets)*w.Value.Shape[0] >= fuseHeadFloats {
			head = w
		}
	}
	// The config's dropout applies in a training graph (as model.train());
	// a graph switched off with SetDropout(false) — the reproducibility
	// mode, an evaluation — drops nothing.
	out, err := m.Forward(g, in, model.Options{Dropout: true, NoLogits: head != nil, HeadRows: headRows})
	if err != nil {
		return nil, 0, nil, nil, err
	}
	if head != nil {
		h := out.Var("last_hidden_state")
		if h == nil || h.Value.Len()/h.Value.Shape[h.Value.Rank()-1] != len(targets) {
			return nil, 0, nil, nil, fmt.Errorf("train: %d labels for the hidden states of %s", len(targets), m.Info().Architecture)
		}
		if err := checkTargets(targets, head.Value.Shape[0]); err != nil {
			return nil, 0, nil, nil, err
		}
		return g.LinearCrossEntropy(h, head, targets, IgnoreIndex), n, out, targets, nil
	}
	logits := out.Var("logits")
	if logits == nil {
		return nil, 0, nil, nil, fmt.Errorf("train: %s returned no logits", m.Info().Architecture)
	}
	vocab := logits.Value.Shape[logits.Value.Rank()-1]
	rows := logits.Value.Len() / vocab
	if rows != len(targets) {
		return nil, 0, nil, nil, fmt.Errorf("train: %d labels for %d rows of logits %v", len(targets), rows, logits.Value.Shape)
	}
	if err := checkTargets(targets, vocab); err != nil {
		return nil, 0, nil, nil, err
	}
	return g.CrossEntropy(logits, targets, IgnoreIndex), n, out, targets, nil // [..., V]: no reshape, whose backward would copy dlogits
}

// fuseHeadFloats is the size of the logits (floats) from which a training
// step fuses a LinearHead into its loss: 64 MB (a variable for tests).
var fuseHeadFloats = 1 << 24

// checkTargets reports a label outside the vocabulary.
func checkTargets(targets []int, vocab int) error {
	for i, v := range targets {
		if v != IgnoreIndex && (v < 0 || v >= vocab) {
			return fmt.Errorf("train: label %d at row %d is outside the vocabulary [0, %d)", v, i, vocab)
		}
	}
	return nil
}

// configInt reads an integer key of m's config.json, or def.
func configInt(m model.Model, key string, def int) int {
	if v, ok := m.Config().Int(key); ok {
		return v
	}
	return def
}

// lmBackward runs g.Backward(loss) for a loss from lmLoss and then gives
// the padding row of a Marian/BART shared embedding the gradient
// transformers gives it: those tables are nn.Embedding(padding_idx =
// pad_token_id), whose lookups never reach that row's gradient, so it
// holds the tied LM head's part only, Σ_rows dlogits[row, pad]·h[row]
// (h the decoder output). It matters because the decoder starts every
// target with decoder_start_token_id, which is the pad token for Marian.
// (BERT's word embeddings have padding_idx too, but padded positions
// are masked and unscored, so their lookups get no gradient anyway.)
func lmBackward(g *autograd.Graph, m model.Model, obj Objective, loss *autograd.Var, out *model.Outputs) error {
	if obj == Seq2SeqLM {
		if logits := out.Var("logits"); logits != nil {
			g.RetainGrad(logits) // read below
		}
	}
	if err := g.Backward(loss); err != nil {
		return err
	}
	if obj != Seq2SeqLM {
		return nil
	}
	var table *autograd.Var
	for _, p := range m.NamedParameters("", nil) {
		if p.Name == "model.shared.weight" {
			table = p.Var
		}
	}
	logits, h := out.Var("logits"), out.Var("last_hidden_state")
	pad := configInt(m, "pad_token_id", -1)
	if table == nil || table.Grad == nil || logits == nil || logits.Grad == nil || h == nil {
		return nil
	}
	v, c := table.Value.Shape[0], table.Value.Shape[1]
	if pad < 0 || pad >= v {
		return nil
	}
	dl, x := logits.Grad.Contiguous().Data(), h.Value.Contiguous().Data()
	rows := len(x) / c
	if len(dl) != rows*v {
		return fmt.Errorf("train: logits gradient of %d values for %d rows of %d", len(dl), rows, v)
	}
	acc := make([]float64, c)
	for r := 0; r < rows; r++ {
		if d := float64(dl[r*v+pad]); d != 0 {
			for j, xv := range x[r*c : (r+1)*c] {
				acc[j] += d * float64(xv)
			}
		}
	}
	row := table.Grad.Data()[pad*c : (pad+1)*c]
	for j := range row {
		row[j] = float32(acc[j])
	}
	return nil
}
