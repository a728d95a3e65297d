//go:build !purego

package gemv

import "golang.org/x/sys/cpu"

var hasAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA
