package kernels

//go:generate sh -c "cd _asm && go run . -out ../asm_amd64.s -stubs ../asm_amd64.go -pkg kernels"
