// Package torchfile reads PyTorch checkpoints (pytorch_model.bin, *.pt as
// torch.save writes a state dict) without Python and without running
// anything from the file, and converts them to safetensors.
//
// A checkpoint is a pickle plus raw tensor storages: since PyTorch 1.6 a
// zip archive (<name>/data.pkl, <name>/data/<key> per storage, stored
// uncompressed), before that — and with
// _use_new_zipfile_serialization=False — one stream of pickles (magic
// number, protocol version, sys_info, the state dict, the storage keys)
// followed by each storage's element count and bytes.
//
// Unpickling in Python calls whatever the pickle names, which is why a
// pickle checkpoint can run arbitrary code. This package implements only
// the opcodes a state dict uses and only the globals it needs:
// collections.OrderedDict, torch._utils._rebuild_tensor_v2,
// torch._utils._rebuild_parameter and the storage classes
// (torch.FloatStorage, HalfStorage, BFloat16Storage, DoubleStorage,
// LongStorage, IntStorage, ShortStorage, CharStorage, ByteStorage,
// BoolStorage). Any other global is refused when it is named (the error
// wraps ErrRefused and names it), and those it allows are interpreted by
// Go code that only builds values.
//
// Hostile input is bounded: every length is checked against the bytes
// left before anything is allocated, the stack, the memo and the nesting
// of dicts are capped (and a dict may appear only once in the tree, so
// memo references cannot make the walk exponential), every storage must lie in the file (so all of
// them together are at most the file's size), every view must stay
// inside its storage, and the materialised tensors together may not
// exceed 8× the file size plus 16 MB (zero strides could otherwise expand
// a one-element storage without bound).
//
// Tensors come out contiguous, row-major and little-endian, as
// safetensors.Tensor values; views, transposes and tensors sharing a
// storage (tied weights) are materialised each on its own. Read holds
// them all; Convert streams them to the safetensors file one at a time,
// and Open (what package model uses for a directory with only
// pytorch_model.bin) fills one in-memory safetensors image.
package torchfile
