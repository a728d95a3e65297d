package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/train"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func init() {
	var out, data string
	var seed uint64
	var tiny, asJSON, resume bool
	demo := &cobra.Command{
		Use: "demo --out DIR",
		Example: `  attn align demo --out out-align
  attn align demo --out out-align --resume
  attn generate --model out-align/ppo --prompt "The food" --temperature 0.8`,
		Short: "Run the preference-learning pipeline offline on the UCI sentiment sentences",
		Long: `demo trains, in DIR: sft (a BPE GPT on the review sentences),
classifier (a BPE BERT pretrained by masked LM, fine-tuned on half of the
labels), reward (a Bradley–Terry reward model on pairs sampled from sft and
labelled by the classifier; the pairs are DIR/prefs.jsonl), ppo and dpo (sft
aligned by RLHF with PPO and by DPO). Each loads with attn generate --model.
It prints a before/after table: positivity of ≥ 200 samples per policy as
judged by a bag-of-words scorer trained on the other half of the labels,
KL to sft, and distinct bigrams. DIR/report.json keeps the numbers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c := train.DefaultDemoConfig()
			if tiny {
				c = train.TinyDemoConfig()
			}
			c.Out, c.Resume = out, resume
			if data != "" {
				c.Data = data
			}
			if cmd.Flags().Changed("seed") {
				c.Seed = seed
			}
			r, err := train.RunDemo(c, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			js, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(out+"/report.json", append(js, '\n'), 0o644); err != nil {
				return fmt.Errorf("align demo: %w", err)
			}
			if asJSON {
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", js)
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s(%.0f s)\n", r.Table(), r.Seconds)
			return nil
		},
	}
	f := demo.Flags()
	f.StringVar(&out, "out", "", "directory for the models (must not exist or be empty)")
	f.StringVar(&data, "data", "", "labelled sentences, a glob of text<TAB>label files (default data/sentiment-labelled-sentences-uci/*_labelled.txt)")
	f.Uint64Var(&seed, "seed", 1337, "seed of every stage")
	f.BoolVar(&tiny, "tiny", false, "the test-sized pipeline (under a minute)")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&resume, "resume", false, "keep the stages DIR already holds (an interrupted run continues)")
	demo.MarkFlagRequired("out")
	cmd := &cobra.Command{
		Use:     "align",
		Example: `  attn align demo --out out-align`,
		Short:   "Learning from preferences: attn align demo (see also attn train --objective reward|ppo|dpo)",
	}
	cmd.AddCommand(demo)
	rootCmd.AddCommand(cmd)
}

// alignOpts are the flags of attn train --objective.
type alignOpts struct {
	rewardModel, dpoLoss, positive           string
	beta, targetKL, initKLCoef               float64
	responseTokens, ppoEpochs, miniBatchSize int
}

func addAlignFlags(f *pflag.FlagSet) *alignOpts {
	o := &alignOpts{}
	def := train.DefaultPPOConfig()
	f.StringVar(&o.rewardModel, "reward-model", "", "ppo: the reward model (a one-label BertForSequenceClassification directory)")
	f.StringVar(&o.dpoLoss, "dpo-loss", train.DPOSigmoid, "dpo: sigmoid or ipo")
	f.Float64Var(&o.beta, "beta", 0.1, "dpo: β")
	f.Float64Var(&o.targetKL, "target-kl", def.TargetKL, "ppo: the adaptive KL controller's target (0 = a fixed coefficient)")
	f.Float64Var(&o.initKLCoef, "init-kl-coef", def.InitKLCoef, "ppo: the KL penalty's (initial) coefficient")
	f.IntVar(&o.responseTokens, "response-tokens", def.ResponseTokens, "ppo: tokens sampled per response")
	f.IntVar(&o.ppoEpochs, "ppo-epochs", def.PPOEpochs, "ppo: optimisation passes over each batch")
	f.IntVar(&o.miniBatchSize, "mini-batch-size", def.MiniBatchSize, "ppo: responses per optimizer step")
	return o
}

// runObjective is attn train --objective reward|ppo|dpo: cfg's model,
// data, out, max_iters, batch_size, lr, warmup_iters, grad_clip,
// weight_decay, seed, val_fraction and log_interval (each when set; the
// objective's defaults otherwise).
func runObjective(objective string, cfg train.Config, set []string, o *alignOpts, stdout, stderr io.Writer, asJSON bool) error {
	changed := map[string]bool{}
	for _, k := range set {
		changed[k] = true
	}
	ac := train.AlignConfig{Steps: 200, BatchSize: 32, LR: 1e-4, GradClip: 1, Seed: cfg.Seed, ValFraction: 0.1, LogInterval: 10}
	if objective == "ppo" {
		ac = train.DefaultPPOConfig().AlignConfig
	}
	for key, dst := range map[string]any{"max_iters": &ac.Steps, "batch_size": &ac.BatchSize, "lr": &ac.LR,
		"warmup_iters": &ac.WarmupSteps, "grad_clip": &ac.GradClip, "weight_decay": &ac.WeightDecay,
		"val_fraction": &ac.ValFraction, "log_interval": &ac.LogInterval} {
		if !changed[key] {
			continue
		}
		switch d := dst.(type) {
		case *int:
			*d = intField(cfg, key)
		case *float64:
			*d = floatField(cfg, key)
		}
	}
	if !changed["out"] {
		return fmt.Errorf("train --objective %s: set --out", objective)
	}
	if cfg.Data == "" {
		return fmt.Errorf("train --objective %s: set --data (%s)", objective, map[string]string{
			"reward": "preference pairs, JSONL", "dpo": "preference pairs, JSONL", "ppo": "prompts, one per line"}[objective])
	}
	emit := func(line string, rec any) {
		if asJSON {
			json.NewEncoder(stdout).Encode(rec)
		} else {
			fmt.Fprintln(stderr, line)
		}
	}
	switch objective {
	case "reward":
		pairs, err := train.ReadPrefs(cfg.Data)
		if err != nil {
			return err
		}
		var corpus []string
		for _, p := range pairs {
			corpus = append(corpus, p.Prompt+p.Chosen, p.Prompt+p.Rejected)
		}
		m, tok, err := train.NewRewardModel(cfg.Model, corpus, cfg.Layers, cfg.Heads, cfg.Hidden, cfg.BlockSize, cfg.Seed)
		if err != nil {
			return err
		}
		defer m.Close()
		acc, err := train.TrainReward(m, tok, pairs, ac, func(r train.RewardRecord) { emit(r.Line(), r) })
		if err != nil {
			return err
		}
		if err := train.SaveModel(m, tok, cfg.Out); err != nil {
			return err
		}
		if !asJSON {
			fmt.Fprintf(stdout, "done: reward model %s, held-out pair accuracy %.4f\n", cfg.Out, acc)
		}
		return nil
	case "dpo", "ppo":
		if cfg.Model == "" {
			return fmt.Errorf("train --objective %s: set --model (the SFT policy, also the frozen reference)", objective)
		}
		policy, tok, err := train.LoadLM(cfg.Model)
		if err != nil {
			return err
		}
		defer policy.Close()
		ref, err := model.Load(cfg.Model)
		if err != nil {
			return err
		}
		defer ref.Close()
		var result string
		saveHead := func() error { return nil }
		if objective == "dpo" {
			pairs, err := train.ReadPrefs(cfg.Data)
			if err != nil {
				return err
			}
			acc, err := train.TrainDPO(policy, ref, tok, pairs, train.DPOConfig{AlignConfig: ac, Beta: o.beta, Loss: o.dpoLoss},
				func(r train.DPORecord) { emit(r.Line(), r) })
			if err != nil {
				return err
			}
			result = fmt.Sprintf("held-out preference accuracy %.4f", acc)
		} else {
			if o.rewardModel == "" {
				return fmt.Errorf("train --objective ppo: set --reward-model")
			}
			text, err := os.ReadFile(cfg.Data)
			if err != nil {
				return fmt.Errorf("train: %w", err)
			}
			var prompts []string
			for _, l := range strings.Split(string(text), "\n") {
				if l = strings.TrimRight(l, "\r"); l != "" {
					prompts = append(prompts, l)
				}
			}
			rm, err := train.LoadSeqScorer(o.rewardModel, "")
			if err != nil {
				return err
			}
			defer rm.Close()
			pc := train.DefaultPPOConfig()
			pc.AlignConfig = ac
			pc.TargetKL, pc.InitKLCoef, pc.ResponseTokens = o.targetKL, o.initKLCoef, o.responseTokens
			pc.PPOEpochs, pc.MiniBatchSize = o.ppoEpochs, o.miniBatchSize
			head, err := train.TrainPPO(policy, ref, tok, prompts, rm, pc, func(r train.PPORecord) { emit(r.Line(), r) })
			if err != nil {
				return err
			}
			saveHead = func() error { return train.SaveValueHead(head, cfg.Out) }
			result = fmt.Sprintf("%d PPO steps, value head in %s", ac.Steps, train.ValueHeadFile)
		}
		if err := train.SaveModel(policy, tok, cfg.Out); err != nil {
			return err
		}
		if err := saveHead(); err != nil {
			return err
		}
		if !asJSON {
			fmt.Fprintf(stdout, "done: %s policy %s, %s\n", objective, cfg.Out, result)
		}
		return nil
	}
	return fmt.Errorf("train: --objective %q: want reward, ppo or dpo", objective)
}

func intField(cfg train.Config, key string) int {
	v, _ := fieldByTag(reflect.ValueOf(cfg), key).(int)
	return v
}

func floatField(cfg train.Config, key string) float64 {
	v, _ := fieldByTag(reflect.ValueOf(cfg), key).(float64)
	return v
}
