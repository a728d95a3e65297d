package main

import (
	"fmt"

	"github.com/spf13/pflag"

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
