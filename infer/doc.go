// Package infer is what a user does with a trained Transformer, each task a
// function over a loaded checkpoint (package model) and its tokenizer:
//
//	generation     Generator (LoadGenerator, Generate, GenerateBatch,
//	               Translate) over
//	               NewLM (decoder-only) / NewSeq2Seq (encoder-decoder),
//	               the generate.Model adapters of the models' KV caches
//	shared decode  Batcher: concurrent generations of one decoder-only
//	               model decode their next tokens in one forward pass
//	               (Generator.Share; attn serve uses it)
//	embeddings     Embed / Task.EmbedTexts: hidden states of one layer,
//	               mean, cls or no pooling, padding excluded
//	similarity     Similarity: one word's vector in two sentences, cosine
//	               per layer (the "river bank" / "investment bank" demo)
//	fill-mask      FillMask / Task.FillMaskText: top-k per mask token
//	classification ClassifyText (id2label), ClassifyImage with
//	               ImageProcessor (PIL-exact bilinear resize, rescale,
//	               normalise as preprocessor_config.json says)
//
// Decoding runs the model's own forward (package model), the same block
// code that training runs, in an inference graph: no tape, each layer's
// intermediates freed as it ends, buffers reused from step to step. The
// prompt goes through the model's KV cache in chunks of up to
// PrefillChunk tokens (GEMMs and the tiled attention kernel), then one
// token per step (matrix-vector products and the decode attention kernel
// reading the cache in place). A model loaded with
// model.WithDType(model.BF16) multiplies by bfloat16 copies of its
// weights. Encoder-decoders encode each distinct source once; beams share
// its cross-attention keys and values. The cached paths are tested against
// the model's uncached forward and the PyTorch mirror of transformers'
// generate (testdata/generate).
//
// The CLI verbs are thin layers over these: attn generate, translate,
// embed, similarity, fill-mask, classify.
package infer
