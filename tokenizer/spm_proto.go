package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// This file decodes the fields of SentencePiece's ModelProto
// (sentencepiece_model.proto) that encoding and decoding need; everything
// else in the file is skipped. Field numbers:
//
//	ModelProto      1 pieces (repeated SentencePiece), 2 trainer_spec, 3 normalizer_spec
//	SentencePiece   1 piece (string), 2 score (float), 3 type (enum)
//	TrainerSpec     3 model_type, 24 treat_whitespace_as_suffix, 35 byte_fallback,
//	                40 unk_id, 41 bos_id, 42 eos_id, 43 pad_id, 44 unk_surface
//	NormalizerSpec  1 name, 2 precompiled_charsmap, 3 add_dummy_prefix,
//	                4 remove_extra_whitespaces, 5 escape_whitespaces

// Piece types (SentencePiece.Type).
const (
	pieceNormal      = 1
	pieceUnknown     = 2
	pieceControl     = 3
	pieceUserDefined = 4
	pieceUnused      = 5
	pieceByte        = 6
)

// Model types (TrainerSpec.ModelType).
const (
	spmUnigram = 1
	spmBPE     = 2
	spmWord    = 3
	spmChar    = 4
)

type spmPiece struct {
	Piece string
	Score float32
	Type  int
}

type spmModel struct {
	Pieces                 []spmPiece
	ModelType              int
	ByteFallback           bool
	TreatWhitespaceSuffix  bool
	UnkID, BOSID, EOSID    int
	PadID                  int
	UnkSurface             string
	NormName               string
	Charsmap               []byte
	AddDummyPrefix         bool
	RemoveExtraWhitespaces bool
	EscapeWhitespaces      bool
}

var errTruncated = errors.New("truncated protobuf")

// pbReader walks protobuf wire format.
type pbReader struct {
	b []byte
}

func (r *pbReader) varint() (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, errTruncated
	}
	r.b = r.b[n:]
	return v, nil
}

// next returns the next field number and wire type, and for wire type 2 the
// payload, for 0 the value, for 5 the 32 bits.
func (r *pbReader) next() (field int, wire int, val uint64, payload []byte, err error) {
	key, err := r.varint()
	if err != nil {
		return 0, 0, 0, nil, err
	}
	field, wire = int(key>>3), int(key&7)
	if field == 0 {
		return 0, 0, 0, nil, fmt.Errorf("protobuf field number 0")
	}
	switch wire {
	case 0:
		val, err = r.varint()
	case 1:
		if len(r.b) < 8 {
			return 0, 0, 0, nil, errTruncated
		}
		val, r.b = binary.LittleEndian.Uint64(r.b), r.b[8:]
	case 2:
		var n uint64
		if n, err = r.varint(); err == nil {
			if n > uint64(len(r.b)) {
				return 0, 0, 0, nil, errTruncated
			}
			payload, r.b = r.b[:n], r.b[n:]
		}
	case 5:
		if len(r.b) < 4 {
			return 0, 0, 0, nil, errTruncated
		}
		val, r.b = uint64(binary.LittleEndian.Uint32(r.b)), r.b[4:]
	default:
		return 0, 0, 0, nil, fmt.Errorf("protobuf wire type %d is not supported", wire)
	}
	return field, wire, val, payload, err
}

// parseSPM decodes a serialized ModelProto, filling proto2 defaults.
func parseSPM(data []byte) (*spmModel, error) {
	m := &spmModel{ModelType: spmUnigram, UnkID: 0, BOSID: 1, EOSID: 2, PadID: -1,
		UnkSurface: " \u2047 ", AddDummyPrefix: true, RemoveExtraWhitespaces: true, EscapeWhitespaces: true}
	r := pbReader{data}
	for len(r.b) > 0 {
		f, w, _, payload, err := r.next()
		if err != nil {
			return nil, fmt.Errorf("model proto: %w", err)
		}
		if w != 2 {
			continue
		}
		switch f {
		case 1:
			p, err := parseSPMPiece(payload)
			if err != nil {
				return nil, fmt.Errorf("piece %d: %w", len(m.Pieces), err)
			}
			m.Pieces = append(m.Pieces, p)
		case 2:
			if err := parseTrainerSpec(payload, m); err != nil {
				return nil, fmt.Errorf("trainer_spec: %w", err)
			}
		case 3:
			if err := parseNormalizerSpec(payload, m); err != nil {
				return nil, fmt.Errorf("normalizer_spec: %w", err)
			}
		}
	}
	if len(m.Pieces) == 0 {
		return nil, fmt.Errorf("model proto has no pieces")
	}
	return m, nil
}

func parseSPMPiece(b []byte) (spmPiece, error) {
	p := spmPiece{Type: pieceNormal}
	r := pbReader{b}
	for len(r.b) > 0 {
		f, w, v, payload, err := r.next()
		if err != nil {
			return p, err
		}
		switch {
		case f == 1 && w == 2:
			p.Piece = string(payload)
		case f == 2 && w == 5:
			p.Score = math.Float32frombits(uint32(v))
		case f == 3 && w == 0:
			p.Type = int(v)
		}
	}
	if p.Type < pieceNormal || p.Type > pieceByte {
		return p, fmt.Errorf("piece %q: unknown type %d", p.Piece, p.Type)
	}
	return p, nil
}

func parseTrainerSpec(b []byte, m *spmModel) error {
	r := pbReader{b}
	for len(r.b) > 0 {
		f, w, v, payload, err := r.next()
		if err != nil {
			return err
		}
		if w == 0 {
			switch f {
			case 3:
				m.ModelType = int(v)
			case 24:
				m.TreatWhitespaceSuffix = v != 0
			case 35:
				m.ByteFallback = v != 0
			case 40:
				m.UnkID = int(int32(v))
			case 41:
				m.BOSID = int(int32(v))
			case 42:
				m.EOSID = int(int32(v))
			case 43:
				m.PadID = int(int32(v))
			}
		} else if w == 2 && f == 44 {
			m.UnkSurface = string(payload)
		}
	}
	return nil
}

func parseNormalizerSpec(b []byte, m *spmModel) error {
	r := pbReader{b}
	for len(r.b) > 0 {
		f, w, v, payload, err := r.next()
		if err != nil {
			return err
		}
		switch {
		case f == 1 && w == 2:
			m.NormName = string(payload)
		case f == 2 && w == 2:
			m.Charsmap = payload
		case f == 3 && w == 0:
			m.AddDummyPrefix = v != 0
		case f == 4 && w == 0:
			m.RemoveExtraWhitespaces = v != 0
		case f == 5 && w == 0:
			m.EscapeWhitespaces = v != 0
		}
	}
	return nil
}

// charsmap is SentencePiece's precompiled normaliser: a darts-clone
// double-array trie over UTF-8 input whose leaf values are offsets of
// NUL-terminated replacement strings. Blob layout: uint32 LE trie size in
// bytes, the trie's uint32 units, then the replacement strings.
type charsmap struct {
	units []uint32
	repl  []byte
}

func parseCharsmap(b []byte) (*charsmap, error) {
	if len(b) == 0 {
		return nil, nil
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("precompiled_charsmap: %d bytes, want at least 4", len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if n%4 != 0 || uint64(n) > uint64(len(b)-4) {
		return nil, fmt.Errorf("precompiled_charsmap: trie size %d does not fit in %d bytes", n, len(b)-4)
	}
	c := &charsmap{units: make([]uint32, n/4), repl: b[4+n:]}
	for i := range c.units {
		c.units[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	if len(c.units) == 0 {
		return nil, fmt.Errorf("precompiled_charsmap: empty trie")
	}
	return c, nil
}

// longest returns the replacement for the longest key that prefixes s and
// its length in s; n == 0 when no key matches.
func (c *charsmap) longest(s string) (repl string, n int) {
	unitOffset := func(u uint32) uint32 { return (u >> 10) << ((u & (1 << 9)) >> 6) }
	pos := unitOffset(c.units[0])
	for i := 0; i < len(s); i++ {
		pos ^= uint32(s[i])
		if pos >= uint32(len(c.units)) {
			break
		}
		u := c.units[pos]
		if u&((1<<31)|0xFF) != uint32(s[i]) { // label mismatch
			break
		}
		pos ^= unitOffset(u)
		if pos >= uint32(len(c.units)) {
			break
		}
		if (u>>8)&1 == 1 { // has a leaf: the value sits at pos
			v := c.units[pos] & ((1 << 31) - 1)
			if int(v) < len(c.repl) {
				end := int(v)
				for end < len(c.repl) && c.repl[end] != 0 {
					end++
				}
				repl, n = string(c.repl[v:end]), i+1
			}
		}
	}
	return repl, n
}
