package model_test

import (
	"math"
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
)

// TestHeadRows: BERT's masked-LM head run on chosen positions gives those
// rows of the full logits, and the gradient reaches the encoder through
// the picked rows only; rows out of range and a head without token-level
// logits are errors.
func TestHeadRows(t *testing.T) {
	m, err := model.Init(model.InitOptions{Arch: "bert", Head: "BertForMaskedLM", Layers: 2, Hidden: 32, Heads: 4, Vocab: 97, Context: 16, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	in := &model.Inputs{B: 2, T: 6, InputIDs: []int{1, 5, 9, 13, 17, 21, 2, 4, 8, 16, 32, 64}}
	rows := []int{0, 4, 7, 11}
	// run returns the picked rows' logits and the gradients of their sum.
	run := func(headRows bool) ([]float32, map[string][]float32) {
		g := autograd.NewGraph(true)
		var lv *autograd.Var
		if headRows {
			out, err := m.Forward(g, in, model.Options{HeadRows: rows})
			if err != nil {
				t.Fatal(err)
			}
			lv = out.Var("logits")
		} else {
			out, err := m.Forward(g, in, model.Options{})
			if err != nil {
				t.Fatal(err)
			}
			lv = g.Embedding(g.Reshape(out.Var("logits"), 12, 97), rows)
		}
		if s := lv.Shape(); len(s) != 2 || s[0] != len(rows) || s[1] != 97 {
			t.Fatalf("logits shape %v, want [%d 97]", s, len(rows))
		}
		for _, p := range m.NamedParameters("", nil) {
			p.Var.Grad = nil
		}
		if err := g.Backward(g.Sum(lv)); err != nil {
			t.Fatal(err)
		}
		grads := map[string][]float32{}
		for _, p := range m.NamedParameters("", nil) {
			if p.Var.Grad != nil {
				grads[p.Name] = p.Var.Grad.Clone().Data()
			}
		}
		return lv.Value.Contiguous().Data(), grads
	}
	wantLogits, wantGrads := run(false)
	gotLogits, gotGrads := run(true)
	near := func(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5+1e-5*math.Abs(float64(b)) }
	for i := range wantLogits {
		if !near(gotLogits[i], wantLogits[i]) {
			t.Fatalf("logit %d: head rows %g, full forward %g", i, gotLogits[i], wantLogits[i])
		}
	}
	if len(gotGrads) != len(wantGrads) || len(wantGrads) == 0 {
		t.Fatalf("%d gradients with head rows, %d without", len(gotGrads), len(wantGrads))
	}
	for name, want := range wantGrads {
		for i := range want {
			if !near(gotGrads[name][i], want[i]) {
				t.Fatalf("grad %s[%d]: head rows %g, full forward %g", name, i, gotGrads[name][i], want[i])
			}
		}
	}
	g := autograd.NewGraph(false)
	for _, bad := range [][]int{{12}, {-1}} {
		if _, err := m.Forward(g, in, model.Options{HeadRows: bad}); err == nil || !strings.Contains(err.Error(), "outside") {
			t.Errorf("head rows %v: err = %v", bad, err)
		}
	}
	cls, err := model.Init(model.InitOptions{Arch: "bert", Head: "BertForSequenceClassification", Layers: 1, Hidden: 16, Heads: 2, Vocab: 97, Context: 16, Labels: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer cls.Close()
	if rh, ok := cls.(model.RowHead); !ok || rh.HasRowHead() {
		t.Errorf("a classifier BERT reports a row head")
	}
	if _, err := cls.Forward(g, in, model.Options{HeadRows: rows}); err == nil || !strings.Contains(err.Error(), "no token-level head") {
		t.Errorf("classifier with head rows: err = %v", err)
	}
}
