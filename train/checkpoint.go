package train

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/nn"
	"github.com/attn-dev/attn/safetensors"
)

// A checkpoint is a directory OUT/ckpt-NNNNNNN (N = optimizer steps
// taken) that loads as a Hugging Face model (model.safetensors +
// config.json, by model.Save) and carries the tokenizer and the trainer's
// state: optimizer.safetensors (AdamW's exp_avg.<name> and
// exp_avg_sq.<name>, the step in the metadata) and trainer_state.json
// (step, RNG, best validation loss, config). It is staged as
// OUT/.ckpt-NNNNNNN.tmp, every file synced, then renamed into place and
// the directory synced: a crash leaves either the whole checkpoint or
// none, and never touches the previous ones.
const (
	ckptPrefix     = "ckpt-"
	stateFile      = "trainer_state.json"
	optimizerFile  = "optimizer.safetensors"
	stagingSuffix  = ".tmp"
	checkpointName = ckptPrefix + "%07d"
)

// trainerState is trainer_state.json.
type trainerState struct {
	Step     int     `json:"step"`
	RNG      []byte  `json:"rng"` // the batch sampler's PCG state
	HasBest  bool    `json:"has_best"`
	BestVal  float64 `json:"best_val_loss"` // when HasBest
	BestStep int     `json:"best_step"`
	DataSHA  string  `json:"data_sha256"`
	Config   Config  `json:"config"`
}

// beforeWrite, when set (tests), runs before each file of a checkpoint is
// written; an error it returns fails the write as a full disk would.
var beforeWrite func(path string) error

// writeFileSync writes data to path and syncs it.
func writeFileSync(path string, data []byte) error {
	if beforeWrite != nil {
		if err := beforeWrite(path); err != nil {
			return fmt.Errorf("train: writing %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("train: writing %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("train: syncing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("train: writing %s: %w", path, err)
	}
	return nil
}

// syncPath fsyncs a file or directory.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("train: syncing %s: %w", path, err)
	}
	return nil
}

// writeCheckpoint writes the trainer's state after st.Step steps as
// out/ckpt-NNNNNNN and returns its path.
func (tr *Trainer) writeCheckpoint(st trainerState) (string, error) {
	final := filepath.Join(tr.cfg.Out, fmt.Sprintf(checkpointName, st.Step))
	stage := filepath.Join(tr.cfg.Out, "."+filepath.Base(final)+stagingSuffix)
	if err := os.RemoveAll(stage); err != nil {
		return "", fmt.Errorf("train: checkpoint: %w", err)
	}
	fail := func(err error) (string, error) {
		os.RemoveAll(stage)
		return "", fmt.Errorf("train: checkpoint at step %d: %w", st.Step, err)
	}
	if beforeWrite != nil {
		if err := beforeWrite(filepath.Join(stage, "model.safetensors")); err != nil {
			return fail(err)
		}
	}
	if err := model.Save(tr.m, stage); err != nil {
		return fail(err)
	}
	if err := os.Chmod(stage, 0o755); err != nil { // model.Save's temporary directory is private
		return fail(err)
	}
	if tr.tokFiles != nil {
		for _, f := range tr.tokFiles {
			if err := writeFileSync(filepath.Join(stage, f.name), f.data); err != nil {
				return fail(err)
			}
		}
	} else if err := WriteTokenizer(stage, tr.tok); err != nil { // a tokenizer the run made or changed
		return fail(err)
	}
	if fw, ok := tr.task.(interface{ writeFiles(dir string) error }); ok {
		if err := fw.writeFiles(stage); err != nil {
			return fail(err)
		}
	}
	if err := tr.writeOptimizer(filepath.Join(stage, optimizerFile)); err != nil {
		return fail(err)
	}
	js, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fail(err)
	}
	if err := writeFileSync(filepath.Join(stage, stateFile), js); err != nil {
		return fail(err)
	}
	ents, err := os.ReadDir(stage)
	if err != nil {
		return fail(err)
	}
	for _, e := range ents { // model.Save does not sync its files
		if err := syncPath(filepath.Join(stage, e.Name())); err != nil {
			return fail(err)
		}
	}
	if err := syncPath(stage); err != nil {
		return fail(err)
	}
	// A checkpoint of the same step (a resumed run writing it again) is
	// renamed aside in one step, never deleted file by file in place: a
	// kill then leaves the old one whole, or none of that step.
	old := filepath.Join(tr.cfg.Out, "."+filepath.Base(final)+".old"+stagingSuffix)
	if err := os.RemoveAll(old); err != nil {
		return fail(err)
	}
	if err := os.Rename(final, old); err != nil && !os.IsNotExist(err) {
		return fail(err)
	}
	if err := os.Rename(stage, final); err != nil {
		return fail(err)
	}
	if err := syncPath(tr.cfg.Out); err != nil {
		return "", err
	}
	if err := os.RemoveAll(old); err != nil {
		return "", fmt.Errorf("train: checkpoint at step %d: removing the one it replaced: %w", st.Step, err)
	}
	return final, nil
}

// Checkpoints lists the complete checkpoints in out, oldest first, by
// step (staging directories of interrupted writes are left out).
func Checkpoints(out string) ([]string, error) {
	ents, err := os.ReadDir(out)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	type ck struct {
		step int
		path string
	}
	var cs []ck
	for _, e := range ents {
		n, ok := strings.CutPrefix(e.Name(), ckptPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		step, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		cs = append(cs, ck{step, filepath.Join(out, e.Name())})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].step < cs[j].step })
	paths := make([]string, len(cs))
	for i, c := range cs {
		paths[i] = c.path
	}
	return paths, nil
}

// prune deletes all but the last keep checkpoints and the best one, and
// any staging directory a crash left behind.
func (tr *Trainer) prune(keep int, best string) {
	cs, err := Checkpoints(tr.cfg.Out)
	if err != nil {
		return
	}
	ents, _ := os.ReadDir(tr.cfg.Out)
	for _, e := range ents { // stages (and model.Save's temporaries) of killed writes
		if n := e.Name(); strings.HasPrefix(n, "."+ckptPrefix) && strings.Contains(n, stagingSuffix) {
			os.RemoveAll(filepath.Join(tr.cfg.Out, n))
		}
	}
	for i, c := range cs {
		if i < len(cs)-keep && c != best {
			os.RemoveAll(c)
		}
	}
}

// readCheckpointState reads trainer_state.json and the optimizer moments
// of the checkpoint dir.
func readCheckpointState(dir string) (*trainerState, *safetensors.File, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if err != nil {
		return nil, nil, fmt.Errorf("train: resume: %w", err)
	}
	var st trainerState
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, nil, fmt.Errorf("train: resume: %s: %w", filepath.Join(dir, stateFile), err)
	}
	if !st.HasBest {
		st.BestVal = math.Inf(1)
	}
	f, err := safetensors.Open(filepath.Join(dir, optimizerFile))
	if err != nil {
		return nil, nil, fmt.Errorf("train: resume: %w", err)
	}
	return &st, f, nil
}

// ResolveResume returns the checkpoint to resume from: dir itself when it
// is one, else the newest complete checkpoint in it.
func ResolveResume(dir string) (string, error) {
	if _, err := os.Stat(filepath.Join(dir, stateFile)); err == nil {
		return dir, nil
	}
	cs, err := Checkpoints(dir)
	if err != nil {
		return "", err
	}
	if len(cs) == 0 {
		return "", fmt.Errorf("train: resume: %s holds no checkpoint (%s*)", dir, ckptPrefix)
	}
	return cs[len(cs)-1], nil
}

// writeOptimizer streams AdamW's moments to path as safetensors
// (exp_avg.<name> and exp_avg_sq.<name>, F32, the step count in the
// metadata), one parameter at a time: a checkpoint of a large model never
// holds a second copy of all its optimizer state.
func (tr *Trainer) writeOptimizer(path string) error {
	if beforeWrite != nil {
		if err := beforeWrite(path); err != nil {
			return fmt.Errorf("train: writing %s: %w", path, err)
		}
	}
	type entry struct {
		DType   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	hdr := map[string]any{"__metadata__": map[string]string{"step": strconv.Itoa(tr.opt.StepCount())}}
	var off int64
	var order []nn.NamedParam
	for _, p := range tr.named {
		if m, _ := tr.opt.moments(p.Var); m == nil {
			continue
		}
		n := int64(4 * p.Var.Value.Len())
		for _, k := range []string{"exp_avg.", "exp_avg_sq."} {
			hdr[k+p.Name] = entry{"F32", p.Var.Value.Shape, [2]int64{off, off + n}}
			off += n
		}
		order = append(order, p)
	}
	js, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	werr := binary.Write(w, binary.LittleEndian, uint64(len(js)))
	if werr == nil {
		_, werr = w.Write(js)
	}
	var buf []byte
	for _, p := range order {
		m, v2 := tr.opt.moments(p.Var)
		for _, v := range [][]float32{m, v2} {
			buf = buf[:0]
			for _, x := range v {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
			}
			if werr == nil {
				_, werr = w.Write(buf)
			}
		}
	}
	if werr == nil {
		werr = w.Flush()
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("train: writing %s: %w", path, werr)
	}
	return nil
}
