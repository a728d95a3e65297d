package train_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/tensor"
	"github.com/attn-dev/attn/train"
)

// Fit one parameter vector to a target with AdamW under a warm-up + cosine
// schedule: forward, Backward, Step with the schedule's factor, ZeroGrad.
// torch.optim.AdamW, its lr set from the same schedule, ends at
// [0.8763 -0.8763].
func ExampleAdamW() {
	p := autograd.Param(tensor.FromSlice([]float32{0, 0}, 2))
	target := tensor.FromSlice([]float32{1, -1}, 2)
	opt, err := train.NewAdamW(0.9, 0.999, 1e-8, train.Group{Params: []*autograd.Var{p}, LR: 0.5})
	if err != nil {
		fmt.Println(err)
		return
	}
	sched := train.WarmupCosine{Warmup: 2, Total: 20, MinRatio: 0.1}
	g := autograd.NewGraph(true)
	for step := 0; step < 20; step++ {
		g.Reset()
		d := g.Sub(p, g.Input(target, false))
		loss := g.Sum(g.Mul(d, d)) // |p − target|²
		if err := g.Backward(loss); err != nil {
			fmt.Println(err)
			return
		}
		if err := opt.Step(sched.Factor(step)); err != nil {
			fmt.Println(err)
			return
		}
		opt.ZeroGrad()
	}
	fmt.Printf("%.4f after %d steps\n", p.Value.Data(), opt.StepCount())
	// Output:
	// [0.8763 -0.8763] after 20 steps
}

// The learning-rate multiplier: linear warm-up, then a half cosine down to
// MinRatio.
func ExampleWarmupCosine() {
	w := train.WarmupCosine{Warmup: 2, Total: 6, MinRatio: 0.1}
	if err := w.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	for s := 0; s <= 7; s++ {
		fmt.Printf("%.3f ", w.Factor(s))
	}
	fmt.Println()
	// Output:
	// 0.000 0.500 1.000 0.868 0.550 0.232 0.100 0.100
}

// A tiny causal-LM run on 30 kB of Shakespeare with a character tokenizer:
// a fresh one-layer GPT-2, a few AdamW steps, a checkpoint at the end.
func ExampleNewTrainer() {
	out, err := os.MkdirTemp("", "train-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(out)
	cfg := train.DefaultConfig()
	cfg.Data = "../testdata/train/shakespeare-30k.txt"
	cfg.Tokenizer = "char"
	cfg.Layers, cfg.Heads, cfg.Hidden, cfg.BlockSize, cfg.BatchSize = 1, 2, 16, 16, 4
	cfg.MaxIters, cfg.LRDecayIters, cfg.WarmupIters = 5, 5, 1
	cfg.EvalInterval, cfg.EvalIters, cfg.LogInterval, cfg.SampleTokens = 0, 2, 1, 0
	cfg.Out = out

	tr, err := train.NewTrainer(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer tr.Close()
	steps := 0
	tr.OnRecord = func(r train.Record) {
		if !r.Final && r.ValLoss == nil {
			steps++
		}
	}
	final, err := tr.Run()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(steps, "steps logged; final:", final.Final, tr.Step(), final.ValLoss != nil && !math.IsNaN(*final.ValLoss))
	ckpts, err := train.Checkpoints(out)
	for _, c := range ckpts {
		fmt.Println(filepath.Base(c))
	}
	fmt.Println(err)
	// Output:
	// 5 steps logged; final: true 5 true
	// ckpt-0000005
	// <nil>
}
