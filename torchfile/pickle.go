package torchfile

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This is not a Python unpickler. It is a small stack machine that knows
// the opcodes torch.save emits for a state dict (protocol 2, plus the
// framing and memo opcodes of protocols 4 and 5) and builds inert Go
// values. A global is looked up in a fixed table (allowedGlobals) when it
// is named, so anything else — os.system, builtins.eval, posix.system —
// is refused before it could be called; REDUCE only ever reaches the Go
// code of holder.reduce (OrderedDict() and the tensor rebuilders).

// Limits that keep a hostile pickle from costing more than its size.
const (
	maxStack = 1 << 20 // values on the stack, and marks
	maxMemo  = 1 << 20 // memo entries (GPT-2 XL's pickle has ~6000)
	maxDepth = 64      // nesting of dicts when flattening the result
)

// The values the machine builds.
type (
	tuple    []any
	pyList   struct{ items []any }
	bigLong  []byte // a LONG1 that does not fit in int64, little-endian two's complement
	markType struct{}
	global   struct{ module, name string }
	pyDict   struct {
		keys []any
		vals []any
		idx  map[any]int
	}
)

var mark = &markType{}

func newDict() *pyDict { return &pyDict{idx: map[any]int{}} }

func (d *pyDict) set(k, v any) error {
	switch k.(type) {
	case string, int64, bool, nil, float64:
	default:
		return fmt.Errorf("dict key of type %s is not supported", typeName(k))
	}
	if i, ok := d.idx[k]; ok {
		d.vals[i] = v
		return nil
	}
	d.idx[k] = len(d.keys)
	d.keys = append(d.keys, k)
	d.vals = append(d.vals, v)
	return nil
}

func (d *pyDict) get(k string) (any, bool) {
	i, ok := d.idx[k]
	if !ok {
		return nil, false
	}
	return d.vals[i], true
}

// aTypeName is typeName with its article: "an int", "a list".
func aTypeName(v any) string {
	n := typeName(v)
	if strings.ContainsRune("aeiouAEIOU", rune(n[0])) {
		return "an " + n
	}
	return "a " + n
}

// typeName names a value's Python type for error messages.
func typeName(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		return "bool"
	case int64, bigLong:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case tuple:
		return "tuple"
	case *pyList:
		return "list"
	case *pyDict:
		return "dict"
	case global:
		return v.module + "." + v.name
	case *storageRef:
		return "storage"
	case *tensorRef:
		return "tensor"
	case *markType:
		return "mark"
	}
	return fmt.Sprintf("%T", v)
}

// allowedGlobals lists every module.name a state dict needs. torch.save
// names the storage classes as torch.FloatStorage etc. even in versions
// where tensors hold untyped storages.
var allowedGlobals = map[string]bool{
	"collections.OrderedDict":         true,
	"torch._utils._rebuild_tensor_v2": true,
	"torch._utils._rebuild_parameter": true,
	"torch.FloatStorage":              true,
	"torch.HalfStorage":               true,
	"torch.BFloat16Storage":           true,
	"torch.DoubleStorage":             true,
	"torch.LongStorage":               true,
	"torch.IntStorage":                true,
	"torch.ShortStorage":              true,
	"torch.CharStorage":               true,
	"torch.ByteStorage":               true,
	"torch.BoolStorage":               true,
}

// ErrRefused is wrapped by the error for a pickle that names a global
// outside the allowed few (it would run code in Python).
var ErrRefused = errors.New("refused")

// unpickler runs one pickle. persistentLoad resolves BINPERSID ids (the
// storages); reduce implements the allowed callables.
type unpickler struct {
	*input
	stack  []any
	marks  []int
	memo   map[uint32]any
	persid func(pid any) (any, error)
	reduce func(fn global, args tuple) (any, error)
}

func newUnpickler(in *input) *unpickler {
	return &unpickler{input: in, memo: map[uint32]any{}}
}

// input is a byte stream that knows how much of it is left, so that no
// length read from it allocates more than the stream could hold. The
// legacy format reads several pickles and the storages from one input.
type input struct {
	r     *bufio.Reader
	pos   int64 // bytes consumed
	limit int64 // bytes available
}

func newInput(r io.Reader, limit int64) *input {
	return &input{r: bufio.NewReaderSize(r, 64<<10), limit: limit}
}

var errTruncated = errors.New("unexpected end of data (truncated file?)")

func (u *input) byte() (byte, error) {
	b, err := u.r.ReadByte()
	if err != nil {
		return 0, errTruncated
	}
	u.pos++
	return b, nil
}

// bytes reads n bytes, refusing n beyond what the source still holds
// before allocating anything.
func (u *input) bytes(n uint64) ([]byte, error) {
	if n > uint64(u.limit-u.pos) {
		return nil, fmt.Errorf("length %d runs past the end of the data (%d bytes left)", n, u.limit-u.pos)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(u.r, b); err != nil {
		return nil, errTruncated
	}
	u.pos += int64(n)
	return b, nil
}

// skip passes over n bytes (a legacy storage, read later by offset).
func (u *input) skip(n int64) error {
	if n > u.limit-u.pos {
		return fmt.Errorf("length %d runs past the end of the data (%d bytes left)", n, u.limit-u.pos)
	}
	if _, err := u.r.Discard(int(n)); err != nil {
		return errTruncated
	}
	u.pos += n
	return nil
}

func (u *input) uint(n int) (uint64, error) {
	var buf [8]byte
	if _, err := io.ReadFull(u.r, buf[:n]); err != nil {
		return 0, errTruncated
	}
	u.pos += int64(n)
	return binary.LittleEndian.Uint64(buf[:]), nil
}

// line reads a newline-terminated ASCII line (GLOBAL's operands).
func (u *input) line() (string, error) {
	var b []byte
	for {
		c, err := u.byte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return string(b), nil
		}
		if len(b) >= 256 {
			return "", errors.New("GLOBAL name longer than 256 bytes")
		}
		b = append(b, c)
	}
}

func (u *unpickler) push(v any) error {
	if len(u.stack) >= maxStack {
		return fmt.Errorf("stack deeper than %d", maxStack)
	}
	u.stack = append(u.stack, v)
	return nil
}

func (u *unpickler) pop() (any, error) {
	n := len(u.stack)
	if n == 0 || (len(u.marks) > 0 && u.marks[len(u.marks)-1] == n) {
		return nil, errors.New("stack underflow")
	}
	v := u.stack[n-1]
	u.stack = u.stack[:n-1]
	return v, nil
}

func (u *unpickler) top() (any, error) {
	n := len(u.stack)
	if n == 0 || (len(u.marks) > 0 && u.marks[len(u.marks)-1] == n) {
		return nil, errors.New("stack underflow")
	}
	return u.stack[n-1], nil
}

// popMark returns the values above the last mark and removes them and it.
func (u *unpickler) popMark() ([]any, error) {
	if len(u.marks) == 0 {
		return nil, errors.New("no MARK on the stack")
	}
	m := u.marks[len(u.marks)-1]
	u.marks = u.marks[:len(u.marks)-1]
	items := append([]any(nil), u.stack[m:]...)
	u.stack = u.stack[:m]
	return items, nil
}

// popN pops the top n values (above the last mark), in stack order.
func (u *unpickler) popN(n int) ([]any, error) {
	floor := 0
	if len(u.marks) > 0 {
		floor = u.marks[len(u.marks)-1]
	}
	if len(u.stack)-floor < n {
		return nil, errors.New("stack underflow")
	}
	items := append([]any(nil), u.stack[len(u.stack)-n:]...)
	u.stack = u.stack[:len(u.stack)-n]
	return items, nil
}

// store adds items to the list (APPEND, APPENDS) or the key-value pairs
// to the dict (SETITEM, SETITEMS) on top of the stack.
func (u *unpickler) store(op byte, items []any) error {
	c, err := u.top()
	if err != nil {
		return err
	}
	switch c := c.(type) {
	case *pyList:
		if op == opAppend || op == opAppends {
			c.items = append(c.items, items...)
			return nil
		}
	case *pyDict:
		if op == opSetitem || op == opSetitems {
			if len(items)%2 != 0 {
				return errors.New("SETITEMS with an odd number of items")
			}
			for i := 0; i < len(items); i += 2 {
				if err := c.set(items[i], items[i+1]); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return fmt.Errorf("%s on %s", opNames[op], aTypeName(c))
}

var opNames = map[byte]string{opAppend: "APPEND", opAppends: "APPENDS", opSetitem: "SETITEM", opSetitems: "SETITEMS"}

func (u *unpickler) memoize(i uint32) error {
	v, err := u.top()
	if err != nil {
		return err
	}
	if _, ok := u.memo[i]; !ok && len(u.memo) >= maxMemo {
		return fmt.Errorf("memo larger than %d entries", maxMemo)
	}
	u.memo[i] = v
	return nil
}

// Pickle opcodes (Lib/pickletools.py).
const (
	opMark            = '('
	opStop            = '.'
	opPop             = '0'
	opPopMark         = '1'
	opDup             = '2'
	opBinint          = 'J'
	opBinint1         = 'K'
	opBinint2         = 'M'
	opNone            = 'N'
	opBinpersid       = 'Q'
	opReduce          = 'R'
	opBinunicode      = 'X'
	opAppend          = 'a'
	opBuild           = 'b'
	opGlobal          = 'c'
	opAppends         = 'e'
	opBinget          = 'h'
	opLongBinget      = 'j'
	opEmptyList       = ']'
	opBinput          = 'q'
	opLongBinput      = 'r'
	opSetitem         = 's'
	opTuple           = 't'
	opEmptyTuple      = ')'
	opSetitems        = 'u'
	opBinfloat        = 'G'
	opEmptyDict       = '}'
	opProto           = 0x80
	opTuple1          = 0x85
	opTuple2          = 0x86
	opTuple3          = 0x87
	opNewtrue         = 0x88
	opNewfalse        = 0x89
	opLong1           = 0x8a
	opShortBinunicode = 0x8c
	opBinunicode8     = 0x8d
	opStackGlobal     = 0x93
	opMemoize         = 0x94
	opFrame           = 0x95
)

// operandWidth is the size of the little-endian length or index that
// follows these opcodes.
var operandWidth = [256]int{
	opBinunicode: 4, opShortBinunicode: 1, opBinunicode8: 8,
	opBinput: 1, opLongBinput: 4, opBinget: 1, opLongBinget: 4,
}

// run executes the pickle up to STOP and returns its value. Errors carry
// the byte offset of the failing opcode.
func (u *unpickler) run() (any, error) {
	for {
		at := u.pos
		op, err := u.byte()
		if err != nil {
			return nil, fmt.Errorf("pickle offset %d: %w", at, err)
		}
		v, done, err := u.step(op)
		if err != nil {
			return nil, fmt.Errorf("pickle offset %d (opcode 0x%02x): %w", at, op, err)
		}
		if done {
			return v, nil
		}
	}
}

func (u *unpickler) step(op byte) (result any, done bool, err error) {
	switch op {
	case opProto:
		p, err := u.byte()
		if err != nil {
			return nil, false, err
		}
		if p < 2 || p > 5 {
			return nil, false, fmt.Errorf("pickle protocol %d is not supported (2 to 5 are)", p)
		}
	case opFrame:
		_, err = u.uint(8) // frames only group opcodes; the stream is read straight through
	case opStop:
		v, err := u.pop()
		if err != nil {
			return nil, false, err
		}
		return v, true, nil
	case opMark:
		if len(u.marks) >= maxStack {
			return nil, false, fmt.Errorf("more than %d MARKs", maxStack)
		}
		u.marks = append(u.marks, len(u.stack))
	case opPop:
		_, err = u.pop()
	case opPopMark:
		_, err = u.popMark()
	case opDup:
		var v any
		if v, err = u.top(); err == nil {
			err = u.push(v)
		}
	case opNone:
		err = u.push(nil)
	case opNewtrue:
		err = u.push(true)
	case opNewfalse:
		err = u.push(false)
	case opBinint:
		var n uint64
		if n, err = u.uint(4); err == nil {
			err = u.push(int64(int32(uint32(n))))
		}
	case opBinint1:
		var n uint64
		if n, err = u.uint(1); err == nil {
			err = u.push(int64(n))
		}
	case opBinint2:
		var n uint64
		if n, err = u.uint(2); err == nil {
			err = u.push(int64(n))
		}
	case opLong1:
		var n uint64
		if n, err = u.uint(1); err != nil {
			return nil, false, err
		}
		var b []byte
		if b, err = u.bytes(n); err == nil {
			err = u.push(decodeLong(b))
		}
	case opBinfloat:
		var b []byte
		if b, err = u.bytes(8); err == nil {
			err = u.push(math.Float64frombits(binary.BigEndian.Uint64(b)))
		}
	case opBinunicode, opShortBinunicode, opBinunicode8:
		width := operandWidth[op]
		var n uint64
		if n, err = u.uint(width); err != nil {
			return nil, false, err
		}
		var b []byte
		if b, err = u.bytes(n); err != nil {
			return nil, false, err
		}
		if !utf8.Valid(b) {
			return nil, false, errors.New("string is not valid UTF-8")
		}
		err = u.push(string(b))
	case opEmptyTuple:
		err = u.push(tuple{})
	case opEmptyList:
		err = u.push(&pyList{})
	case opEmptyDict:
		err = u.push(newDict())
	case opTuple:
		var items []any
		if items, err = u.popMark(); err == nil {
			err = u.push(tuple(items))
		}
	case opTuple1, opTuple2, opTuple3:
		var items []any
		if items, err = u.popN(int(op-opTuple1) + 1); err == nil {
			err = u.push(tuple(items))
		}
	case opBinput, opLongBinput:
		var i uint64
		if i, err = u.uint(operandWidth[op]); err == nil {
			err = u.memoize(uint32(i))
		}
	case opMemoize:
		err = u.memoize(uint32(len(u.memo)))
	case opBinget, opLongBinget:
		var i uint64
		if i, err = u.uint(operandWidth[op]); err != nil {
			return nil, false, err
		}
		v, ok := u.memo[uint32(i)]
		if !ok {
			return nil, false, fmt.Errorf("memo entry %d was never stored", i)
		}
		err = u.push(v)
	case opAppend, opAppends, opSetitem, opSetitems:
		var items []any
		switch op {
		case opAppend:
			items, err = u.popN(1)
		case opSetitem:
			items, err = u.popN(2)
		default:
			items, err = u.popMark()
		}
		if err == nil {
			err = u.store(op, items)
		}
	case opGlobal:
		var mod, name string
		if mod, err = u.line(); err != nil {
			return nil, false, err
		}
		if name, err = u.line(); err != nil {
			return nil, false, err
		}
		err = u.pushGlobal(mod, name)
	case opStackGlobal:
		var mn []any
		if mn, err = u.popN(2); err != nil {
			return nil, false, err
		}
		ms, ok1 := mn[0].(string)
		ns, ok2 := mn[1].(string)
		if !ok1 || !ok2 {
			return nil, false, fmt.Errorf("STACK_GLOBAL of %s and %s, not two strings", typeName(mn[0]), typeName(mn[1]))
		}
		err = u.pushGlobal(ms, ns)
	case opReduce:
		var fa []any
		if fa, err = u.popN(2); err != nil {
			return nil, false, err
		}
		fn, args := fa[0], fa[1]
		g, ok := fn.(global)
		if !ok {
			return nil, false, fmt.Errorf("REDUCE calls %s, not a global", aTypeName(fn))
		}
		t, ok := args.(tuple)
		if !ok {
			return nil, false, fmt.Errorf("REDUCE of %s with %s arguments, not a tuple", typeName(g), typeName(args))
		}
		if u.reduce == nil {
			return nil, false, fmt.Errorf("REDUCE of %s in a pickle that must not call anything", typeName(g))
		}
		var v any
		if v, err = u.reduce(g, t); err != nil {
			return nil, false, fmt.Errorf("%s.%s: %w", g.module, g.name, err)
		}
		err = u.push(v)
	case opBuild:
		var state, obj any
		if state, err = u.pop(); err != nil {
			return nil, false, err
		}
		if obj, err = u.top(); err != nil {
			return nil, false, err
		}
		// The one BUILD of a state dict sets OrderedDict._metadata (the
		// modules' versions); it carries no tensors, so it is dropped.
		if _, ok := obj.(*pyDict); !ok {
			return nil, false, fmt.Errorf("BUILD of %s (only a state dict's metadata is supported)", aTypeName(obj))
		}
		if _, ok := state.(*pyDict); !ok && state != nil {
			return nil, false, fmt.Errorf("BUILD with %s state", aTypeName(state))
		}
	case opBinpersid:
		var pid, v any
		if pid, err = u.pop(); err != nil {
			return nil, false, err
		}
		if u.persid == nil {
			return nil, false, errors.New("persistent id in a pickle that must not have any")
		}
		if v, err = u.persid(pid); err != nil {
			return nil, false, err
		}
		err = u.push(v)
	default:
		return nil, false, fmt.Errorf("%q is not an opcode a state dict needs", rune(op))
	}
	return nil, false, err
}

// pushGlobal refuses every global outside allowedGlobals by name.
func (u *unpickler) pushGlobal(mod, name string) error {
	if full := mod + "." + name; !allowedGlobals[full] {
		if !isPrintable(full) {
			full = strconv.Quote(full)
		}
		return fmt.Errorf("global %s is %w: only tensors, storages and OrderedDict may appear in a state dict (a pickle that names it could run code)", full, ErrRefused)
	}
	return u.push(global{mod, name})
}

// isPrintable reports whether s is printable ASCII (a Python name is).
func isPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// decodeLong decodes LONG1's little-endian two's complement bytes.
func decodeLong(b []byte) any {
	if len(b) > 8 {
		return bigLong(b)
	}
	var v uint64
	for i := len(b) - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	if n := len(b); n > 0 && n < 8 && b[n-1]&0x80 != 0 {
		v |= ^uint64(0) << (8 * n) // sign-extend
	}
	return int64(v)
}
