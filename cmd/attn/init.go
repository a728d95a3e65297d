package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/attn-dev/attn/model"
	"github.com/spf13/cobra"
)

func init() {
	var o model.InitOptions
	var out string
	cmd := &cobra.Command{
		Use: "init --arch gpt2|bert|vit|marian|bart --out DIR",
		Example: `  attn init --arch gpt2 --layers 4 --heads 4 --hidden 128 --vocab 1000 --context 256 --out /tmp/tiny-gpt
  attn init --arch gpt2 --layers 12 --heads 12 --hidden 768 --vocab 50257 --context 1024 --out /tmp/gpt2s
  attn init --arch bert --head BertForSequenceClassification --labels 3 --out /tmp/bert-cls`,
		Short: "Write a randomly initialised model as a Hugging Face checkpoint",
		Long: `init builds a model of the given architecture with that architecture's own
initialisation (normal(0, 0.02) weights and embeddings, zero biases, unit
LayerNorm scales) and writes config.json and model.safetensors to DIR, in
the layout save_pretrained writes, atomically. Sizes default to a small model.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Arch == "" || out == "" {
				return fmt.Errorf("init needs --arch (%s) and --out", strings.Join(model.ModelTypes(), ", "))
			}
			for _, f := range []struct {
				flag string
				v    int
			}{{"layers", o.Layers}, {"heads", o.Heads}, {"hidden", o.Hidden}, {"ffn", o.FFN}, {"vocab", o.Vocab},
				{"context", o.Context}, {"decoder-layers", o.DecoderLayers}, {"decoder-heads", o.DecoderHeads},
				{"decoder-ffn", o.DecoderFFN}, {"image-size", o.ImageSize}, {"patch-size", o.PatchSize}, {"labels", o.Labels}} {
				if err := givenRange(cmd, f.flag, f.v, 1, math.MaxInt); err != nil {
					return err
				}
			}
			var m model.Model
			if err := slowStep(cmd, "initialising the weights", func() (err error) {
				m, err = model.Init(o)
				return err
			}); err != nil {
				return err
			}
			if err := slowStep(cmd, "writing "+out, func() error { return model.Save(m, out) }); err != nil {
				return err
			}
			info := m.Info()
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %s, %d parameters\n", out, info.Architecture, info.Params)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Arch, "arch", "", "model_type: "+strings.Join(model.ModelTypes(), ", "))
	f.StringVar(&o.Head, "head", "", "architecture class, e.g. GPT2Model, BertForMaskedLM, ViTForImageClassification, BartForCausalLM [GPT2LMHeadModel, BertModel, ViTModel, MarianMTModel, BartForConditionalGeneration]")
	f.IntVar(&o.Layers, "layers", 0, "layers (encoder layers for encoder-decoders) [2]")
	f.IntVar(&o.Heads, "heads", 0, "attention heads [4]")
	f.IntVar(&o.Hidden, "hidden", 0, "hidden size C [64]")
	f.IntVar(&o.FFN, "ffn", 0, "feed-forward width [4·hidden]")
	f.IntVar(&o.Vocab, "vocab", 0, "vocabulary size [1000]")
	f.IntVar(&o.Context, "context", 0, "positions (n_positions / max_position_embeddings) [128]")
	f.StringVar(&o.Activation, "activation", "", "activation (gelu, gelu_new, relu, swish, silu) [the architecture's]")
	f.IntVar(&o.DecoderLayers, "decoder-layers", 0, "decoder layers (marian, bart) [= layers]")
	f.IntVar(&o.DecoderHeads, "decoder-heads", 0, "decoder heads (marian, bart) [= heads]")
	f.IntVar(&o.DecoderFFN, "decoder-ffn", 0, "decoder feed-forward width (marian, bart) [= ffn]")
	f.IntVar(&o.ImageSize, "image-size", 0, "image side (vit) [32]")
	f.IntVar(&o.PatchSize, "patch-size", 0, "patch side (vit) [8]")
	f.IntVar(&o.Labels, "labels", 0, "classes of a classification head [2]")
	f.Uint64Var(&o.Seed, "seed", 0, "random seed")
	f.StringVar(&out, "out", "", "directory to write (must not exist or be empty)")
	rootCmd.AddCommand(cmd)
}
