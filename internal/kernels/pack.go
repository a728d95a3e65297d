package kernels

// Packing lays a block of op(A) or a panel of op(B) out as slivers of w
// lanes (w = mr rows of A or nr columns of B): lane l at depth p of a sliver
// sits at sliver[p·w + l], so the microkernel reads both operands with unit
// stride. Lanes past the matrix edge are zero. Element (lane l, depth p) of
// the source is at src[base + l·ld + p] when each lane is a contiguous run
// along the depth (A untransposed, B transposed) and at src[base + p·ld + l]
// when each depth is a contiguous run of lanes (A transposed, B untransposed).

// packA copies the mc×kc block of op(A) at (ic, pc) into dst as slivers of
// mr rows: sliver s holds column p of its rows at dst[s·kc + p·mr:][:mr].
func packA(im *impl, transA bool, a []float32, lda, ic, pc, mc, kc int, dst []float32) {
	mr := im.mr
	for s := 0; s < mc; s += mr {
		d := dst[s*kc : s*kc+mr*kc]
		if transA {
			packRuns(im, d, a, mr, min(mr, mc-s), kc, pc*lda+ic+s, lda)
		} else {
			packGather(im, d, a, mr, min(mr, mc-s), kc, (ic+s)*lda+pc, lda)
		}
	}
}

// packB copies the kc×nc panel of op(B) at (pc, jc) into dst as slivers of
// nr columns: sliver s holds row p of its columns at dst[s·kc + p·nr:][:nr].
func packB(im *impl, transB bool, b []float32, ldb, pc, jc, kc, nc int, dst []float32) {
	nr := im.nr
	for s := 0; s < nc; s += nr {
		d := dst[s*kc : s*kc+nr*kc]
		if transB {
			packGather(im, d, b, nr, min(nr, nc-s), kc, (jc+s)*ldb+pc, ldb)
		} else {
			packRuns(im, d, b, nr, min(nr, nc-s), kc, pc*ldb+jc+s, ldb)
		}
	}
}

// packRuns packs a sliver whose depth p is the contiguous run
// src[base+p·ld:][:cnt]. Whole slivers 16 or 32 wide go through
// impl.copy16 where present; other whole slivers copy fixed-size arrays.
func packRuns(im *impl, d, src []float32, w, cnt, kc, base, ld int) {
	if cnt == w && im.copy16 != nil && w%16 == 0 {
		for l0 := 0; l0 < w; l0 += 16 {
			im.copy16(d[l0:], w, src[base+l0:], ld, kc)
		}
		return
	}
	if cnt == w {
		switch w {
		case 4:
			for p := 0; p < kc; p++ {
				*(*[4]float32)(d[p*4:]) = *(*[4]float32)(src[base+p*ld:])
			}
			return
		case 6:
			for p := 0; p < kc; p++ {
				*(*[6]float32)(d[p*6:]) = *(*[6]float32)(src[base+p*ld:])
			}
			return
		case 12:
			// Three 16-byte moves: a [12]float32 copy compiles to a
			// call of runtime.memmove per row.
			for p := 0; p < kc; p++ {
				dp, sp := (*[12]float32)(d[p*12:]), (*[12]float32)(src[base+p*ld:])
				*(*[4]float32)(dp[0:4]) = *(*[4]float32)(sp[0:4])
				*(*[4]float32)(dp[4:8]) = *(*[4]float32)(sp[4:8])
				*(*[4]float32)(dp[8:12]) = *(*[4]float32)(sp[8:12])
			}
			return
		case 16:
			for p := 0; p < kc; p++ {
				*(*[16]float32)(d[p*16:]) = *(*[16]float32)(src[base+p*ld:])
			}
			return
		case 32:
			for p := 0; p < kc; p++ {
				*(*[32]float32)(d[p*32:]) = *(*[32]float32)(src[base+p*ld:])
			}
			return
		}
	}
	for p := 0; p < kc; p++ {
		dp := d[p*w : p*w+w]
		copy(dp, src[base+p*ld:base+p*ld+cnt])
		clear(dp[cnt:])
	}
}

// packGather packs a sliver whose lane l is the contiguous run
// src[base+l·ld:][:kc], transposing it into the lanes of d: 8×8 blocks in
// assembly where the kernel set has packT8 and the sliver is whole.
func packGather(im *impl, d, src []float32, w, cnt, kc, base, ld int) {
	if im.packT8 != nil && cnt == w && w%8 == 0 && kc >= 8 {
		k8 := kc &^ 7
		for l0 := 0; l0 < w; l0 += 8 {
			im.packT8(d[l0:], w, src[base+l0*ld:], ld, k8)
		}
		for l := 0; l < w; l++ {
			row := src[base+l*ld : base+l*ld+kc]
			for p := k8; p < kc; p++ {
				d[p*w+l] = row[p]
			}
		}
		return
	}
	if im.packT8 != nil && cnt == w && w == 12 && kc >= 8 {
		// AVX-512's 12-row A slivers: lanes 0–7 as an 8×8 transpose,
		// lanes 8–11 four rows at a time.
		k8 := kc &^ 7
		im.packT8(d, w, src[base:], ld, k8)
		r8 := src[base+8*ld : base+8*ld+kc]
		r9 := src[base+9*ld : base+9*ld+kc]
		r10 := src[base+10*ld : base+10*ld+kc]
		r11 := src[base+11*ld : base+11*ld+kc]
		for p := range r8 {
			dp := (*[4]float32)(d[p*12+8:])
			dp[0], dp[1], dp[2], dp[3] = r8[p], r9[p], r10[p], r11[p]
		}
		for l := 0; l < 8; l++ {
			row := src[base+l*ld : base+l*ld+kc]
			for p := k8; p < kc; p++ {
				d[p*w+l] = row[p]
			}
		}
		return
	}
	if cnt == 6 && w == 6 {
		r0 := src[base : base+kc]
		r1 := src[base+ld : base+ld+kc]
		r2 := src[base+2*ld : base+2*ld+kc]
		r3 := src[base+3*ld : base+3*ld+kc]
		r4 := src[base+4*ld : base+4*ld+kc]
		r5 := src[base+5*ld : base+5*ld+kc]
		for p := range r0 {
			dp := (*[6]float32)(d[p*6:])
			dp[0], dp[1], dp[2], dp[3], dp[4], dp[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
		}
		return
	}
	for l := 0; l < cnt; l++ {
		for p, v := range src[base+l*ld : base+l*ld+kc] {
			d[p*w+l] = v
		}
	}
	for l := cnt; l < w; l++ {
		for p := 0; p < kc; p++ {
			d[p*w+l] = 0
		}
	}
}
