// Package nn holds the Transformer building blocks: positional encodings
// (sinusoidal in the interleaved and half-split layouts, learned absolute
// via Embedding, rotary in the interleaved and rotate-half layouts), Linear,
// Embedding, LayerNorm, FeedForward, MultiHeadAttention (self and cross;
// fused or separate projections; grouped K/V heads; kdim/vdim; causal,
// padding and additive masks; optional RoPE; per-head probabilities on
// request), EncoderLayer and DecoderLayer in pre- and post-norm form, their
// stacks and the full encoder-decoder Transformer, checked against
// PyTorch's torch.nn modules.
//
// Layers hold their weights as *autograd.Var named as PyTorch's state_dict
// names them (NamedParameters), so Load fills a model from a checkpoint by
// name, and they run through autograd so the same Forward trains (a
// graph made with train=true) and infers (train=false: no tape, no
// dropout). Activations are batch-first: [B, T, C].
//
// For incremental decoding in inference graphs the attention blocks and
// layers have ForwardCached variants taking a KVCache: self-attention
// appends the new positions' keys and values and attends over all of
// them; a static cache holds cross-attention keys and values computed once
// from the memory.
//
// Bad input to the attention blocks, layers, stacks and Embedding (a shape
// that does not fit, a mask of the wrong size, an id outside the table) is
// returned as an error naming it; Linear, LayerNorm and FeedForward are thin
// wrappers over autograd ops and, like them, panic with a
// *tensor.ShapeError on misuse.
package nn
