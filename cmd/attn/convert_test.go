package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConvertVerb(t *testing.T) {
	const data = "../../testdata/torchfile"
	tmp := t.TempDir()
	cfg, err := os.ReadFile(data + "/gpt2/config.json")
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, "config.json"), cfg, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		want    string // substring of stdout, or of the error
		wantErr bool
	}{
		{"file", []string{"convert", data + "/gpt2/pytorch_model.bin", filepath.Join(tmp, "a.safetensors")}, "a.safetensors: 29 tensors (29 F32)", false},
		{"directories", []string{"convert", data + "/gpt2", tmp}, filepath.Join(tmp, "model.safetensors") + ": 29 tensors", false},
		{"json", []string{"convert", data + "/mixed.bin", filepath.Join(tmp, "m.safetensors"), "--json"}, `"tensors":20`, false},
		{"hostile", []string{"convert", data + "/evil_system.bin", filepath.Join(tmp, "evil.safetensors")}, "global posix.system is refused", true},
		{"missing", []string{"convert", data + "/nope.bin", filepath.Join(tmp, "n.safetensors")}, "nope.bin: no such file", true},
		{"one argument", []string{"convert", data + "/mixed.bin"}, "accepts 2 arg(s)", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runVerb(t, "", tc.args...)
			got := out
			if err != nil {
				got = err.Error()
			}
			if (err != nil) != tc.wantErr || !strings.Contains(got, tc.want) {
				t.Errorf("attn %v: %q (error %v), want %q", tc.args, out, err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(tmp, "evil.safetensors")); err == nil {
		t.Error("the refused conversion wrote its output")
	}
	// The converted directory and the pickle one load as the same model.
	var infos [2]map[string]any
	for i, dir := range []string{tmp, data + "/gpt2"} {
		out := runAttn(t, "", "show", "--model", dir, "--json")
		if err := json.Unmarshal([]byte(out), &infos[i]); err != nil {
			t.Fatalf("show --json: %v: %s", err, out)
		}
	}
	if infos[0]["Params"] != infos[1]["Params"] || infos[0]["Params"] == nil {
		t.Errorf("show: %v parameters from the conversion, %v from the pickle", infos[0]["Params"], infos[1]["Params"])
	}
}
