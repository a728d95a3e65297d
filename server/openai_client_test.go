package server

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientScript uses the official openai npm package, unchanged but for
// its base URL: list models, complete, stream, embed (base64, the SDK's
// default, decoded by the SDK).
const clientScript = `
const OpenAI = require("openai");
const client = new OpenAI({ baseURL: process.env.BASE_URL, apiKey: "test-key" });
(async () => {
  const models = await client.models.list();
  const ids = models.data.map((m) => m.id).sort();
  if (ids.join(",") !== "bert,gpt,marian,vit") throw new Error("models: " + ids);
  const c = await client.completions.create({ model: "gpt", prompt: "Hello", max_tokens: 4, temperature: 0 });
  if (c.usage.completion_tokens !== 4 || typeof c.choices[0].text !== "string") throw new Error("completion: " + JSON.stringify(c));
  const stream = await client.chat.completions.create({ model: "gpt", messages: [{ role: "user", content: "Hi" }],
    max_tokens: 5, temperature: 0, stream: true, stream_options: { include_usage: true } });
  let text = "", usage = null, finish = null;
  for await (const chunk of stream) {
    for (const ch of chunk.choices) { text += ch.delta.content || ""; finish = ch.finish_reason || finish; }
    if (chunk.usage) usage = chunk.usage;
  }
  const whole = await client.chat.completions.create({ model: "gpt", messages: [{ role: "user", content: "Hi" }], max_tokens: 5, temperature: 0 });
  if (text !== whole.choices[0].message.content || !usage || usage.completion_tokens !== 5 || finish !== "length")
    throw new Error("stream: " + JSON.stringify({ text, usage, finish, whole }));
  const e = await client.embeddings.create({ model: "bert", input: ["hello world", "bye"] });
  if (e.data.length !== 2 || e.data[0].embedding.length !== 8 || !e.data[0].embedding.every(Number.isFinite))
    throw new Error("embeddings: " + JSON.stringify(e));
  try {
    await client.completions.create({ model: "nope", prompt: "x" });
    throw new Error("unknown model accepted");
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  console.log("ok");
})().catch((err) => { console.error(err); process.exit(1); });
`

// TestOpenAINodeClient runs the official openai npm client against the
// server on 127.0.0.1. It is skipped (with the reason) when node or npm
// is absent or the package cannot be installed.
func TestOpenAINodeClient(t *testing.T) {
	if testing.Short() {
		t.Skip("installs the openai npm package")
	}
	node, err1 := exec.LookPath("node")
	npm, err2 := exec.LookPath("npm")
	if err1 != nil || err2 != nil {
		t.Skip("node or npm not found: the OpenAI client test needs both")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	install := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--silent", "openai")
	install.Dir = dir
	if out, err := install.CombinedOutput(); err != nil {
		t.Skipf("npm install openai failed (offline?): %v\n%s", err, out)
	}
	if pkg, err := os.ReadFile(filepath.Join(dir, "node_modules", "openai", "package.json")); err == nil {
		var v struct{ Version string }
		_ = json.Unmarshal(pkg, &v)
		t.Logf("openai npm package %s", v.Version)
	}
	if err := os.WriteFile(filepath.Join(dir, "client.js"), []byte(clientScript), 0o644); err != nil {
		t.Fatal(err)
	}
	s, ts := newTestServer(t, DefaultLimits(), "test-key")
	ts.Close() // serve on a listener we choose: loopback, random port
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go serveOn(ln, s)
	defer ln.Close()
	run := exec.CommandContext(ctx, node, "client.js")
	run.Dir = dir
	run.Env = append(os.Environ(), "BASE_URL=http://"+ln.Addr().String()+"/v1")
	out, err := run.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("node client: %v\n%s", err, out)
	}
}
