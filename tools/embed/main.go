// Command embed turns a checkpoint trained from one of embedded/recipes
// into an embedded model: the weights in bfloat16, the tokenizer, and an
// about.json with the validation loss of the stored weights.
//
//	go run ./tools/embed -recipe embedded/recipes/gpt.json \
//	    -checkpoint out-embedded-gpt/ckpt-0002500 -out embedded/tiny-shakespeare-gpt
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/attn-dev/attn/embedded"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/train"
)

func main() {
	recipe := flag.String("recipe", "", "the training config the checkpoint was trained from")
	ckpt := flag.String("checkpoint", "", "the checkpoint directory")
	out := flag.String("out", "", "the embedded model's directory (replaced)")
	about := flag.String("about", "", "one line on what the model is for")
	flag.Parse()
	if err := run(*recipe, *ckpt, *out, *about); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(recipe, ckpt, out, about string) error {
	if recipe == "" || ckpt == "" || out == "" {
		return fmt.Errorf("-recipe, -checkpoint and -out are required")
	}
	cfg := train.DefaultConfig()
	if err := train.ReadConfig(&cfg, recipe); err != nil {
		return err
	}
	m, err := model.Load(ckpt)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := model.SaveAs(m, out, model.BF16); err != nil {
		return err
	}
	for _, f := range []string{"tokenizer.json", "char_vocab.json"} {
		data, err := os.ReadFile(filepath.Join(ckpt, f))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, f), data, 0o644); err != nil {
			return err
		}
	}
	var state struct {
		Step int `json:"step"`
	}
	if data, err := os.ReadFile(filepath.Join(ckpt, "trainer_state.json")); err == nil {
		_ = json.Unmarshal(data, &state)
	}
	tmp, err := os.MkdirTemp("", "embed-val-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	cfg.Out = tmp
	loss, err := train.Validate(cfg, out)
	if err != nil {
		return err
	}
	params := int(m.Info().Params)
	name := filepath.Base(out)
	info := embedded.Info{
		Name: name, About: about, Recipe: filepath.ToSlash(recipe),
		Command: []string{
			"attn train --config " + filepath.ToSlash(recipe),
			strings.Join([]string{"go run ./tools/embed -recipe", filepath.ToSlash(recipe), "-checkpoint", filepath.ToSlash(ckpt), "-out", filepath.ToSlash(out)}, " "),
		},
		ValLoss: loss, Steps: state.Step, Params: params,
	}
	data, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	slog.Info("embedded", "name", name, "val_loss", loss, "params", params)
	return os.WriteFile(filepath.Join(out, "about.json"), append(data, '\n'), 0o644)
}
