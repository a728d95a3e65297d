// Package model runs Hugging Face checkpoints of GPT-2, BERT, ViT, Marian
// and BART: config.json chooses the architecture (model_type) and head
// (architectures[0]), model.safetensors (or a sharded index) supplies the
// weights under transformers' names.
//
// Each architecture is a name map onto package nn's blocks, not a copy of
// them: a layerNames table says which checkpoint tensor fills which slot
// of an nn.EncoderLayer or nn.DecoderLayer (GPT-2, BERT and ViT layers are
// encoder layers, pre- or post-norm, GPT-2's causal; Marian and BART use
// both), and the few lines around it are the embeddings and heads.
//
// Loading maps instead of copying: every parameter is a tensor over the
// checkpoint's copy-on-write mapping, so resident memory after Load is
// what the forward touches, at most the file's size. The one rewrite is
// GPT-2's Conv1D weights, stored [in, out]: they are transposed in place
// (in the private mapping) into nn.Linear's [out, in]. Tied weights that
// save_pretrained drops (lm_head, the MLM decoder, Marian/BART's
// embed_tokens) are the tensors they are tied to. Missing, unexpected or
// misshapen tensors are errors naming the tensor and both shapes. A
// directory with only a PyTorch pickle checkpoint (pytorch_model.bin, or
// its shards) is read into memory by package torchfile, which runs
// nothing from the pickle.
//
// Forward takes Hugging Face's keyword inputs (Inputs: input_ids [B, T],
// attention_mask, token_type_ids, position_ids, decoder_input_ids,
// decoder_attention_mask, pixel_values [B, C, H, W]) and returns
// transformers' output fields by name (logits, last_hidden_state,
// pooler_output, hidden_states.N, attentions.N [B, NH, Tq, Tk], and for
// encoder-decoders encoder_*, decoder_* and cross_attentions.N), padded
// positions computed as transformers computes them.
//
// Decoding incrementally: GPT-2 and the Marian/BART decoders take a Cache
// (NewCache: one nn.KVCache of [B, NH, maxT, HS] per layer) in Options;
// new tokens sit at positions Cache.Len() onwards and attention_mask spans
// past and new positions. Encoder-decoders Encode once and pass the
// result as Options.Encoder; the cross-attention keys and values are
// computed on the first decoder call and kept in the cache.
// Options.LastLogits runs the LM head on the last position only. Beams of
// one source share its encoder output (Encoded.Rows); Cache.Reorder moves
// rows for beam search.
//
// One forward, two modes: a graph made with autograd.NewGraph(true)
// records the tape for training; an inference graph (false) runs the same
// code with no tape, freeing each layer's intermediates as it ends, and
// multiplies by the weights in the form that suits the rows (matrix-vector
// products for a decode step, GEMMs for a prompt). Load(dir,
// WithDType(BF16)) or ToBF16 gives every matrix weight a bfloat16 copy
// for inference, converted from the file's layout with the float32 pages
// released. Options.Capture returns the attention probabilities of chosen
// layers and heads, computed only for those.
//
// Init builds a model with its architecture's initialisation and Save
// writes it in save_pretrained's layout (attn init).
package model
