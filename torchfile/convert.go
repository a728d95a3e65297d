package torchfile

import (
	"fmt"
	"path/filepath"

	"github.com/attn-dev/attn/safetensors"
)

// metadata is what transformers writes in the safetensors files of a
// PyTorch model (its loaders check "format").
var metadata = map[string]string{"format": "pt"}

// Convert reads the PyTorch checkpoint inPath and writes its tensors to the
// safetensors file outPath, atomically (a reader of outPath never sees a
// partial file), with their dtypes unchanged. Tensors stream from one file
// to the other, so memory holds one tensor at a time. Tensors that share
// a storage in the pickle are written each as its own copy, which is what
// a safetensors file can express; model loading accepts tied copies.
func Convert(inPath, outPath string) error {
	f, ts, err := openPlan(inPath)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := safetensors.Write(outPath, ts, metadata); err != nil {
		return fmt.Errorf("torchfile: converting %s: %w", inPath, err)
	}
	return nil
}

// Open reads the PyTorch checkpoints at paths (one file, or the shards of
// a sharded checkpoint) into one in-memory safetensors image, so that
// code written for safetensors loads a pickle checkpoint without a
// conversion on disk; the image is the only copy of the tensors held. A
// tensor name found in two files is an error.
func Open(paths ...string) (*safetensors.File, error) {
	var all []safetensors.Tensor
	from := map[string]string{}
	for _, p := range paths {
		f, ts, err := openPlan(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		for _, t := range ts {
			if prev, dup := from[t.Name]; dup {
				return nil, fmt.Errorf("torchfile: tensor %q is in both %s and %s", t.Name, prev, p)
			}
			from[t.Name] = p
		}
		all = append(all, ts...)
	}
	name := "(none)"
	if len(paths) > 0 {
		name = filepath.Base(paths[0])
	}
	image, err := safetensors.Encode(all, metadata)
	if err != nil {
		return nil, fmt.Errorf("torchfile: %s: %w", name, err)
	}
	f, err := safetensors.Parse(name, image)
	if err != nil {
		return nil, fmt.Errorf("torchfile: %w", err)
	}
	return f, nil
}
