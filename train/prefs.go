package train

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
)

// PrefPair is one preference: two responses to a prompt, the chosen one
// preferred (TRL's {prompt, chosen, rejected} rows; chosen and rejected
// hold the response only, the prompt is prepended when scoring).
type PrefPair struct {
	Prompt   string `json:"prompt"`
	Chosen   string `json:"chosen"`
	Rejected string `json:"rejected"`
}

// ReadPrefs reads JSONL preference pairs; a missing or empty chosen or
// rejected is an error naming the line.
func ReadPrefs(path string) ([]PrefPair, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("train: preferences: %w", err)
	}
	var out []PrefPair
	dec := json.NewDecoder(bytes.NewReader(data))
	for i := 1; ; i++ {
		var p struct {
			Prompt   *string `json:"prompt"`
			Chosen   *string `json:"chosen"`
			Rejected *string `json:"rejected"`
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("train: %s object %d: %w", path, i, err)
		}
		if p.Prompt == nil || p.Chosen == nil || p.Rejected == nil || *p.Chosen == "" || *p.Rejected == "" {
			return nil, fmt.Errorf("train: %s object %d: want {\"prompt\": ..., \"chosen\": ..., \"rejected\": ...} with non-empty chosen and rejected", path, i)
		}
		out = append(out, PrefPair{*p.Prompt, *p.Chosen, *p.Rejected})
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("train: %s holds %d preference pairs; need at least 2", path, len(out))
	}
	return out, nil
}

// WritePrefs writes pairs as JSONL.
func WritePrefs(path string, pairs []PrefPair) error {
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, p := range pairs {
		if err := enc.Encode(p); err != nil {
			return fmt.Errorf("train: preferences: %w", err)
		}
	}
	w.Flush()
	return writeFileSync(path, buf.Bytes())
}

// Scorer rates texts; a higher score is preferred.
type Scorer interface {
	Score(texts []string) ([]float64, error)
}

// SampleOptions say how a policy samples responses: pure sampling from
// the model's distribution at Temperature 1 (top-k off, as TRL's PPO
// examples do, so that the log-probabilities are the policy's own).
type SampleOptions struct {
	MaxNewTokens int
	Temperature  float64 // 0 = 1
	Seed         uint64
}

// Sample draws n responses of o.MaxNewTokens tokens to each prompt
// (prompt i's at i·n … i·n+n−1), generation running on through any EOS.
func Sample(m model.Model, prompts [][]int, n int, o SampleOptions) ([][]int, error) {
	lm, err := infer.NewLM(m)
	if err != nil {
		return nil, err
	}
	gc := generate.DefaultConfig()
	gc.MaxNewTokens, gc.DoSample, gc.TopK, gc.TopP = o.MaxNewTokens, true, 0, 1
	gc.Temperature = o.Temperature
	if gc.Temperature == 0 {
		gc.Temperature = 1
	}
	gc.Seed, gc.IgnoreEOS, gc.EOSTokenIDs, gc.NumReturnSequences = o.Seed, true, nil, n
	res, err := generate.Generate(lm, prompts, gc, nil)
	if err != nil {
		return nil, fmt.Errorf("train: sampling: %w", err)
	}
	return res.IDs, nil
}

// GeneratePrefs makes preference data offline: two sampled responses of
// policy per prompt, the one sc scores higher chosen; pairs whose scores
// differ by less than minMargin are dropped (a clearer signal from a
// noisy scorer; 0 drops ties only).
func GeneratePrefs(policy model.Model, tok tokenizer.Tokenizer, prompts []string, o SampleOptions, sc Scorer, minMargin float64) ([]PrefPair, error) {
	ids, err := encodePrompts(tok, prompts, policy.Info().Context-o.MaxNewTokens)
	if err != nil {
		return nil, err
	}
	const chunk = 256 // prompts per generation: bounds the KV cache
	var out []PrefPair
	for lo := 0; lo < len(ids); lo += chunk {
		hi := min(lo+chunk, len(ids))
		co := o
		co.Seed = o.Seed + uint64(lo)
		resp, err := Sample(policy, ids[lo:hi], 2, co)
		if err != nil {
			return nil, err
		}
		texts := make([]string, len(resp))
		full := make([]string, len(resp))
		for i, r := range resp {
			if texts[i], err = tok.Decode(r, false); err != nil {
				return nil, fmt.Errorf("train: decoding a sample: %w", err)
			}
			full[i] = prompts[lo+i/2] + texts[i]
		}
		scores, err := sc.Score(full)
		if err != nil {
			return nil, err
		}
		for i := 0; i < hi-lo; i++ {
			a, b := 2*i, 2*i+1
			if scores[b] > scores[a] {
				a, b = b, a
			}
			if d := scores[a] - scores[b]; d > 0 && d >= minMargin {
				out = append(out, PrefPair{prompts[lo+i], texts[a], texts[b]})
			}
		}
	}
	return out, nil
}

// encodePrompts tokenizes prompts, each non-empty and at most maxLen
// tokens (the room the responses leave in the model's context).
func encodePrompts(tok tokenizer.Tokenizer, prompts []string, maxLen int) ([][]int, error) {
	ids := make([][]int, len(prompts))
	for i, p := range prompts {
		var err error
		if ids[i], err = tok.Encode(p, false); err != nil {
			return nil, fmt.Errorf("train: prompt %d: %w", i, err)
		}
		if n := len(ids[i]); n == 0 || n > maxLen {
			return nil, fmt.Errorf("train: prompt %d has %d tokens; want 1 to %d (the model's context less the response)", i, n, maxLen)
		}
	}
	return ids, nil
}
