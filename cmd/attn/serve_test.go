package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeVerbErrors: bad flags are refused before anything listens.
func TestServeVerbErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"embedded models, bad addr", []string{"serve", "--addr", "127.0.0.1:99999"}, "--addr"},
		{"bad spec", []string{"serve", "--model", "=x"}, "want DIR or NAME=DIR"},
		{"no slots", []string{"serve", "--model", "x", "--max-concurrent", "0"}, "max concurrent requests 0"},
		{"bad timeout", []string{"serve", "--model", "x", "--timeout", "-1s"}, "timeout"},
		{"bad decode batch", []string{"serve", "--model", "x", "--decode-batch", "-2"}, "decode batch of -2 rows"},
		{"bad addr", []string{"serve", "--model", "x", "--addr", "127.0.0.1:99999"}, "--addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runVerb(t, "", tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v: %v, want %q", tc.args, err, tc.want)
			}
		})
	}
}

// TestServeEmbedded: without --model, serve answers with the two
// embedded models, and stops when its context ends.
func TestServeEmbedded(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	resetFlags(rootCmd)
	rootCmd.SetOut(&bytes.Buffer{})
	rootCmd.SetErr(&bytes.Buffer{})
	rootCmd.SetArgs([]string{"serve", "--addr", addr, "--log-level", "error"})
	ctx, cancel := context.WithCancel(context.Background())
	// cobra hands a subcommand the root's context only while it has none;
	// an earlier test's Execute left serve one.
	serve, _, err := rootCmd.Find([]string{"serve"})
	if err != nil {
		t.Fatal(err)
	}
	serve.SetContext(ctx)
	done := make(chan error, 1)
	go func() { done <- rootCmd.ExecuteContext(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop when its context ended")
		}
	}()
	var ids []string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/v1/models")
		if err != nil {
			continue
		}
		var list struct {
			Data []struct{ ID string } `json:"data"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			continue
		}
		for _, m := range list.Data {
			ids = append(ids, m.ID)
		}
		break
	}
	if strings.Join(ids, ",") != "tiny-shakespeare-bert,tiny-shakespeare-gpt" {
		t.Errorf("models %v, want the two embedded ones", ids)
	}
}
