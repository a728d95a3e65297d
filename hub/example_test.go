package hub_test

import (
	"context"
	"fmt"
	"os"

	"github.com/attn-dev/attn/hub"
	"github.com/attn-dev/attn/hub/hubtest"
)

// Pull a repository into a cache, then find it there by name without the
// network. NewClient configures a client from HF_ENDPOINT, HF_TOKEN and
// ATTN_HOME instead.
func Example() {
	s := hubtest.New() // a local stand-in for https://huggingface.co
	defer s.Close()
	s.Add("org/tiny", map[string][]byte{
		"config.json":       []byte(`{"model_type": "gpt2"}`),
		"model.safetensors": []byte("weights"),
		"README.md":         []byte("not needed to run the model"),
	})
	home, err := os.MkdirTemp("", "attn-home")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(home)

	c := &hub.Client{Endpoint: s.URL, Cache: hub.Cache{Dir: home}, Concurrency: 2}
	p, err := c.Pull(context.Background(), "org/tiny")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range p.Files {
		fmt.Println(f.Name, f.Size)
	}
	dir, err := c.Cache.Resolve("org/tiny@main")
	fmt.Println(dir == p.Dir, err)
	// Output:
	// config.json 22
	// model.safetensors 7
	// true <nil>
}
