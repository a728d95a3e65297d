package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/attn-dev/attn/embedded"
	"github.com/attn-dev/attn/server"
)

func init() {
	var specs []string
	var addr, apiKey string
	var open bool
	var dtype dtypeFlag
	lim := server.DefaultLimits()
	drain := server.DefaultDrainTimeout
	cmd := &cobra.Command{
		Use:   "serve [--model NAME|DIR|NAME=DIR ...] [--addr 127.0.0.1:8080] [--open]",
		Short: "Serve models over an OpenAI-compatible HTTP API, with the attention explorer at /",
		Example: `  attn serve --open
  attn serve --model gpt2=testdata/generate/tiny-random-gpt2 --addr 127.0.0.1:8081
  attn pull gpt2 && attn serve --model gpt2 --dtype bf16 --max-concurrent 4
  curl -s 127.0.0.1:8080/v1/completions -d '{"model":"tiny-shakespeare-gpt","prompt":"ROMEO:","max_tokens":20}'`,
		Long: `serve loads each --model once and answers /v1/models, /v1/completions,
/v1/chat/completions, /v1/embeddings (OpenAI's shapes, streaming as server-sent
events), /api/tokenize, /api/detokenize, /api/fill-mask, /api/classify,
/api/translate, /api/attention, /health and /metrics (Prometheus), and
serves the web explorer at / (head, model, step-by-step, embedding,
generation and image views of attention; --open opens it in your browser).
It binds 127.0.0.1 unless --addr says otherwise; SIGTERM or SIGINT drains
the requests in flight, then exits. Without --model it serves the two
embedded models. See the server package's documentation for the API.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var models []server.ModelSpec
			if len(specs) == 0 {
				for _, name := range []string{embedded.GPT, embedded.Encoder} {
					dir, err := useEmbedded(cmd, name)
					if err != nil {
						return err
					}
					models = append(models, server.ModelSpec{Name: name, Dir: dir})
				}
			}
			for _, s := range specs {
				m, err := server.ParseModelSpec(s)
				if err != nil {
					return err
				}
				models = append(models, m)
			}
			opts, err := dtype.options()
			if err != nil {
				return err
			}
			if apiKey == "" {
				apiKey = os.Getenv("ATTN_API_KEY")
			}
			// One line per request is the server's log: info level
			// unless --log-level says otherwise.
			logger := slog.Default()
			if f := cmd.Flags().Lookup("log-level"); f == nil || !f.Changed {
				logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
			}
			s, err := server.New(server.Config{Limits: lim, APIKey: apiKey, Logger: logger})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--addr: %w", err)
			}
			for i := range models {
				if models[i].Dir, err = modelDir(models[i].Dir); err != nil {
					ln.Close()
					return err
				}
			}
			url := "http://" + ln.Addr().String() + "/"
			if open {
				if err := openBrowser(url); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "attn: could not open a browser (%v): open %s yourself\n", err, url)
				}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return s.Run(ctx, ln, models, drain, opts...)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&specs, "model", nil, "checkpoint directory or pulled name, or NAME=DIR (repeatable)")
	f.BoolVar(&open, "open", false, "open the explorer in the default browser")
	f.StringVar(&addr, "addr", server.DefaultAddr, "listen address (loopback unless you choose otherwise)")
	f.StringVar(&apiKey, "api-key", "", "require Authorization: Bearer KEY (default: $ATTN_API_KEY; none when empty)")
	f.Int64Var(&lim.MaxBodyBytes, "max-body-bytes", lim.MaxBodyBytes, "largest request body (413 beyond)")
	f.IntVar(&lim.MaxInputTokens, "max-input-tokens", lim.MaxInputTokens, "most tokens of one input (422 beyond)")
	f.IntVar(&lim.MaxNewTokens, "max-new-tokens", lim.MaxNewTokens, "largest max_tokens (400 beyond)")
	f.IntVar(&lim.MaxConcurrent, "max-concurrent", lim.MaxConcurrent, "requests computing at once")
	f.IntVar(&lim.MaxQueue, "max-queue", lim.MaxQueue, "requests waiting for a slot (429 beyond)")
	f.IntVar(&lim.DecodeBatch, "decode-batch", lim.DecodeBatch, "rows that the concurrent generations of a GPT-2 model of 8M+ parameters decode in one shared step (0: each decodes alone)")
	f.DurationVar(&lim.Timeout, "timeout", lim.Timeout, "per-request deadline, queueing included")
	f.DurationVar(&drain, "drain-timeout", drain, "how long SIGTERM waits for requests in flight")
	dtype.register(f)
	addThreadsFlag(cmd)
	rootCmd.AddCommand(cmd)
}

// openBrowser asks the desktop to open url, without waiting for it.
func openBrowser(url string) error {
	var c *exec.Cmd
	switch runtime.GOOS {
	case "darwin":
		c = exec.Command("open", url)
	case "windows":
		c = exec.Command("rundll32", "url.dll,FileProtocolHandler", url)
	default:
		c = exec.Command("xdg-open", url)
	}
	if err := c.Start(); err != nil {
		return err
	}
	go c.Wait() //nolint:errcheck // the browser's exit status says nothing about the server
	return nil
}
