package model

import "github.com/attn-dev/attn/tensor"

// Encoded is an encoder's output kept for decoding: hidden [B, Ts, C]
// (owned, valid across graph resets) and its attention_mask.
type Encoded struct {
	Hidden *tensor.Tensor
	Mask   []int
}
