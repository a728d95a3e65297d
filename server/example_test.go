package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/attn-dev/attn/server"
)

// Serve a checkpoint and ask for an OpenAI-style completion (temperature
// 0: greedy) of prompt ids. (The model's random weights make the text
// itself noise, so it is not printed.)
func ExampleNew() {
	s, err := server.New(server.Config{
		Limits: server.DefaultLimits(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), // quiet
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	if err := s.Load("tiny-gpt2", "../testdata/generate/tiny-random-gpt2"); err != nil {
		fmt.Println(err)
		return
	}
	s.Ready()
	ts := httptest.NewServer(s) // or http.ListenAndServe(server.DefaultAddr, s), or s.Run
	defer ts.Close()

	body := `{"model": "tiny-gpt2", "prompt": [0, 0, 195, 731], "max_tokens": 6, "temperature": 0}`
	resp, err := http.Post(ts.URL+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	var c struct {
		Object  string
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		}
		Usage struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, c.Object, len(c.Choices), c.Choices[0].FinishReason)
	fmt.Println(c.Usage.PromptTokens, c.Usage.CompletionTokens)
	// Output:
	// 200 text_completion 1 length
	// 4 6
}
