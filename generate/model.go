package generate

// Model is a causal language model that decodes incrementally over a KV
// cache it owns: a decoder-only model, or the decoder of an encoder-decoder.
//
// Rows are independent sequences (batch entries or beams). Every row holds
// the same number of cached positions; a row's first Pad positions are left
// padding, hidden as keys from every query of that row, and its real tokens
// sit at positions 0, 1, … counted from the first non-pad token (what
// transformers derives from the attention mask as position_ids).
type Model interface {
	// VocabSize is V, the width of one row of logits.
	VocabSize() int
	// Begin prepares the cache for rows sequences of at most maxLen
	// positions each and empties it. It may keep and reuse earlier buffers.
	Begin(rows, maxLen int) error
	// Forward appends T = len(ids)/rows tokens to every row (ids is
	// [rows, T] row-major) and writes into logits [rows, V] the logits
	// that follow each row's last new token. pad [rows] gives each row's
	// number of leading pad positions (nil: none); it is the same slice on
	// every call of one generation.
	Forward(ids []int, pad []int, logits []float32) error
	// Reorder makes row i of the cache a copy of row src[i] for every i
	// (len(src) == rows; the same source may appear several times).
	Reorder(src []int) error
}

// Seq2Seq is an encoder-decoder: Encode runs the encoder once and keeps
// what the decoder's cross-attention needs (its K/V per layer); Forward then
// decodes against it.
type Seq2Seq interface {
	Model
	// Encode runs the encoder on src (one token sequence per row, right
	// padded by the model to the longest, padding masked) after Begin with
	// rows == len(src). Beam search passes each source once per beam, and
	// Reorder never moves a row to another source, so the encoder state
	// need not be reordered.
	Encode(src [][]int) error
}

// Ender is a Model that holds something for the length of a generation
// (rows of a shared batch): Generate and GenerateSeq2Seq call End once
// when the generation ends, however it ends.
type Ender interface {
	End()
}
