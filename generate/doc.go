// Package generate turns a language model into text: the decoding loop over a
// model's KV cache, the logits processors and samplers of Hugging Face's
// generate (greedy, temperature, top-k, top-p, repetition penalty, n-gram
// blocking, bad words, forced BOS/EOS, minimum length), stop conditions (EOS,
// stop strings, length), streaming, batched decoding of left-padded prompts,
// and beam search with length penalty and early stopping.
//
// The model side is the small interface Model (and Seq2Seq for
// encoder-decoders): Begin sizes and empties the cache, Forward appends T new
// tokens to every row and returns the logits [rows, V] of each row's last new
// token, Reorder permutes cache rows for beam search. A prompt is prefilled in
// one Forward of T tokens, then every step is one Forward of T = 1.
//
// Semantics follow transformers v4.36 (GenerationMixin.greedy_search,
// sample, beam_search and BeamSearchScorer) so the same generation_config.json
// gives the same tokens: processors run in HF's order on the raw logits
// (greedy, sampling) or on the log-probabilities (beam search); sampling
// draws from softmax of the warped scores with a seeded generator
// (reproducible for a given seed, not torch's stream).
//
// Shapes use the project alphabet: B batch (rows), T sequence, V vocabulary.
package generate
