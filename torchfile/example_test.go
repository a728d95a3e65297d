package torchfile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/torchfile"
)

func ExampleRead() {
	sd, err := torchfile.Read("../testdata/torchfile/module.bin")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, t := range sd.Tensors {
		fmt.Println(t.Name, t.DType, t.Shape)
	}
	// Output:
	// ln.weight F32 [4]
	// ln.bias F32 [4]
	// fc.weight F32 [3 4]
	// fc.bias F32 [3]
	// bn.weight F32 [3]
	// bn.bias F32 [3]
	// bn.running_mean F32 [3]
	// bn.running_var F32 [3]
	// bn.num_batches_tracked I64 []
}

func ExampleConvert() {
	dir, _ := os.MkdirTemp("", "torchfile")
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "model.safetensors")
	if err := torchfile.Convert("../testdata/torchfile/gpt2/pytorch_model.bin", out); err != nil {
		fmt.Println(err)
		return
	}
	f, err := safetensors.Open(out)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	info, _ := f.Info("lm_head.weight") // tied to wte in the pickle, its own copy here
	fmt.Println(len(f.Names()), "tensors; lm_head.weight", info.DType, info.Shape)

	// A pickle that names anything but tensors is refused, never run.
	err = torchfile.Convert("../testdata/torchfile/evil_system.bin", out)
	fmt.Println(errors.Is(err, torchfile.ErrRefused))
	// Output:
	// 29 tensors; lm_head.weight F32 [64 32]
	// true
}
