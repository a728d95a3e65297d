package torchfile_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attn-dev/attn/safetensors"
	"github.com/attn-dev/attn/torchfile"
)

// Read a torch.save'd state dict (here nn.Sequential(LayerNorm, Linear,
// BatchNorm1d).state_dict()) and list its tensors in the file's order.
// Nothing in the pickle runs.
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

// A pickle that names anything but a state dict's few globals is refused
// before it is interpreted.
func ExampleRead_refused() {
	_, err := torchfile.Read("../testdata/torchfile/evil_system.bin")
	fmt.Println(errors.Is(err, torchfile.ErrRefused))
	// Output:
	// true
}

// Convert a checkpoint to safetensors, dtypes unchanged.
func ExampleConvert() {
	dir, err := os.MkdirTemp("", "torchfile-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "model.safetensors")
	if err := torchfile.Convert("../testdata/torchfile/module.bin", out); err != nil {
		fmt.Println(err)
		return
	}
	f, err := safetensors.Open(out)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	b, shape, err := f.Float32("fc.bias")
	fmt.Printf("%d tensors; fc.bias %v %.4f %v\n", len(f.Names()), shape, b, err)
	n, _, err := f.Int64("bn.num_batches_tracked")
	fmt.Println(n, err)
	// Output:
	// 9 tensors; fc.bias [3] [-0.4777 -0.3311 -0.2061] <nil>
	// [0] <nil>
}

// Open reads the shards of a sharded pickle checkpoint into one in-memory
// safetensors file, for code written against safetensors.
func ExampleOpen() {
	const dir = "../testdata/hub/gpt2-sharded/"
	f, err := torchfile.Open(dir+"pytorch_model-00001-of-00002.bin", dir+"pytorch_model-00002-of-00002.bin")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	info, _ := f.Info("transformer.wte.weight")
	fmt.Println(len(f.Names()), info.Shape, info.DType)
	// Output:
	// 28 [64 32] F32
}
