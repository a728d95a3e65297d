package safetensors_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/attn-dev/attn/safetensors"
)

// Write a file, then Open it and read the tensors back: F32 comes back
// without a copy (a view of the mapping, valid until Close), BF16 widened
// to float32.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	err = safetensors.Write(path, []safetensors.Tensor{
		safetensors.F32("linear.weight", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
		safetensors.BF16("linear.bias", []int{2}, []float32{0.1, -0.2}),
		safetensors.I64("steps", []int{}, []int64{7}),
	}, map[string]string{"format": "pt"})
	if err != nil {
		fmt.Println(err)
		return
	}

	f, err := safetensors.Open(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		fmt.Println(name, info.DType, info.Shape, info.Size)
	}
	w, shape, err := f.Float32("linear.weight")
	fmt.Println(w, shape, err)
	b, _, err := f.Float32("linear.bias")
	fmt.Println(b, err)
	_, _, err = f.Float32("linear.scale")
	fmt.Println(errors.Is(err, safetensors.ErrNotFound))
	fmt.Println(f.Metadata())
	// Output:
	// linear.bias BF16 [2] 4
	// linear.weight F32 [2 3] 24
	// steps I64 [] 8
	// [1 2 3 4 5 6] [2 3] <nil>
	// [0.100097656 -0.20019531] <nil>
	// true
	// map[format:pt]
}

// Encode and Parse do the same in memory.
func ExampleParse() {
	image, err := safetensors.Encode([]safetensors.Tensor{
		safetensors.I64("input_ids", []int{1, 3}, []int64{15496, 995, 0}),
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	f, err := safetensors.Parse("inputs", image)
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, shape, err := f.Int64("input_ids")
	fmt.Println(len(image), ids, shape, err)
	// Output:
	// 104 [15496 995 0] [1 3] <nil>
}
