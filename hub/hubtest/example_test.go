package hubtest_test

import (
	"fmt"
	"io"
	"net/http"

	"github.com/attn-dev/attn/hub/hubtest"
)

// Publish a repository and fetch two of its files the way the hub serves
// them: a small file from the hub itself, the weights (LFS) through a
// redirect to the CDN. Requests records what was asked, for assertions.
func Example() {
	s := hubtest.New()
	defer s.Close()
	s.Add("org/tiny", map[string][]byte{
		"config.json":       []byte(`{"model_type": "gpt2"}`),
		"model.safetensors": []byte("weights"),
	})
	for _, f := range []string{"config.json", "model.safetensors", "missing.txt"} {
		resp, err := http.Get(s.URL + "/org/tiny/resolve/main/" + f)
		if err != nil {
			fmt.Println(err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Println(f, resp.StatusCode, resp.Header.Get("X-Error-Code"))
			continue
		}
		fmt.Printf("%s %d %q\n", f, resp.StatusCode, b)
	}
	for _, r := range s.Requests() {
		fmt.Println(r.CDN, r.Path)
	}
	// Output:
	// config.json 200 "{\"model_type\": \"gpt2\"}"
	// model.safetensors 200 "weights"
	// missing.txt 404 EntryNotFound
	// false /org/tiny/resolve/main/config.json
	// false /org/tiny/resolve/main/model.safetensors
	// true /lfs/9a129038d9a00aed0cf6a7ea059ca50a813449061ab87848cf1a13eafdf33b2c
	// false /org/tiny/resolve/main/missing.txt
}

// A fault on demand: the next response carrying the weights is cut after
// 3 bytes, as a dropped connection would.
func ExampleServer_DropAfter() {
	s := hubtest.New()
	defer s.Close()
	s.Add("org/tiny", map[string][]byte{"model.safetensors": []byte("weights")})
	s.DropAfter("model.safetensors", 3)
	for i := 0; i < 2; i++ {
		resp, err := http.Get(s.URL + "/org/tiny/resolve/main/model.safetensors")
		if err != nil {
			fmt.Println(err)
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%q %v\n", b, err != nil)
	}
	// Output:
	// "wei" true
	// "weights" false
}
