package generate

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadConfig(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		check func(c Config) bool
		warn  string
	}{
		{"none: defaults", nil, func(c Config) bool {
			return c.MaxLength == 20 && c.TopK == 50 && c.NumBeams == 1 && c.EOSTokenIDs == nil && c.NumReturnSequences == 1
		}, ""},
		{"generation config wins", map[string]string{
			"generation_config.json": `{"num_beams": 4, "eos_token_id": [2, 3], "early_stopping": "never", "bad_words_ids": [[5]], "forced_eos_token_id": 2, "num_return_sequences": 3}`,
			"config.json":            `{"num_beams": 9, "eos_token_id": 7}`,
		}, func(c Config) bool {
			return c.NumBeams == 4 && slices.Equal(c.EOSTokenIDs, []int{2, 3}) && c.EarlyStopping == StopNever &&
				len(c.BadWordsIDs) == 1 && c.ForcedEOSTokenID == 2 && c.NumReturnSequences == 3
		}, ""},
		{"config.json fallback", map[string]string{"config.json": `{"num_beams": 6, "eos_token_id": 7, "early_stopping": true, "max_length": 512}`},
			func(c Config) bool {
				return c.NumBeams == 6 && slices.Equal(c.EOSTokenIDs, []int{7}) && c.EarlyStopping == StopEarly && c.MaxLength == 512
			}, ""},
		{"unsupported setting warns", map[string]string{"generation_config.json": `{"typical_p": 0.9, "num_return_sequences": 1}`},
			func(c Config) bool { return true }, "typical_p"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range c.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var logs bytes.Buffer
			prev := slog.Default()
			slog.SetDefault(slog.New(slog.NewTextHandler(&logs, nil)))
			cfg, err := LoadConfig(dir)
			slog.SetDefault(prev)
			if err != nil {
				t.Fatal(err)
			}
			if !c.check(cfg) {
				t.Errorf("config %+v", cfg)
			}
			if got := logs.String(); (c.warn == "") != (got == "") || !strings.Contains(got, c.warn) {
				t.Errorf("logs %q, want a warning about %q", got, c.warn)
			}
		})
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(`{"early_stopping": "sometimes"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(dir); err == nil || !strings.Contains(err.Error(), "early_stopping") {
		t.Errorf("bad early_stopping: %v", err)
	}
}
