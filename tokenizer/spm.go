package tokenizer

import (
	"fmt"
	"math"
	"os"
	"strings"
	"unicode/utf8"
)

// SentencePiece is a SentencePiece model (.model / .spm): Unigram (Viterbi
// over piece log-probabilities) or BPE (merge the adjacent pair whose union
// is the highest-scoring piece, leftmost on ties), after SentencePiece's
// normalisation: the precompiled character map (nmt_nfkc and friends),
// removal of leading, trailing and repeated whitespace, a dummy "▁" prefix,
// and spaces spelled "▁". A character no piece covers becomes <unk>, or with
// byte fallback the <0xXX> pieces of its UTF-8 bytes.
//
// Encode adds no special tokens (as spm.encode), whatever addSpecial says.
type SentencePiece struct {
	m       *spmModel
	cmap    *charsmap
	match   map[string]int // normal and user-defined pieces: what segmentation may use
	all     map[string]int // every piece
	maxLen  int            // longest matchable piece, in bytes
	byteIDs [256]int       // <0xXX> ids, -1 when absent
	byteVal map[int]byte   // <0xXX> id -> XX
	unk     int
	unkCost float32         // Unigram: score of an unknown character (min score - 10)
	maxScr  float32         // max(FLT_MIN, normal scores), as SentencePiece starts it: about 0 for log-probabilities
	user    map[string]bool // user-defined pieces: kept whole by normalisation and BPE
	userMax int             // longest user-defined piece, in bytes
}

// LoadSentencePiece reads a SentencePiece model file.
func LoadSentencePiece(path string) (*SentencePiece, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece: %w", err)
	}
	s, err := ParseSentencePiece(data)
	if err != nil {
		return nil, fmt.Errorf("sentencepiece %s: %w", path, err)
	}
	return s, nil
}

// ParseSentencePiece reads a serialized SentencePiece ModelProto.
func ParseSentencePiece(data []byte) (*SentencePiece, error) {
	m, err := parseSPM(data)
	if err != nil {
		return nil, err
	}
	if m.ModelType != spmUnigram && m.ModelType != spmBPE {
		return nil, fmt.Errorf("model type %d is not supported (only Unigram=1 and BPE=2)", m.ModelType)
	}
	if m.TreatWhitespaceSuffix {
		return nil, fmt.Errorf("treat_whitespace_as_suffix is not supported")
	}
	s := &SentencePiece{m: m, match: map[string]int{}, all: map[string]int{}, byteVal: map[int]byte{}, unk: m.UnkID}
	if s.cmap, err = parseCharsmap(m.Charsmap); err != nil {
		return nil, err
	}
	for i := range s.byteIDs {
		s.byteIDs[i] = -1
	}
	first := true
	s.maxScr = math.Float32frombits(0x00800000) // FLT_MIN, so user-defined pieces score about -0.1
	for id, p := range m.Pieces {
		if _, dup := s.all[p.Piece]; !dup {
			s.all[p.Piece] = id
		}
		switch p.Type {
		case pieceNormal, pieceUserDefined:
			if p.Piece == "" {
				return nil, fmt.Errorf("piece %d is empty", id)
			}
			if p.Type == pieceUserDefined {
				if s.user == nil {
					s.user = map[string]bool{}
				}
				s.user[p.Piece] = true
				s.userMax = max(s.userMax, len(p.Piece))
			}
			s.match[p.Piece] = id
			s.maxLen = max(s.maxLen, len(p.Piece))
			if p.Type == pieceNormal {
				if first || p.Score < s.unkCost {
					s.unkCost = p.Score
				}
				s.maxScr = max(s.maxScr, p.Score)
				first = false
			}
		case pieceByte:
			var b int
			if _, err := fmt.Sscanf(p.Piece, "<0x%02X>", &b); err != nil || b < 0 || b > 255 {
				return nil, fmt.Errorf("byte piece %d %q: want <0xXX>", id, p.Piece)
			}
			s.byteIDs[b] = id
			s.byteVal[id] = byte(b)
		}
	}
	s.unkCost -= 10 // SentencePiece's kUnkPenalty
	if s.unk < 0 || s.unk >= len(m.Pieces) || m.Pieces[s.unk].Type != pieceUnknown {
		return nil, fmt.Errorf("unk_id %d does not name an unknown piece", s.unk)
	}
	if m.ByteFallback {
		for b, id := range s.byteIDs {
			if id < 0 {
				return nil, fmt.Errorf("byte_fallback is on but piece <0x%02X> is missing", b)
			}
		}
	}
	return s, nil
}

// userPrefix returns the length of the longest user-defined piece that
// starts s, 0 when none does.
func (s *SentencePiece) userPrefix(in string) int {
	for n := min(len(in), s.userMax); n > 0; n-- {
		if s.user[in[:n]] {
			return n
		}
	}
	return 0
}

// Normalize applies the model's normaliser; spaces come out as "▁".
// User-defined pieces pass through unchanged.
func (s *SentencePiece) Normalize(text string) string {
	var sb strings.Builder
	sb.Grow(len(text) + 8)
	m := s.m
	prefix := func(in string) (string, int) {
		if n := s.userPrefix(in); n > 0 {
			return in[:n], n
		}
		if s.cmap != nil {
			if r, n := s.cmap.longest(in); n > 0 {
				return r, n
			}
		}
		r, n := utf8.DecodeRuneInString(in)
		if r == utf8.RuneError && n <= 1 {
			return "\uFFFD", 1
		}
		return in[:n], n
	}
	if m.RemoveExtraWhitespaces {
		for text != "" {
			r, n := prefix(text)
			if r != " " {
				break
			}
			text = text[n:]
		}
	}
	if text == "" {
		return ""
	}
	space := " "
	if m.EscapeWhitespaces {
		space = "▁"
	}
	if m.AddDummyPrefix {
		sb.WriteString(space)
	}
	prevSpace := m.RemoveExtraWhitespaces
	for text != "" {
		r, n := prefix(text)
		text = text[n:]
		if prevSpace {
			r = strings.TrimLeft(r, " ")
		}
		if r == "" {
			continue
		}
		if m.RemoveExtraWhitespaces {
			prevSpace = strings.HasSuffix(r, " ")
		}
		if m.EscapeWhitespaces {
			r = strings.ReplaceAll(r, " ", "▁")
		}
		sb.WriteString(r)
	}
	out := sb.String()
	if m.RemoveExtraWhitespaces {
		for strings.HasSuffix(out, space) {
			out = out[:len(out)-len(space)]
		}
	}
	return out
}

// spmSeg is one piece of a segmentation: s[start:end] with its id.
type spmSeg struct {
	start, end, id int
}

// Encode implements Tokenizer.
func (s *SentencePiece) Encode(text string, addSpecial bool) ([]int, error) {
	out := s.pieces(text)
	ids := make([]int, len(out))
	for i, p := range out {
		ids[i] = p.id
	}
	return ids, nil
}

// EncodePieces returns the pieces of text as spm.encode(out_type=str) does:
// byte fallback pieces spelled <0xXX>, an unknown stretch as its normalised
// text.
func (s *SentencePiece) EncodePieces(text string) []string {
	out := s.pieces(text)
	strs := make([]string, len(out))
	for i, p := range out {
		strs[i] = p.piece
	}
	return strs
}

type spmOut struct {
	id    int
	piece string
}

// pieces segments text and applies SentencePiece's output rules: with byte
// fallback an unknown piece becomes the <0xXX> pieces of its bytes; without,
// a run of unknown pieces becomes one.
func (s *SentencePiece) pieces(text string) []spmOut {
	norm := s.Normalize(text)
	if norm == "" {
		return nil
	}
	var segs []spmSeg
	if s.m.ModelType == spmBPE {
		segs = s.bpe(norm)
	} else {
		segs = s.viterbi(norm)
	}
	out := make([]spmOut, 0, len(segs))
	prevUnk := false
	for _, g := range segs {
		surface := norm[g.start:g.end]
		switch {
		case g.id == s.unk && s.m.ByteFallback:
			for i := g.start; i < g.end; i++ {
				id := s.byteIDs[norm[i]]
				out = append(out, spmOut{id: id, piece: s.m.Pieces[id].Piece})
			}
		case g.id == s.unk && prevUnk:
			out[len(out)-1].piece += surface
		case g.id == s.unk:
			out = append(out, spmOut{id: g.id, piece: surface})
		default:
			out = append(out, spmOut{id: g.id, piece: s.m.Pieces[g.id].Piece})
		}
		prevUnk = g.id == s.unk
	}
	return out
}

// viterbi finds the segmentation of norm with the highest total piece score,
// rounding as SentencePiece's EncodeOptimized does; a character no piece
// starts with costs unkCost as <unk>.
func (s *SentencePiece) viterbi(norm string) []spmSeg {
	type node struct {
		score float32
		start int // -1: not reached
		id    int
	}
	n := len(norm)
	best := make([]node, n+1)
	for i := range best {
		best[i].start = -1
	}
	best[0].start = 0
	for i := 0; i < n; {
		_, mblen := utf8.DecodeRuneInString(norm[i:])
		base := best[i].score
		single := false
		for end := i + 1; end <= n && end-i <= s.maxLen; end++ {
			if end < n && !utf8.RuneStart(norm[end]) {
				continue
			}
			id, ok := s.match[norm[i:end]]
			if !ok {
				continue
			}
			// SentencePiece's score here is a double (its conditional mixes
			// float and double), so the candidate is summed and compared in
			// float64 and stored as float32; ties and rounding follow it.
			score := float64(s.m.Pieces[id].Score)
			if s.m.Pieces[id].Type == pieceUserDefined {
				score = float64(end-i)*float64(s.maxScr) - 0.1
			}
			if c := score + float64(base); best[end].start < 0 || c > float64(best[end].score) {
				best[end] = node{score: float32(c), start: i, id: id}
			}
			if end-i == mblen {
				single = true
			}
		}
		if !single {
			if c := base + s.unkCost; best[i+mblen].start < 0 || c > best[i+mblen].score {
				best[i+mblen] = node{score: c, start: i, id: s.unk}
			}
		}
		i += mblen
	}
	var segs []spmSeg
	for end := n; end > 0; end = best[end].start {
		segs = append(segs, spmSeg{start: best[end].start, end: end, id: best[end].id})
	}
	for i, j := 0, len(segs)-1; i < j; i, j = i+1, j-1 {
		segs[i], segs[j] = segs[j], segs[i]
	}
	return segs
}

// bpe merges the characters (and user-defined pieces) of norm: repeatedly
// the adjacent pair whose union is a piece with the highest score, leftmost
// first on ties.
func (s *SentencePiece) bpe(norm string) []spmSeg {
	type sym struct{ start, end, prev, next int }
	var syms []sym
	for i := 0; i < len(norm); {
		n := s.userPrefix(norm[i:])
		if n == 0 {
			_, n = utf8.DecodeRuneInString(norm[i:])
		}
		syms = append(syms, sym{start: i, end: i + n, prev: len(syms) - 1, next: len(syms) + 1})
		i += n
	}
	syms[len(syms)-1].next = -1
	var h []spmCand
	add := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		piece := norm[syms[l].start:syms[r].end]
		if id, ok := s.match[piece]; ok {
			heapPush(&h, spmCand{score: s.m.Pieces[id].Score, left: l, right: r, size: len(piece)}, spmFirst)
		}
	}
	for i := 1; i < len(syms); i++ {
		add(i-1, i)
	}
	for len(h) > 0 {
		c := heapPop(&h, spmFirst)
		l, r := &syms[c.left], &syms[c.right]
		if l.start < 0 || r.start < 0 || l.next != c.right || r.end-l.start != c.size {
			continue // stale
		}
		l.end = r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = c.left
		}
		r.start = -1
		add(l.prev, c.left)
		add(c.left, l.next)
	}
	var segs []spmSeg
	for i := 0; i >= 0; i = syms[i].next {
		id, ok := s.all[norm[syms[i].start:syms[i].end]]
		if !ok {
			id = s.unk
		}
		segs = append(segs, spmSeg{start: syms[i].start, end: syms[i].end, id: id})
	}
	return segs
}

type spmCand struct {
	score       float32
	left, right int
	size        int
}

// spmFirst orders candidates by score, highest first, then leftmost.
func spmFirst(a, b *spmCand) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

// Decode implements Tokenizer as spm.decode: control pieces vanish, <unk>
// reads " ⁇ ", byte pieces are gathered into UTF-8 (invalid bytes become
// U+FFFD), "▁" becomes a space and the dummy prefix space is removed.
// skipSpecial also drops <unk>.
func (s *SentencePiece) Decode(ids []int, skipSpecial bool) (string, error) {
	for i, id := range ids {
		if id < 0 || id >= len(s.m.Pieces) {
			return "", fmt.Errorf("decode position %d: id %d: %w", i, id, ErrUnknownID)
		}
	}
	return s.decode(len(ids), func(i int) (int, string) { return ids[i], s.m.Pieces[ids[i]].Piece }, skipSpecial), nil
}

// DecodePieces is spm.decode_pieces: like Decode, but a piece the model does
// not know is written as it is spelled.
func (s *SentencePiece) DecodePieces(pieces []string) string {
	return s.decode(len(pieces), func(i int) (int, string) {
		id, ok := s.all[pieces[i]]
		if !ok {
			id = -1
		}
		return id, pieces[i]
	}, false)
}

// decode joins n pieces; at(i) gives the id (-1: none) and spelling of piece i.
func (s *SentencePiece) decode(n int, at func(int) (int, string), skipSpecial bool) string {
	var sb strings.Builder
	var pending []byte
	bos := s.m.AddDummyPrefix
	emit := func(t string) {
		if t == "" {
			return
		}
		if bos {
			t = strings.TrimPrefix(t, " ")
			bos = false
		}
		sb.WriteString(t)
	}
	flush := func() {
		var t strings.Builder
		for len(pending) > 0 {
			r, n := utf8.DecodeRune(pending)
			if r == utf8.RuneError && n <= 1 {
				t.WriteString("\uFFFD")
			} else {
				t.Write(pending[:n])
			}
			pending = pending[n:]
		}
		emit(t.String())
	}
	for i := range n {
		id, piece := at(i)
		typ := pieceNormal
		if id >= 0 {
			typ = s.m.Pieces[id].Type
		}
		if typ == pieceByte {
			pending = append(pending, s.byteVal[id])
			continue
		}
		flush()
		switch typ {
		case pieceControl:
		case pieceUnknown:
			if !skipSpecial {
				emit(s.m.UnkSurface)
			}
		default:
			emit(strings.ReplaceAll(piece, "▁", " "))
		}
	}
	flush()
	return sb.String()
}

// layout implements templated: no special tokens; the model's pad piece.
func (s *SentencePiece) layout() (*template, int, string) {
	if id := s.m.PadID; id >= 0 && id < len(s.m.Pieces) {
		return nil, id, s.m.Pieces[id].Piece
	}
	return nil, -1, ""
}

// VocabSize implements Tokenizer.
func (s *SentencePiece) VocabSize() int { return len(s.m.Pieces) }

// TokenToID implements Tokenizer.
func (s *SentencePiece) TokenToID(token string) (int, bool) {
	id, ok := s.all[token]
	return id, ok
}

// IDToToken implements Tokenizer.
func (s *SentencePiece) IDToToken(id int) (string, bool) {
	if id < 0 || id >= len(s.m.Pieces) {
		return "", false
	}
	return s.m.Pieces[id].Piece, true
}
