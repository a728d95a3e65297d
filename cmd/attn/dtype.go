package main

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
)

// dtypeFlag is --dtype, shared by every verb that loads a model for
// inference.
type dtypeFlag struct{ v string }

func (d *dtypeFlag) register(f *pflag.FlagSet) {
	f.StringVar(&d.v, "dtype", "f32", "matrix weights: f32 (used in place) or bf16 (a converted copy: half the memory and bytes per token; outputs within bfloat16 rounding of f32)")
}

// options returns the model.Load options the flag asks for.
func (d *dtypeFlag) options() ([]model.Option, error) {
	dt, err := model.ParseDType(d.v)
	if err != nil {
		return nil, fmt.Errorf("--dtype: %w", err)
	}
	return []model.Option{model.WithDType(dt)}, nil
}

// loadModel loads the checkpoint in dir with the flag's dtype.
func (d *dtypeFlag) loadModel(dir string) (model.Model, error) {
	opts, err := d.options()
	if err != nil {
		return nil, err
	}
	return model.Load(dir, opts...)
}

// loadTask loads the model in dir for a text or image task with the
// --truncate and --dtype flags' values.
func loadTask(dir, trunc string, dtype *dtypeFlag) (*infer.Task, error) {
	tr, err := parseTruncate(trunc)
	if err != nil {
		return nil, err
	}
	opts, err := dtype.options()
	if err != nil {
		return nil, err
	}
	t, err := infer.Load(dir, opts...)
	if err != nil {
		return nil, err
	}
	t.Truncate = tr
	return t, nil
}
