package attention

import (
	"fmt"
	"math"
)

// plan is Params validated and digested for the kernels.
type plan struct {
	B, NH, NKV, Tq, Tk, HS int
	group                  int // NH / NKV
	kvStride               int // floats between (b, KV head) blocks of k, v
	off                    int // Tk − Tq: query i sits at key position i+off
	scale                  float32
	causal                 bool
	pad                    []bool
	mask                   []float32
	mstride                [4]int // element strides of Mask, 0 on broadcast dims
	dropP                  float32
	dropScale              float32 // 1/(1−p)
	dropThresh             uint32  // keep iff hash ≥ dropThresh
	seed                   uint64
	window                 int
	gk                     []int32 // prefix counts of global key positions, len Tk+1; nil: none
	gkBuf                  []int32 // gk's storage, kept by pooled plans
	bs                     int
	layout                 []bool
	nkb                    int // key blocks per layout row
	structural             bool
}

// mulChecked returns a·b·…, or an error naming what when it overflows.
func mulChecked(what string, xs ...int) (int, error) {
	n := 1
	for _, x := range xs {
		if x != 0 && n > math.MaxInt/x {
			return 0, fmt.Errorf("attention: %s: size overflows", what)
		}
		n *= x
	}
	return n, nil
}

func checkLen(name string, got, want int) error {
	if got != want {
		return fmt.Errorf("attention: %s has %d elements, want %d", name, got, want)
	}
	return nil
}

// newPlan validates p against the slices of a call (nil slices are not
// checked) and digests it.
func newPlan(p *Params) (*plan, error) {
	pl := new(plan)
	if err := initPlan(pl, p); err != nil {
		return nil, err
	}
	return pl, nil
}

// initPlan is newPlan into pl, reusing its buffers; it allocates nothing
// unless p has Global tokens beyond pl's capacity or is invalid.
func initPlan(pl *plan, p *Params) error {
	*pl = plan{gkBuf: pl.gkBuf}
	if p == nil {
		return fmt.Errorf("attention: nil Params")
	}
	if p.B < 1 || p.NH < 1 || p.Tq < 1 || p.Tk < 1 || p.HS < 1 {
		return fmt.Errorf("attention: B=%d NH=%d Tq=%d Tk=%d HS=%d: all must be ≥ 1", p.B, p.NH, p.Tq, p.Tk, p.HS)
	}
	nkv := p.NKV
	if nkv == 0 {
		nkv = p.NH
	}
	if nkv < 0 || p.NH%nkv != 0 {
		return fmt.Errorf("attention: NH=%d is not a multiple of NKV=%d", p.NH, nkv)
	}
	if _, err := mulChecked("B·NH·Tq·Tk", p.B, p.NH, p.Tq, p.Tk); err != nil {
		return err
	}
	if _, err := mulChecked("B·NH·Tq·HS", p.B, p.NH, p.Tq, p.HS); err != nil {
		return err
	}
	if _, err := mulChecked("B·NKV·Tk·HS", p.B, nkv, p.Tk, p.HS); err != nil {
		return err
	}
	stride := p.KVHeadStride
	switch {
	case stride == 0:
		stride = p.Tk * p.HS
	case stride < p.Tk*p.HS:
		return fmt.Errorf("attention: KVHeadStride %d is less than Tk·HS = %d·%d", stride, p.Tk, p.HS)
	}
	if _, err := mulChecked("B·NKV·KVHeadStride", p.B, nkv, stride); err != nil {
		return err
	}
	scale := p.Scale
	if math.IsNaN(float64(scale)) || math.IsInf(float64(scale), 0) {
		return fmt.Errorf("attention: Scale %v is not finite", scale)
	}
	if scale == 0 {
		scale = float32(1 / math.Sqrt(float64(p.HS)))
	}
	pl.B, pl.NH, pl.NKV, pl.Tq, pl.Tk, pl.HS = p.B, p.NH, nkv, p.Tq, p.Tk, p.HS
	pl.group, pl.off, pl.scale, pl.causal = p.NH/nkv, p.Tk-p.Tq, scale, p.Causal
	pl.kvStride = stride
	if p.KeyPadding != nil {
		if err := checkLen("KeyPadding [B,Tk]", len(p.KeyPadding), p.B*p.Tk); err != nil {
			return err
		}
		pl.pad = p.KeyPadding
	}
	if p.Mask != nil {
		full := [4]int{p.B, p.NH, p.Tq, p.Tk}
		n := 1
		for d := 3; d >= 0; d-- {
			s := p.MaskShape[d]
			if s != full[d] && s != 1 {
				return fmt.Errorf("attention: MaskShape %v does not broadcast to [B,NH,Tq,Tk]=%v", p.MaskShape, full)
			}
			if s != 1 {
				pl.mstride[d] = n
			}
			n *= s
		}
		if len(p.Mask) != n {
			return fmt.Errorf("attention: Mask %v has %d elements, want %d", p.MaskShape, len(p.Mask), n)
		}
		pl.mask = p.Mask
	}
	if !(p.DropoutP >= 0 && p.DropoutP < 1) {
		return fmt.Errorf("attention: DropoutP %v outside [0,1)", p.DropoutP)
	}
	if p.DropoutP > 0 {
		pl.dropP = p.DropoutP
		pl.dropScale = 1 / (1 - p.DropoutP)
		t := math.Ceil(float64(p.DropoutP) * (1 << 32))
		if t > math.MaxUint32 {
			t = math.MaxUint32
		}
		pl.dropThresh = uint32(t)
		pl.seed = p.Seed
	}
	if p.Window < 0 {
		return fmt.Errorf("attention: Window %d is negative", p.Window)
	}
	pl.window = p.Window
	if len(p.Global) > 0 {
		if p.Window == 0 {
			return fmt.Errorf("attention: Global tokens need a Window")
		}
		if cap(pl.gkBuf) < p.Tk+1 {
			pl.gkBuf = make([]int32, p.Tk+1)
		}
		pl.gk = pl.gkBuf[:p.Tk+1]
		clear(pl.gk)
		for _, g := range p.Global {
			if g < 0 || g >= p.Tk {
				return fmt.Errorf("attention: Global position %d outside [0,%d)", g, p.Tk)
			}
			pl.gk[g+1] = 1
		}
		for j := 0; j < p.Tk; j++ {
			pl.gk[j+1] += pl.gk[j]
		}
	}
	if p.BlockLayout != nil {
		if p.BlockSize < 1 {
			return fmt.Errorf("attention: BlockLayout needs BlockSize ≥ 1, got %d", p.BlockSize)
		}
		nqb := (p.Tq + p.BlockSize - 1) / p.BlockSize
		pl.nkb = (p.Tk + p.BlockSize - 1) / p.BlockSize
		if len(p.BlockLayout) != nqb*pl.nkb {
			return fmt.Errorf("attention: BlockLayout [%d,%d] has %d elements, want %d", nqb, pl.nkb, len(p.BlockLayout), nqb*pl.nkb)
		}
		pl.bs = p.BlockSize
		pl.layout = p.BlockLayout
	}
	pl.structural = pl.causal || pl.window > 0 || pl.layout != nil
	return nil
}

// checkQKV checks the tensor slices every call shares.
func (pl *plan) checkQKV(q, k, v []float32) error {
	if err := checkLen("q [B,NH,Tq,HS]", len(q), pl.B*pl.NH*pl.Tq*pl.HS); err != nil {
		return err
	}
	if err := pl.checkKV("k [B,NKV,Tk,HS]", len(k)); err != nil {
		return err
	}
	return pl.checkKV("v [B,NKV,Tk,HS]", len(v))
}

// checkKV checks the length n of k or v: exactly B·NKV·Tk·HS when
// contiguous; with a KVHeadStride, from the end of the last block's Tk
// rows up to B·NKV whole strides.
func (pl *plan) checkKV(name string, n int) error {
	units, rows := pl.B*pl.NKV, pl.Tk*pl.HS
	if pl.kvStride == rows {
		return checkLen(name, n, units*rows)
	}
	lo, hi := (units-1)*pl.kvStride+rows, units*pl.kvStride
	if n < lo || n > hi {
		return fmt.Errorf("attention: %s with KVHeadStride %d has %d elements, want %d to %d", name, pl.kvStride, n, lo, hi)
	}
	return nil
}

// kvBlock returns the Tk rows of (batch, KV head) unit u of k or v, read
// where they lie (KVHeadStride apart); the slice's capacity ends with
// them, so no kernel can read the rows beyond Tk.
func (pl *plan) kvBlock(x []float32, u int) []float32 {
	at := u * pl.kvStride
	end := at + pl.Tk*pl.HS
	return x[at:end:end]
}

// gradBlock returns unit u's rows of a contiguous [B,NKV,Tk,HS] gradient.
func (pl *plan) gradBlock(x []float32, u int) []float32 {
	n := pl.Tk * pl.HS
	return x[u*n : (u+1)*n]
}
