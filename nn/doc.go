// Package nn holds the Transformer building blocks: positional encodings
// (sinusoidal, learned, rotary), Linear, Embedding, LayerNorm, FeedForward,
// MultiHeadAttention (self and cross, fused or separate projections,
// grouped K/V heads), encoder and decoder layers in pre- and post-norm
// form, their stacks and the full encoder-decoder Transformer.
//
// Layers hold their weights as *autograd.Var named as PyTorch's
// state_dict names them, so a checkpoint loads by name, and run through
// autograd so the same forward code trains and infers. Activations are
// batch-first: [B, T, C].
package nn
