// Package infer is what a user does with a trained Transformer, each task a
// function over a loaded checkpoint (package model) and its tokenizer:
//
//	generation     Generator (LoadGenerator, Generate, Translate) over
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
// Decoding: the prompt is prefilled through the model's own forward (in
// chunks of 128 tokens, each chunk appending to the KV cache), then GPT-2
// decodes one token per step with a fused step (fastgpt2.go) that reads
// the float32 weights in place from the checkpoint mapping, or a bfloat16
// copy (LMOptions.BF16), through the matrix-vector kernels of
// internal/gemv; other models step through their forward. The fused step is
// tested against the model's uncached forward (1e-4) and the PyTorch mirror
// of transformers' generate (testdata/generate).
//
// The CLI verbs are thin layers over these: attn generate, translate,
// embed, similarity, fill-mask, classify.
package infer
