// Package infer is what a user does with a trained Transformer, each task a
// function over a loaded checkpoint (package model) and its tokenizer:
// generation (decoder-only and encoder-decoder, through package generate and
// the models' KV caches), contextual embeddings and the per-layer
// similarity of one word across two sentences, fill-mask, text and image
// classification, and translation.
package infer
