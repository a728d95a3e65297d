package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/attn-dev/attn/internal/quote"
)

// ParseIDs reads token ids as `attn detokenize` takes them: a JSON object
// with an "ids" array ({"ids": [...]}, what `attn tokenize --json` prints), a
// JSON array, or integers separated by spaces, commas or newlines.
func ParseIDs(data []byte) ([]int, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return []int{}, nil
	case trimmed[0] == '{':
		var obj struct {
			IDs *[]int `json:"ids"`
		}
		if err := json.Unmarshal(trimmed, &obj); err != nil {
			return nil, fmt.Errorf("ids: %w", err)
		}
		if obj.IDs == nil {
			return nil, fmt.Errorf(`ids: JSON object has no "ids" field`)
		}
		return *obj.IDs, nil
	case trimmed[0] == '[':
		var ids []int
		if err := json.Unmarshal(trimmed, &ids); err != nil {
			return nil, fmt.Errorf("ids: %w", err)
		}
		return ids, nil
	}
	fields := strings.FieldsFunc(string(trimmed), func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r'
	})
	ids := make([]int, len(fields))
	for i, f := range fields {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("ids: item %d %s is not an integer", i, quote.Short(f))
		}
		ids[i] = v
	}
	return ids, nil
}
