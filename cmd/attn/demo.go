package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/attn-dev/attn/embedded"
	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/tokenizer"
	"github.com/attn-dev/attn/viz"
)

// demoFlags are the flags of attn demo.
type demoFlags struct {
	prompt, sentence, word, a, b, mask, color string
	maxNew, width, layer                      int
	seed                                      uint64
}

func init() {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Watch a Transformer write, attend and embed, offline, on the models inside attn",
		Long: `demo runs the two models embedded in attn, trained by attn train on the
complete works in data/tinyshakespeare (see the README for the commands):

  1. the GPT continues a prompt, streaming, and reports its speed;
  2. its attention over a sentence as a terminal heatmap, with the earlier
     token each token attends to most;
  3. the encoder fills a [MASK] and compares one word's contextual vectors
     in two sentences, layer by layer;

and ends with the command that opens the explorer in a browser. It needs no
network and no files beyond the binary.`,
		Example: `  attn demo
  attn demo --prompt "KING HENRY:" --seed 7
  attn demo --sentence "O Romeo, Romeo, wherefore art thou Romeo?" --color never`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runDemo(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.prompt, "prompt", "ROMEO:\n", "the GPT's prompt")
	fl.IntVar(&f.maxNew, "max-new-tokens", 60, "tokens to generate")
	fl.Uint64Var(&f.seed, "seed", 1, "sampling seed")
	fl.StringVar(&f.sentence, "sentence", "To be, or not to be, that is the question.", "the sentence whose attention is drawn")
	fl.IntVar(&f.layer, "layer", -1, "draw this layer's mean over heads (-1: the head that looks most at other earlier tokens)")
	fl.StringVar(&f.mask, "mask", "I shall, my [MASK].", "the encoder's fill-mask sentence")
	fl.StringVar(&f.word, "word", "lie", "the word whose contextual vectors are compared")
	fl.StringVar(&f.a, "a", "They lie in view; but have not spoke as yet.", "the word's first sentence")
	fl.StringVar(&f.b, "b", "A lie that it must bear? Well, I will do it.", "the word's second sentence")
	fl.StringVar(&f.color, "color", "auto", "terminal colours: auto, always, truecolor or never")
	fl.IntVar(&f.width, "width", 0, "terminal width in columns (default: $COLUMNS or 100)")
	rootCmd.AddCommand(cmd)
}

func runDemo(cmd *cobra.Command, f *demoFlags) error {
	style, err := termStyle(cmd, f.color)
	if err != nil {
		return err
	}
	if err := firstErr(intRange("max-new-tokens", f.maxNew, 1, 1024), intRange("layer", f.layer, -1, 1<<20)); err != nil {
		return err
	}
	width, err := termWidth(cmd, f.width)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	t0 := time.Now()
	gptDir, err := embedded.Dir(embedded.GPT)
	if err != nil {
		return err
	}
	encDir, err := embedded.Dir(embedded.Encoder)
	if err != nil {
		return err
	}
	about, err := embedded.About(embedded.GPT)
	if err != nil {
		return err
	}

	section(out, fmt.Sprintf("1. %s (%.1fM parameters, validation loss %.2f) continues a prompt", embedded.GPT, float64(about.Params)/1e6, about.ValLoss))
	g, err := infer.LoadGenerator(gptDir)
	if err != nil {
		return err
	}
	defer g.Close()
	cfg := g.Config
	cfg.MaxNewTokens, cfg.DoSample, cfg.Temperature, cfg.TopK, cfg.Seed = f.maxNew, true, 0.8, 40, f.seed
	fmt.Fprint(out, f.prompt)
	res, err := g.Generate(infer.Request{Prompt: f.prompt, Config: cfg, OnText: func(s string) error {
		_, err := fmt.Fprint(out, s)
		return err
	}})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n\n(%d tokens at %.0f tokens/s)\n", len(res.IDs), res.TokensPerSecond)

	if err := demoAttention(out, g, f, style, width); err != nil {
		return err
	}

	enc, err := infer.Load(encDir)
	if err != nil {
		return err
	}
	defer enc.Close()
	section(out, fmt.Sprintf("3. %s fills a mask and tells two senses of %q apart", embedded.Encoder, f.word))
	preds, err := enc.FillMaskText(f.mask, 5)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, f.mask)
	for _, p := range preds {
		var cands []string
		for _, c := range p.Candidates {
			cands = append(cands, fmt.Sprintf("%q %.2f", c.Text, c.Prob))
		}
		fmt.Fprintf(out, "  [MASK] → %s\n", strings.Join(cands, ", "))
	}
	sim, err := enc.Similarity(f.word, f.a, f.b)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n%q in\n  a: %s\n  b: %s\ncosine of its vectors after each layer (1 = the same):\n", f.word, f.a, f.b)
	for _, s := range sim {
		bar := strings.Repeat("█", max(0, int(s.Cosine*40+0.5)))
		name := "embeddings"
		if s.Layer > 0 {
			name = fmt.Sprintf("layer %d", s.Layer)
		}
		fmt.Fprintf(out, "  %-10s %6.3f %s\n", name, s.Cosine, bar)
	}
	fmt.Fprintln(out, "The word starts as one vector; attention mixes in each sentence's context.")

	section(out, "Next")
	fmt.Fprintf(out, `  attn serve --open                    the explorer in your browser: every layer and head
  attn generate --prompt "JULIET:"     more text (no --model: the embedded GPT)
  attn attend --text "..." --png a.png attention as a picture
  attn pull gpt2 && attn generate --model gpt2 --prompt "Hello"
(demo took %.1fs)
`, time.Since(t0).Seconds())
	return nil
}

// demoAttention draws one head of the GPT's attention over the demo
// sentence: --layer's mean over heads, or by default the head that looks
// most at other earlier tokens rather than at the first token (where most
// heads park their attention: a "sink") or at itself: the one that shows
// what reads what.
func demoAttention(out io.Writer, g *infer.Generator, f *demoFlags, style viz.Style, width int) error {
	m := g.Model
	ids, err := g.Tokenizer.Encode(f.sentence, false)
	if err != nil {
		return err
	}
	if len(ids) < 2 {
		return fmt.Errorf("--sentence %q needs at least two tokens", f.sentence)
	}
	layers, _ := viz.Shape(m, viz.Self)
	req := viz.Request{Stack: viz.Self, IDs: ids}
	if f.layer >= 0 {
		req.Layers = []int{min(f.layer, layers-1)}
	}
	a, err := viz.Attend(m, req)
	if err != nil {
		return err
	}
	var w [][]float32
	var title string
	if f.layer >= 0 {
		if err := a.Mean(); err != nil {
			return err
		}
		w, title = a.Weights[0][0], fmt.Sprintf("layer %d, mean over heads", a.Layers[0])
	} else {
		bl, bh, best := 0, 0, -1.0
		for l, heads := range a.Weights {
			for h, hw := range heads {
				var s float64
				for q := 1; q < len(hw); q++ {
					s += 1 - float64(hw[q][0]) - float64(hw[q][q])
				}
				if s > best {
					bl, bh, best = l, h, s
				}
			}
		}
		w = a.Weights[bl][bh]
		title = fmt.Sprintf("layer %d, head %d: the head that looks most at other earlier tokens", a.Layers[bl], a.Heads[bh])
	}
	section(out, "2. what each token of a sentence looks at ("+title+")")
	labels, err := tokenizer.Tokens(g.Tokenizer, ids)
	if err != nil {
		return err
	}
	mp := viz.Map{Queries: labels, Keys: labels, W: w}
	if fit := (width - 13) / 2; len(labels) > fit {
		mp = mp.Window(0, fit, 0, fit)
	}
	return viz.Terminal(out, mp, style, width)
}

func section(out io.Writer, title string) {
	fmt.Fprintf(out, "\n── %s\n\n", title)
}
