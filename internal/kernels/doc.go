// Package kernels holds the hot loops of attn: SGEMM, dot/axpy/scale, and
// vectorised exp/tanh for softmax and GELU.
//
// Every kernel has a plain-Go reference twin (the *Ref functions) that
// states its math; the exported functions dispatch to the fastest variant
// available on this CPU, chosen once at init. ATTN_PUREGO=1 in the
// environment (or the purego build tag) forces the pure-Go path.
//
// All matrices are row-major: element (i, j) of a matrix with row stride
// ld sits at index i*ld + j.
package kernels
