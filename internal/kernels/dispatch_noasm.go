//go:build !amd64 || purego

package kernels

// selectImpl returns the pure-Go kernels: this build has no assembly.
func selectImpl(bool) *impl { return implGo }

// allImpls lists the kernel sets this build and CPU can run, and why the
// others cannot (for tests).
func allImpls() (avail []*impl, missing map[string]string) {
	return []*impl{implGo}, map[string]string{
		"avx2":   "no assembly in this build (purego tag or not amd64)",
		"avx512": "no assembly in this build (purego tag or not amd64)",
	}
}
