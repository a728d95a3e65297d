// Package safetensors reads and writes the safetensors tensor file format.
//
// A file is three regions:
//
//	[8 bytes]  N, little-endian uint64: length of the header
//	[N bytes]  UTF-8 JSON object: {"name": {"dtype": "F32", "shape": [2, 3],
//	           "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}
//	[rest]     the data section; a tensor's bytes are data[begin:end],
//	           row-major, little-endian
//
// The reader validates the header before it touches the data: the header
// length is capped (MaxHeaderSize) and must fit in the file, every dtype is
// known, every dimension is non-negative, product(shape)×size(dtype) is
// computed with overflow checks and must equal end-begin, and the tensors,
// sorted by offset, must tile the data section exactly (no gap, no overlap,
// nothing past the end). Every error names the file and the offending tensor.
//
// Open memory-maps the file (copy-on-write, so a caller that writes into a
// returned slice changes only its private copy, never the file). Float32 of
// an aligned F32 tensor and Int64 of an aligned I64 tensor return slices that
// alias the mapping: they are valid until Close. Other dtypes are converted
// into fresh slices.
//
// Write lays tensors out by decreasing dtype size and then by name (as the
// reference implementation does, so every tensor stays aligned to its
// element size), pads the header with spaces to a multiple of 8 bytes, and
// replaces the destination atomically (temporary file, fsync, rename).
package safetensors
