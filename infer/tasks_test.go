package infer

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/attn-dev/attn/autograd"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/tokenizer"
)

func readF32(t *testing.T, path, name string) ([]float32, []int) {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, s, err := f.Float32(name)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Clone(v), s
}

func readI64(t *testing.T, path, name string) []int {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	v, _, err := f.Int64(name)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(v))
	for i, x := range v {
		out[i] = int(x)
	}
	return out
}

func close32(a, b float64) bool { return math.Abs(a-b) <= 1e-4+1e-4*math.Abs(b) }

// TestEmbedGolden pools GPT-2's hidden states of a right-padded batch and
// compares with the PyTorch hidden states of testdata/models/gpt2.
func TestEmbedGolden(t *testing.T) {
	dir := modelsDir + "/gpt2"
	m := loadModel(t, dir)
	ids := readI64(t, dir+"/inputs.safetensors", "input_ids")
	mask := readI64(t, dir+"/inputs.safetensors", "attention_mask")
	const tt = 8
	seqs := [][]int{ids[:tt], ids[tt : tt+5]}
	if mask[tt+5] != 0 || mask[tt+4] != 1 {
		t.Fatalf("fixture mask changed: %v", mask)
	}
	for _, layer := range []int{0, 1, 2, -1} {
		for _, pool := range []Pooling{PoolMean, PoolCLS, PoolNone} {
			got, err := Embed(m, seqs, layer, pool)
			if err != nil {
				t.Fatal(err)
			}
			n := layer
			if n < 0 {
				n = 2
			}
			h, s := readF32(t, dir+"/outputs.safetensors", "hidden_states."+string(rune('0'+n)))
			c := s[2]
			for b, seq := range seqs {
				row := h[b*tt*c:]
				var want [][]float32
				switch pool {
				case PoolMean:
					want = [][]float32{meanRows(row, c, 0, len(seq))}
				case PoolCLS:
					want = [][]float32{row[:c]}
				default:
					for j := range seq {
						want = append(want, row[j*c:(j+1)*c])
					}
				}
				gotv := got[b].Vectors
				if pool != PoolNone {
					gotv = [][]float32{got[b].Vector}
				}
				if len(gotv) != len(want) {
					t.Fatalf("layer %d %s row %d: %d vectors, want %d", layer, pool, b, len(gotv), len(want))
				}
				for j := range want {
					for k := range want[j] {
						if !close32(float64(gotv[j][k]), float64(want[j][k])) {
							t.Fatalf("layer %d %s row %d vector %d [%d]: %g, want %g", layer, pool, b, j, k, gotv[j][k], want[j][k])
						}
					}
				}
			}
		}
	}
	for _, bad := range []int{3, -4, -9} {
		if _, err := Embed(m, seqs, bad, PoolMean); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("layer %d ", bad)) {
			t.Errorf("layer %d of 2: %v (want the layer as given)", bad, err)
		}
	}
}

// tinyBERTDir copies a tiny BERT checkpoint next to a made-up WordPiece
// vocabulary of the same size, so tasks that start from text can run.
func tinyBERTDir(t *testing.T, name string) (string, tokenizer.Tokenizer) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		data, err := os.ReadFile(filepath.Join(modelsDir, name, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	words := strings.Fields("the a river bank investment money of on sat we by is was in to and fish water loan paid")
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}
	vocab = append(vocab, words...)
	for len(vocab) < 60 {
		vocab = append(vocab, "##"+string(rune('a'+len(vocab)%26))+string(rune('a'+len(vocab)/26)))
	}
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(vocab, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, tok
}

func TestSimilarity(t *testing.T) {
	dir, tok := tinyBERTDir(t, "bert-mlm")
	m := loadModel(t, dir)
	// "bank" at the same position: identical embeddings at layer 0.
	res, err := Similarity(m, tok, "bank", "the river bank", "the money bank")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 {
		t.Fatalf("%d layers, want 3 (embeddings + 2)", len(res))
	}
	if math.Abs(res[0].Cosine-1) > 1e-6 {
		t.Errorf("layer 0 cosine %g, want 1 (same token, same position)", res[0].Cosine)
	}
	if res[2].Cosine > 0.9999 {
		t.Errorf("last layer cosine %g: context changed nothing", res[2].Cosine)
	}
	if _, err := Similarity(m, tok, "loan", "the river bank", "the money bank"); err == nil || !strings.Contains(err.Error(), "does not occur") {
		t.Errorf("absent word: %v", err)
	}
}

func TestFillMask(t *testing.T) {
	dir, tok := tinyBERTDir(t, "bert-mlm")
	m := loadModel(t, dir)
	ids, err := tok.Encode("we sat on the [MASK] of the [MASK]", true)
	if err != nil {
		t.Fatal(err)
	}
	maskID, _ := tok.TokenToID("[MASK]")
	res, err := FillMask(m, ids, maskID, 5)
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Forward(autograd.NewGraph(false), &model.Inputs{B: 1, T: len(ids), InputIDs: ids}, model.Options{})
	if err != nil {
		t.Fatal(err)
	}
	logits := out.Get("logits").Data()
	v := 60
	if len(res) != 2 || res[0].Position != 5 || res[1].Position != 8 {
		t.Fatalf("predictions at %+v, want positions 5 and 8 of %v", res, ids)
	}
	for _, p := range res {
		probs := softmax64(logits[p.Position*v : (p.Position+1)*v])
		sorted := slices.Clone(probs)
		slices.Sort(sorted)
		slices.Reverse(sorted)
		for i, c := range p.Candidates {
			if c.Prob != probs[c.ID] || c.Prob != sorted[i] {
				t.Errorf("position %d rank %d: id %d prob %g; softmax gives %g, rank %d is %g", p.Position, i, c.ID, c.Prob, probs[c.ID], i, sorted[i])
			}
		}
	}
	if _, err := FillMask(m, ids[:3], maskID, 5); err == nil {
		t.Error("no mask: no error")
	}
}

func TestClassifyText(t *testing.T) {
	m := loadModel(t, modelsDir+"/bert-cls")
	seqs := [][]int{{2, 10, 11, 12, 3}, {2, 7, 3}}
	res, err := ClassifyText(m, seqs)
	if err != nil {
		t.Fatal(err)
	}
	for b, s := range seqs {
		out, err := m.Forward(autograd.NewGraph(false), &model.Inputs{B: 1, T: len(s), InputIDs: s}, model.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p := softmax64(out.Get("logits").Data())
		if len(res[b]) != 3 {
			t.Fatalf("%d labels, want 3", len(res[b]))
		}
		for i, l := range res[b] {
			if l.Label != "LABEL_"+string(rune('0'+l.ID)) || !close32(l.Prob, p[l.ID]) || (i > 0 && l.Prob > res[b][i-1].Prob) {
				t.Errorf("row %d: %+v, softmax %v", b, res[b], p)
			}
		}
	}
	if _, err := ClassifyText(loadModel(t, modelsDir+"/gpt2"), seqs); err == nil {
		t.Error("GPT-2 classified text")
	}
}

// TestImageGolden checks PIL-exact bilinear resizing (down and up, RGBA
// dropping alpha), ViTImageProcessor's normalisation and ViT classification
// against tools/golden/infer_images.py.
func TestImageGolden(t *testing.T) {
	m := loadModel(t, modelsDir+"/vit")
	p, err := LoadImageProcessor(modelsDir+"/vit", m)
	if err != nil {
		t.Fatal(err)
	}
	const fx = "../testdata/infer/images.safetensors"
	for _, name := range []string{"down", "up"} {
		img, err := DecodeImage("../testdata/infer/" + name + ".png")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := readF32(t, fx, name+".resized")
		got := resizeBilinear(toRGB(img), 16, 16)
		for i, w := range want {
			if float32(got.pix[i]) != w {
				t.Fatalf("%s: resized byte %d (pixel %d channel %d) = %d, PIL %g", name, i, i/3, i%3, got.pix[i], w)
			}
		}
		pv, err := p.Preprocess(img)
		if err != nil {
			t.Fatal(err)
		}
		wantPV, _ := readF32(t, fx, name+".pixel_values")
		for i, w := range wantPV {
			if math.Abs(float64(pv.Data()[i]-w)) > 1e-6 {
				t.Fatalf("%s: pixel value %d = %g, want %g", name, i, pv.Data()[i], w)
			}
		}
		labels, err := ClassifyImage(m, p, img)
		if err != nil {
			t.Fatal(err)
		}
		probs, _ := readF32(t, fx, name+".probs")
		for _, l := range labels {
			if !close32(l.Prob, float64(probs[l.ID])) {
				t.Errorf("%s: %s prob %g, want %g", name, l.Label, l.Prob, probs[l.ID])
			}
		}
	}
}

// TestImageProcessorConfigRoundTrip: what ConfigJSON writes,
// LoadImageProcessor reads back unchanged, whatever the model's
// image_size says.
func TestImageProcessorConfigRoundTrip(t *testing.T) {
	m := loadModel(t, modelsDir+"/vit")
	for _, p := range []*ImageProcessor{
		DefaultImageProcessor(24),
		{DoResize: false, DoRescale: true, DoNormalize: true, Height: 8, Width: 12, RescaleFactor: 0.5,
			Mean: [3]float64{0.1, 0.2, 0.3}, Std: [3]float64{1, 2, 3}},
	} {
		data, err := p.ConfigJSON()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := LoadImageProcessor(dir, m)
		if err != nil {
			t.Fatal(err)
		}
		if *got != *p {
			t.Errorf("round trip of %+v gave %+v", *p, *got)
		}
	}
}
