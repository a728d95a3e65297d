package tensor

import (
	"errors"
	"fmt"
)

// ShapeError is the value every shape or argument check in this package
// (and in autograd) panics with. Tensor and graph operations are
// programmer-facing and run in hot loops, so, like gonum, they panic on
// misuse with a message naming the operation and every shape involved;
// code at an I/O boundary turns such a panic back into an error with
// Recover.
type ShapeError struct {
	Op  string // the operation, e.g. "tensor.Reshape" or "autograd.MatMul"
	Msg string // what was wrong, naming the shapes
}

func (e *ShapeError) Error() string { return e.Op + ": " + e.Msg }

// Panicf panics with a *ShapeError for operation op.
func Panicf(op, format string, args ...any) {
	panic(&ShapeError{Op: op, Msg: fmt.Sprintf(format, args...)})
}

// Recover converts a *ShapeError panic into an error stored in *err; any
// other panic is re-raised. Use it as `defer tensor.Recover(&err)` in a
// function that returns an error.
func Recover(err *error) {
	r := recover()
	if r == nil {
		return
	}
	var se *ShapeError
	if e, ok := r.(error); ok && errors.As(e, &se) {
		*err = se
		return
	}
	panic(r)
}

// Dims returns a copy of a shape for an error message, so that handing a
// caller's (possibly stack-allocated) shape to Panicf does not force it
// onto the heap on the success path.
func Dims(s []int) []int { return append([]int(nil), s...) }
