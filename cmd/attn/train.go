package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/train"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() {
	var configPath, preset, resume, inputs, dump, objective string
	var steps int
	var asJSON, baseline bool
	keys := map[string]*string{} // config key -> flag value
	var align *alignOpts
	cmd := &cobra.Command{
		Use: "train [--preset NAME] [--config FILE] [--key value ...]",
		Example: `  attn train --preset tiny-char
  attn train --preset shakespeare-char && attn generate --model out-shakespeare-char/ckpt-0002000 --prompt "ROMEO:"
  attn train --config embedded/recipes/gpt.json --max-iters 200 --out /tmp/gpt-short
  attn train --resume out-tiny-char --max-iters 300
  attn train --task classify --data 'data/sentiment-labelled-sentences-uci/*_labelled.txt' --baseline`,
		Short: "Train or fine-tune a model: causal or masked LM, classification, seq2seq, images, preferences",
		Long: `train runs a training loop described by a JSON config: a preset
(--preset), then a config file (--config), then --key value flags, each
overriding the one before; an unknown key is an error. It trains a GPT-2
(fresh, or --model DIR) as a causal LM on a text file (--data), tokenized
by characters, by a BPE trained on the spot, by the model's tokenizer or
by the tokenizer files of a directory (--tokenizer DIR),
with nanoGPT's random windows, AdamW, warm-up + cosine decay, clipping and
gradient accumulation; it validates every --eval-interval steps, prints a
sample, and writes checkpoints OUT/ckpt-NNNNNNN (Hugging Face layout plus
optimizer and RNG state) every --checkpoint-every steps, keeping the last
--keep-last and the best. --resume OUT continues the newest checkpoint bit
for bit. --json prints one JSON object per logged step; OUT/log.jsonl
keeps the same.

Presets:
` + presetHelp() + `
Reproducibility mode: with --inputs IN.safetensors (steps.input_ids and
steps.labels, I64 [S,B,T]) and --dump OUT.safetensors it trains --model
with AdamW(--lr, --beta1, --beta2, --eps, --weight-decay) on every
parameter, the loss the model's head computes with labels=, and writes
loss.s, loss, grad.<name> (step 0) and after_step.<name>.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg := train.DefaultConfig()
			if preset != "" {
				var err error
				if cfg, err = train.PresetConfig(preset); err != nil {
					return err
				}
			}
			if configPath != "" {
				if err := train.ReadConfig(&cfg, configPath); err != nil {
					return err
				}
			}
			var set []string
			var setErr error
			cmd.Flags().VisitAll(func(f *pflag.Flag) {
				key := strings.ReplaceAll(f.Name, "-", "_")
				if _, ok := keys[key]; ok && f.Changed && setErr == nil {
					setErr = cfg.Set(key, f.Value.String())
					set = append(set, key)
				}
			})
			if setErr != nil {
				return setErr
			}
			if objective != "" {
				return runObjective(objective, cfg, set, align, cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON)
			}
			if baseline {
				if cfg.Task != train.TaskClassify {
					return fmt.Errorf("train: --baseline needs --task classify")
				}
				acc, err := train.BagOfWordsBaseline(cfg)
				if err != nil {
					return err
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"baseline": "bag-of-words logistic regression", "val_accuracy": acc})
			}
			if dump != "" || inputs != "" {
				return runRepro(cfg, inputs, dump, steps)
			}
			var tr *train.Trainer
			var err error
			if resume != "" {
				for _, k := range set {
					if k != "max_iters" {
						return fmt.Errorf("train: --resume continues the run's own config; only --max-iters may change (got --%s)", strings.ReplaceAll(k, "_", "-"))
					}
				}
				mi := 0
				if cmd.Flags().Changed("max-iters") {
					mi = cfg.MaxIters
				}
				tr, err = train.Resume(resume, mi)
			} else {
				tr, err = train.NewTrainer(cfg)
			}
			if err != nil {
				return err
			}
			defer tr.Close()
			tr.OnRecord = progress(cmd.OutOrStdout(), cmd.ErrOrStderr(), asJSON)
			final, err := tr.Run()
			if err != nil {
				return err
			}
			if !asJSON {
				acc := ""
				if final.ValAccuracy != nil {
					acc = fmt.Sprintf(", val accuracy %.4f", *final.ValAccuracy)
				}
				if final.ValExactMatch != nil {
					acc += fmt.Sprintf(", exact match %.4f", *final.ValExactMatch)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "done: %d steps, val loss %.4f%s, median %.1f ms/step, checkpoint %s\n",
					final.Step, *final.ValLoss, acc, final.MSPerStep, final.Checkpoint)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&preset, "preset", "", "start from a named recipe (see above)")
	f.StringVar(&configPath, "config", "", "JSON config file (keys as the flags below, with _)")
	f.StringVar(&resume, "resume", "", "continue the newest checkpoint in DIR (or the checkpoint DIR)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object per logged step")
	f.BoolVar(&baseline, "baseline", false, "classify: print the validation accuracy of a bag-of-words logistic regression on the same split, and exit")
	align = addAlignFlags(f)
	f.StringVar(&objective, "objective", "", "preference learning instead of a task: reward (a Bradley–Terry reward model on --data pairs), dpo or ppo (align --model)")
	f.StringVar(&inputs, "inputs", "", "reproducibility mode: safetensors of steps.input_ids and steps.labels [S,B,T]")
	f.StringVar(&dump, "dump", "", "reproducibility mode: safetensors file for losses, gradients and parameters")
	f.IntVar(&steps, "steps", 0, "reproducibility mode: number of steps (0 = all in --inputs)")
	def := train.DefaultConfig()
	dv := reflect.ValueOf(def)
	for i, key := range configKeysInOrder() {
		_ = i
		name := strings.ReplaceAll(key, "_", "-")
		keys[key] = f.String(name, "", fmt.Sprintf("config %q (default %v)", key, fieldByTag(dv, key)))
	}
	rootCmd.AddCommand(cmd)
}

// configKeysInOrder lists Config's JSON keys in declaration order.
func configKeysInOrder() []string {
	t := reflect.TypeOf(train.Config{})
	keys := make([]string, t.NumField())
	for i := range keys {
		keys[i] = t.Field(i).Tag.Get("json")
	}
	return keys
}

func fieldByTag(v reflect.Value, key string) any {
	for i := 0; i < v.NumField(); i++ {
		if v.Type().Field(i).Tag.Get("json") == key {
			return v.Field(i).Interface()
		}
	}
	return nil
}

func presetHelp() string {
	var b strings.Builder
	for _, p := range train.Presets {
		fmt.Fprintf(&b, "  %-18s %s\n", p.Name, p.About)
	}
	return b.String()
}

// progress returns the record printer: JSON lines on stdout, or a live
// line on a terminal (plain lines otherwise) on stderr.
func progress(stdout, stderr io.Writer, asJSON bool) func(train.Record) {
	enc := json.NewEncoder(stdout)
	live := false
	if f, ok := stderr.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			live = true
		}
	}
	var lastVal string
	return func(r train.Record) {
		if asJSON {
			r.Sample = ""
			enc.Encode(r)
			return
		}
		if r.ValLoss != nil {
			lastVal = fmt.Sprintf("%.4f", *r.ValLoss)
		}
		if r.Final {
			return
		}
		if r.ValLoss != nil || r.Checkpoint != "" {
			if live {
				fmt.Fprint(stderr, "\r\033[K")
			}
			fmt.Fprintf(stderr, "step %d: val loss %s", r.Step, lastVal)
			if r.ValAccuracy != nil {
				fmt.Fprintf(stderr, ", val accuracy %.4f", *r.ValAccuracy)
			}
			if r.ValExactMatch != nil {
				fmt.Fprintf(stderr, ", exact match %.4f", *r.ValExactMatch)
			}
			if r.Checkpoint != "" {
				fmt.Fprintf(stderr, ", checkpoint %s", r.Checkpoint)
			}
			fmt.Fprintln(stderr)
			if r.Sample != "" {
				fmt.Fprintf(stderr, "---\n%s\n---\n", r.Sample)
			}
			return
		}
		line := fmt.Sprintf("step %d/%d  loss %.4f  val %s  lr %.2e  %.0f tok/s  %.1f ms/step  ETA %s",
			r.Step+1, r.Total, r.Loss, orDash(lastVal), r.LR, r.TokensPerSecond, r.MSPerStep,
			(time.Duration(r.ETASeconds) * time.Second).String())
		if live {
			fmt.Fprint(stderr, "\r\033[K"+line)
		} else {
			fmt.Fprintln(stderr, line)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runRepro is the reproducibility mode: PyTorch-comparable steps on
// pre-tokenized batches, dumped to a safetensors file.
func runRepro(cfg train.Config, inputs, dump string, steps int) error {
	if cfg.Model == "" || inputs == "" || dump == "" {
		return fmt.Errorf("train: reproducibility mode needs --model, --inputs and --dump")
	}
	m, err := model.Load(cfg.Model)
	if err != nil {
		return err
	}
	defer m.Close()
	src, err := safetensors.Open(inputs)
	if err != nil {
		return err
	}
	defer src.Close()
	batches, err := train.ReadReproBatches(src)
	if err != nil {
		return fmt.Errorf("%s: %w", inputs, err)
	}
	out, err := train.Reproduce(m, batches, train.ReproOptions{Steps: steps, LR: cfg.LR, Beta1: cfg.Beta1,
		Beta2: cfg.Beta2, Eps: cfg.Eps, WeightDecay: cfg.WeightDecay})
	if err != nil {
		return err
	}
	return safetensors.Write(dump, out, map[string]string{"format": "pt"})
}
