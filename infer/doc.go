// Package infer is what a user does with a trained Transformer, each task a
// function over a loaded checkpoint (package model) and its tokenizer:
//
//	generation     Generator (LoadGenerator, Generate, GenerateBatch,
//	               Translate) over
//	               NewLM (decoder-only) / NewSeq2Seq (encoder-decoder),
//	               the generate.Model adapters of the models' KV caches
//	embeddings     Embed / Task.EmbedTexts: hidden states of one layer,
//	               mean, cls or no pooling, padding excluded
//	similarity     Similarity: one word's vector in two sentences, cosine
//	               per layer (the "river bank" / "investment bank" demo)
//	fill-mask      FillMask / Task.FillMaskText: top-k per mask token
//	classification ClassifyText (id2label), ClassifyImage with
//	               ImageProcessor (PIL-exact bilinear resize, rescale,
//	               normalise as preprocessor_config.json says)
//
// Decoding: GPT-2 runs fused layers without a graph (fastgpt2.go,
// prefill.go): the prompt in chunks of up to 512 tokens through GEMMs and
// the tiled attention kernel, over one set of activation buffers that every
// layer reuses, then one token per step through the matrix-vector kernels
// of internal/gemv, appending to the KV cache. The weights are the float32
// tensors in place in the checkpoint mapping, or a bfloat16 copy
// (LMOptions.BF16) converted straight from the file's layout, the float32
// pages released as soon as each matrix is converted; other models go
// through their forward (the prompt in chunks of 128 tokens). The fused
// paths are tested against the model's uncached forward (1e-4) and the
// PyTorch mirror of transformers' generate (testdata/generate).
//
// The CLI verbs are thin layers over these: attn generate, translate,
// embed, similarity, fill-mask, classify.
package infer
