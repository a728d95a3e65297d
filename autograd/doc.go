// Package autograd records a tape of coarse tensor operations (matmul,
// layer norm, attention, …, never single elements) and runs it backwards
// to accumulate gradients.
//
// Every op is a method on *Graph with its forward and its backward side by
// side in the file of its family, and beside them the struct naming what
// the forward saves for the backward (linearSaved, normSaved, …) and the
// arguments of its parallel loops (gemmArgs, normArgs, …). A Graph made with train=false records
// nothing: inference runs exactly the same forward code with no tape, and
// dropout is the identity. All intermediate tensors (values, saved
// activations, gradients) come from the Graph's arena and are taken back
// by Reset, so a step repeated through one Graph allocates nothing once it
// has run once.
//
// Shape mismatches are programming errors: ops panic with a
// *tensor.ShapeError naming the op and every shape involved (see
// tensor.Recover). Backward, which runs at the end of a user's step,
// returns errors.
//
// A Graph, and the Vars it makes, belong to one goroutine at a time.
//
// The ops, by file (shapes in the project alphabet: B batch, T sequence,
// C channels, NH heads, HS head size, V vocabulary):
//
//	matmul.go     MatMul (batched, any transposes), Linear (y = x·Wᵀ + b)
//	arith.go      Add, Sub, Mul (numpy broadcasting), Scale, AddScalar,
//	              Sum, Mean, SumAxis, MeanAxis, Reshape
//	norm.go       LayerNorm, RMSNorm (saving mean/rstd for backward)
//	activation.go GELU (erf), GELUTanh, ReLU, SiLU, Tanh
//	softmax.go    Softmax, LogSoftmax, CrossEntropy (fused, ignore index)
//	dropout.go    Dropout (inverted, seeded, off in inference)
//	embedding.go  Embedding
//	shape.go      SplitHeads, MergeHeads, Concat, Narrow, Split, Permute,
//	              Transpose
//	attention.go  Attention (wraps package attention, optional probs)
package autograd
