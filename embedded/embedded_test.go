package embedded

import (
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
	"github.com/attn-dev/attn/train"
)

// TestMain unpacks into a temporary ATTN_HOME, not the user's cache.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "attn-embedded-test-")
	if err != nil {
		panic(err)
	}
	os.Setenv("ATTN_HOME", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// maxBytes is the budget of the embedded models in the repository.
const maxBytes = 16 << 20

func TestSize(t *testing.T) {
	total := 0
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(p)
		total += len(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("embedded models: %.1f MB", float64(total)/1e6)
	if total > maxBytes {
		t.Errorf("embedded models take %d bytes, over the %d budget", total, maxBytes)
	}
}

// TestValidationLoss loads each embedded model and checks that its
// validation loss under its recipe is the one about.json (and the README)
// states.
func TestValidationLoss(t *testing.T) {
	t.Setenv("ATTN_HOME", t.TempDir())
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			info, err := About(name)
			if err != nil {
				t.Fatal(err)
			}
			dir, err := Dir(name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := model.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := int(m.Info().Params); got != info.Params {
				t.Errorf("%d parameters, about.json says %d", got, info.Params)
			}
			m.Close()
			if _, err := tokenizer.Load(dir); err != nil {
				t.Fatal(err)
			}
			cfg := train.DefaultConfig()
			if err := train.ReadConfig(&cfg, filepath.Join("..", info.Recipe)); err != nil {
				t.Fatal(err)
			}
			cfg.Data, cfg.Out = filepath.Join("..", cfg.Data), t.TempDir()
			loss, err := train.Validate(cfg, dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: validation loss %.4f", name, loss)
			if math.Abs(loss-info.ValLoss) > 1e-3 {
				t.Errorf("validation loss %.5f, about.json says %.5f", loss, info.ValLoss)
			}
		})
	}
}

func TestDir(t *testing.T) {
	t.Setenv("ATTN_HOME", t.TempDir())
	unpacked.Clear()
	defer unpacked.Clear()
	var wg sync.WaitGroup
	dirs := make([]string, 4)
	for i := range dirs {
		wg.Go(func() {
			d, err := Dir(GPT)
			if err != nil {
				t.Error(err)
			}
			dirs[i] = d
		})
	}
	wg.Wait()
	for _, d := range dirs[1:] {
		if d != dirs[0] {
			t.Fatalf("Dir gave %s and %s", dirs[0], d)
		}
	}
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(dirs[0], f)); err != nil {
			t.Error(err)
		}
	}
	ents, _ := os.ReadDir(filepath.Dir(dirs[0]))
	if len(ents) != 1 {
		t.Errorf("unpacking left %d entries beside the model", len(ents))
	}
	if _, err := Dir("gpt5"); err == nil {
		t.Error("Dir of an unknown name succeeded")
	}
}
