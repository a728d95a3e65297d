// Package server is attn's HTTP API: an OpenAI-compatible subset for
// generation and embeddings, and attn's own task routes. It is a thin
// adapter (handlers parse, queue and call package infer), so that what
// the CLI does and what the server does are one code path.
//
// Routes (JSON bodies; errors always {"error": {"message", "type", "code"}}):
//
//	GET  /health               200 {"status":"ok"}; 503 while loading or draining
//	GET  /metrics              Prometheus text: attn_requests_total{route,code},
//	                           attn_request_duration_seconds (histogram, by route),
//	                           attn_prompt_tokens_total / attn_completion_tokens_total{model},
//	                           attn_generations_stopped_total, attn_queue_depth,
//	                           attn_requests_in_flight, attn_models_loaded
//	GET  /v1/models, /v1/models/{id}
//	POST /v1/completions       prompt (string, strings, ids or lists of ids), max_tokens
//	                           (default 16), temperature (0 = greedy; default 1), top_p,
//	                           n, seed, stop, stream, stream_options.include_usage,
//	                           logprobs (0…5)
//	POST /v1/chat/completions  messages, the same sampling fields, max_completion_tokens,
//	                           logprobs + top_logprobs
//	POST /v1/embeddings        input, encoding_format float|base64 (little-endian
//	                           float32, as the SDKs decode); the mean of the last
//	                           hidden layer over the real tokens
//	POST /api/tokenize         {model, text, add_special_tokens?} → {ids, tokens}
//	POST /api/detokenize       {model, ids, skip_special_tokens?} → {text}
//	POST /api/fill-mask        {model, text, top_k?} → {predictions}
//	POST /api/classify         {model, text: string|strings} or {model, image: base64
//	                           PNG/JPEG} (ViT) → {labels: [[{id, label, prob}]]}
//	POST /api/translate        {model, text} → {text} (the model's generation config)
//	POST /api/attention        {model, text, target?, layers?, heads?, value_norms?,
//	                           rollout?} or {model, image (ViT), …} → {tokens,
//	                           weights [layer][head][query][key]}; encoder-decoders
//	                           also decoder_tokens, decoder_weights, cross_weights;
//	                           value_norms [layer][head][key] = ‖v_key‖; rollout
//	                           [query][key] over all layers; images also grid [rows, cols]
//	GET  /api/models           the models' shapes and abilities (for the explorer)
//	POST /api/qkv              {model, text, layer, head} → {tokens, q, k, v [T][HS],
//	                           weights [T][T], scale, causal}: one self-attention head
//	POST /api/similarity       {model, word, a, b} → {layers: [{layer, cosine}]}: the
//	                           word's contextual vectors in two sentences, layer by layer
//	POST /api/next             {model, text, temperature?, top_k?, top_p?, top?,
//	                           heads_off? [[layer, head], …]} → {top: [{id, token, text,
//	                           prob, raw_prob}]}: a decoder-only model's next token,
//	                           prob after the sampling transforms, with heads switched off
//	GET  /, /static/…          the web explorer (embedded; no API key needed to load it)
//
// Chat: the models attn loads carry no chat template, so a chat prompt is
// the messages' contents joined with newlines (roles are checked, not
// rendered), tokenized with the model's special tokens.
//
// Sampling: temperature 0 is greedy decoding; otherwise top_k is off (as
// OpenAI's API has none) and the model's generation_config.json gives the
// rest (EOS ids). Choice i of a request samples with seed+i, one after
// the other, so a request with a seed gives the same text streamed or
// not. Stop strings end a choice and are cut from its text; a stream
// holds back a tail that could begin one. logprobs are the model's own
// (before temperature and top_p), from one extra forward pass over a
// finished choice (for an encoder-decoder, the encoder on the prompt and
// the decoder teacher-forced on the decoder start token and the output);
// a stream sends them with the choice's last chunk.
//
// Status codes: 400 malformed JSON, unknown fields, wrong types and
// out-of-range numbers; 401 a missing or wrong API key; 404 an unknown
// model or route; 405 a wrong method; 413 a body over the limit; 422 an
// input longer than the input-token limit or the model's context; 429 a
// full queue; 503 loading, draining, or no slot before the deadline; 504
// the deadline passed during generation (499 in the log and metrics when
// the client left). A stream sends its 200 with its first event, so any
// error found before a token is generated gets its own status; an error
// after it is sent as a last event {"error": …}.
//
// Embeddings and classification run their inputs in groups of at most
// Limits.MaxInputTokens padded tokens, so a request's activations stay
// bounded however many inputs it has.
//
// Concurrency: a model is loaded once; every request reads its weights
// (an inference graph never writes them: model's one lazy layout change
// is guarded by a mutex, autograd's packed weight copies are immutable
// and published atomically, the BPE tokenizer keeps its scratch in a
// sync.Pool; TestConcurrent runs every route at once under -race). Each request takes its own infer.Generator
// (KV cache, decode scratch) from a per-model pool that grows to the
// number of compute slots. Limits.MaxConcurrent requests compute at
// once, Limits.MaxQueue wait; a request's context (its deadline, or the
// client leaving) is checked between generated tokens and stops the
// generation.
//
// Batched decoding: the concurrent sampling and greedy generations of a
// GPT-2 model (infer.Batchable) of at least BatchMinParams parameters share their
// decode steps (infer.Batcher, up to Limits.DecodeBatch rows a step):
// each prefills its prompt alone, then one forward pass decodes the next
// token of every generation in flight, reading the weights once for all
// of them. For GPT-2-small on 2 cores that is 2.7× the tokens/s of
// decoding each alone (64 clients, 16 concurrent). Smaller models decode
// alone: a step of a few megabytes of weights costs less than gathering
// the batch, and separate generations keep both cores busy. Beam search
// decodes alone. /metrics counts the shared steps and the rows they
// decoded.
package server
