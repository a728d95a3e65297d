package safetensors

// DType is a tensor element type as spelled in the header ("F32", "I64", ...).
type DType string

// The element types of the format. F8 types are one byte each.
const (
	DTypeBOOL   DType = "BOOL"
	DTypeU8     DType = "U8"
	DTypeI8     DType = "I8"
	DTypeF8E5M2 DType = "F8_E5M2"
	DTypeF8E4M3 DType = "F8_E4M3"
	DTypeI16    DType = "I16"
	DTypeU16    DType = "U16"
	DTypeF16    DType = "F16"
	DTypeBF16   DType = "BF16"
	DTypeI32    DType = "I32"
	DTypeU32    DType = "U32"
	DTypeF32    DType = "F32"
	DTypeF64    DType = "F64"
	DTypeI64    DType = "I64"
	DTypeU64    DType = "U64"
)

var dtypeSizes = map[DType]int{
	DTypeBOOL: 1, DTypeU8: 1, DTypeI8: 1, DTypeF8E5M2: 1, DTypeF8E4M3: 1,
	DTypeI16: 2, DTypeU16: 2, DTypeF16: 2, DTypeBF16: 2,
	DTypeI32: 4, DTypeU32: 4, DTypeF32: 4,
	DTypeF64: 8, DTypeI64: 8, DTypeU64: 8,
}

// Size is the number of bytes of one element, or 0 for an unknown dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// Valid reports whether d is one of the known dtypes.
func (d DType) Valid() bool { return dtypeSizes[d] != 0 }
