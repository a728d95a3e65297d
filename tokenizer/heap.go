package tokenizer

// A binary heap over a slice, typed so that pushes do not box their items
// (container/heap's interface would allocate one per push on the merge
// paths). before(a, b) says a comes out first.

func heapPush[T any](h *[]T, x T, before func(a, b *T) bool) {
	*h = append(*h, x)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !before(&a[i], &a[p]) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func heapPop[T any](h *[]T, before func(a, b *T) bool) T {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(a) && before(&a[l], &a[m]) {
			m = l
		}
		if r < len(a) && before(&a[r], &a[m]) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}
