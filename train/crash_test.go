package train

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/attn-dev/attn/model"
)

const crashSteps = 30

// TestCrashHelper is the training process TestCrashDuringCheckpoint
// kills: it resumes the run in $ATTN_TRAIN_CRASH_DIR (or starts it) and
// checkpoints after every step, pausing a millisecond before each file so
// that a kill lands inside a checkpoint write often.
func TestCrashHelper(t *testing.T) {
	out := os.Getenv("ATTN_TRAIN_CRASH_DIR")
	if out == "" {
		t.Skip("run by TestCrashDuringCheckpoint")
	}
	beforeWrite = func(string) error { time.Sleep(time.Millisecond); return nil }
	var tr *Trainer
	var err error
	if cs, _ := Checkpoints(out); len(cs) > 0 {
		tr, err = Resume(out, 0)
	} else {
		cfg := tinyConfig(out, crashSteps)
		cfg.CheckpointEvery = 1
		tr, err = NewTrainer(cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(); err != nil {
		t.Fatal(err)
	}
}

// TestCrashDuringCheckpoint kills (SIGKILL) a training process at random
// moments, many times; after each kill the newest checkpoint loads, and a
// run resumed from it gives the losses of an uninterrupted run bit for
// bit. The next process resumes where the killed one's last checkpoint
// left off.
func TestCrashDuringCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	ref := tinyConfig(filepath.Join(dir, "ref"), crashSteps)
	ref.CheckpointEvery = 1
	tr, err := NewTrainer(ref)
	if err != nil {
		t.Fatal(err)
	}
	want := runLosses(t, tr)

	out := filepath.Join(dir, "run")
	rng := rand.New(rand.NewPCG(7, 7))
	deadline := time.Now().Add(20 * time.Second)
	kills, staged := 0, 0
	for round := 0; round < 25 && time.Now().Before(deadline); round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
		cmd.Env = append(os.Environ(), "ATTN_TRAIN_CRASH_DIR="+out)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(20+rng.IntN(120)) * time.Millisecond)
		if cmd.Process.Signal(syscall.SIGKILL) == nil {
			kills++
		}
		cmd.Wait()
		ents, _ := os.ReadDir(out)
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), stagingSuffix) {
				staged++
			}
		}
		cs, _ := Checkpoints(out)
		if len(cs) == 0 {
			continue // killed before the first checkpoint
		}
		newest := cs[len(cs)-1]
		m, err := model.Load(newest)
		if err != nil {
			t.Fatalf("round %d: newest checkpoint %s does not load: %v", round, newest, err)
		}
		m.Close()
		if round%4 != 0 {
			continue
		}
		// Resume a copy to the end (writing only into a scratch dir).
		rs, err := Resume(newest, 0)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		rs.cfg.Out, rs.cfg.CheckpointEvery = t.TempDir(), 0
		from := rs.Step()
		for s, l := range runLosses(t, rs) {
			if l != want[s] {
				t.Fatalf("round %d: resumed from step %d, step %d loss %v, uninterrupted %v", round, from, s, l, want[s])
			}
		}
	}
	t.Logf("%d kills, %d left a checkpoint being written", kills, staged)
}
