package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/attn-dev/attn/generate"
	"github.com/attn-dev/attn/infer"
	"github.com/attn-dev/attn/internal/quote"
	"github.com/attn-dev/attn/model"
	"github.com/attn-dev/attn/tokenizer"
	"github.com/attn-dev/attn/viz"
	"github.com/spf13/cobra"
)

// attendFlags are the flags of attn attend.
type attendFlags struct {
	dir, text, target, image, stack, svg, png, color, trunc string
	window, ids, targetIDs                                  string
	layer, head, width, maxNew                              int
	average, rollout, asJSON, absolute                      bool
	dtype                                                   dtypeFlag
}

func init() {
	var f attendFlags
	cmd := &cobra.Command{
		Use: "attend [--model NAME|DIR] (--text TEXT | --image FILE) [--layer L --head H | --average | --rollout] [--svg F | --png F | --json]",
		Example: `  attn attend --text "To be, or not to be, that is the question."
  attn attend --text "O Romeo, Romeo, wherefore art thou Romeo?" --layer 1 --head 2
  attn attend --text "To be, or not to be" --svg heads.svg          # layers × heads
  attn attend --text "To be, or not to be" --rollout --png rollout.png
  attn attend --text "To be, or not to be" --json > attention.json
  attn attend --model testdata/models/vit --image testdata/infer/up.png --png overlay.png`,
		Short: "Show a model's attention: terminal heatmaps, SVG/PNG pictures or JSON",
		Long: `attend runs the model once on TEXT (tokenized with its special tokens) or,
for ViT, on the image FILE, and shows the attention weights: which tokens each
token looks at.

In a terminal: a heatmap per chosen layer and head (queries down, keys across,
viridis colours relative to the largest weight; a shade ramp " .:-=+*#%@" when
stdout is not a terminal or --color never) and, per token, the token it attends
to most with its weight. Without --layer/--head the terminal shows the last
layer's mean over heads.

--svg F / --png F draw one head (token labels on both axes), or, when several
layers or heads are chosen (the default: all), a model view of layers × heads
thumbnails. --json prints {"attention", "tokens", "query_tokens" (when the
queries differ from the keys), "layers", "heads", "reduce", "weights":
[layer][head][query][key]}.

--average takes the mean over heads; --rollout is attention rollout (Abnar &
Zuidema 2020: each layer's head mean, plus the identity for the residual,
rows renormalised, multiplied over the layers).

Encoder-decoders (Marian, BART): TEXT is the source; the target is --target
or the model's greedy translation; --attention cross (the default: target
tokens × source tokens), decoder (the decoder's self-attention) or self (the
encoder's). ViT: --image, and --png/--svg lay the [CLS] token's attention over
the patches on the image (default: rollout).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runAttend(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.dir, "model", "", "checkpoint directory with its tokenizer (or a ViT checkpoint)")
	fl.StringVar(&f.text, "text", "", "text to run (an encoder-decoder's source)")
	fl.StringVar(&f.ids, "ids", "", "token ids to run instead of a text, e.g. 1,2,3")
	fl.StringVar(&f.target, "target", "", "encoder-decoders: the target text (default: the model's greedy output)")
	fl.StringVar(&f.targetIDs, "target-ids", "", "encoder-decoders: the decoder's input ids instead of --target, its start token first")
	fl.IntVar(&f.maxNew, "max-new-tokens", 0, "encoder-decoders without --target: at most this many generated target tokens (0: the model's max_length)")
	fl.StringVar(&f.image, "image", "", "ViT: PNG or JPEG image to run")
	fl.StringVar(&f.stack, "attention", "", "self, decoder or cross (default: cross for encoder-decoders, else self)")
	fl.IntVar(&f.layer, "layer", 0, "only this layer (0-based)")
	fl.IntVar(&f.head, "head", 0, "only this head (0-based)")
	fl.BoolVar(&f.average, "average", false, "mean over heads")
	fl.BoolVar(&f.rollout, "rollout", false, "attention rollout over all layers (self-attention only)")
	fl.StringVar(&f.svg, "svg", "", "write an SVG picture to this file")
	fl.StringVar(&f.png, "png", "", "write a PNG picture to this file")
	fl.BoolVar(&f.asJSON, "json", false, "print the weights as JSON instead of heatmaps")
	fl.BoolVar(&f.absolute, "absolute", false, "colour weights from 0 to 1 (default: from 0 to the largest weight shown)")
	fl.StringVar(&f.window, "window", "", "draw only tokens A … B−1 (A:B) of the terminal heatmap and the pictures (default: what fits the terminal's width)")
	fl.StringVar(&f.color, "color", "auto", "terminal colours: auto, always (256 colours), truecolor or never")
	fl.IntVar(&f.width, "width", 0, "terminal width in columns (default: $COLUMNS or 100)")
	f.dtype.register(fl)
	registerTruncate(cmd, &f.trunc)
	rootCmd.AddCommand(cmd)
}

// attendView is what runAttend resolved from the flags.
type attendView struct {
	style  viz.Style
	width  int
	window []int // nil: what fits the terminal
	reduce string
}

func runAttend(cmd *cobra.Command, f *attendFlags) error {
	v, err := f.check(cmd)
	if err != nil {
		return err
	}
	t, err := loadAttend(f)
	if err != nil {
		return err
	}
	defer t.Close()
	req, err := f.request(cmd, t.Model, &v)
	if err != nil {
		return err
	}
	if f.image != "" {
		return attendImage(cmd, f, t, req, v)
	}
	return attendText(cmd, f, t, req, v)
}

// check validates the flags that need no model.
func (f *attendFlags) check(cmd *cobra.Command) (attendView, error) {
	var v attendView
	fl := cmd.Flags()
	layerSet, headSet := fl.Changed("layer"), fl.Changed("head")
	switch {
	case f.text == "" && fl.Changed("text"):
		return v, errors.New("--text is empty: give a text to run")
	case b2i(f.text != "")+b2i(f.ids != "")+b2i(f.image != "") != 1:
		return v, errors.New("attend needs exactly one of --text, --ids and --image")
	case f.target != "" && f.targetIDs != "":
		return v, errors.New("--target and --target-ids exclude each other")
	case f.average && f.rollout:
		return v, errors.New("--average and --rollout exclude each other")
	case headSet && (f.average || f.rollout):
		return v, errors.New("--head chooses one head: it excludes --average and --rollout")
	case layerSet && f.rollout:
		return v, errors.New("--rollout runs over all layers: it excludes --layer")
	case f.image != "" && (f.target != "" || f.targetIDs != "" || fl.Changed("attention")):
		return v, errors.New("--image (ViT) takes neither --target, --target-ids nor --attention")
	}
	var err error
	if v.style, err = termStyle(cmd, f.color); err != nil {
		return v, err
	}
	if v.width, err = termWidth(cmd, f.width); err != nil {
		return v, err
	}
	if err := intRange("max-new-tokens", f.maxNew, 0, math.MaxInt); err != nil {
		return v, err
	}
	v.window, err = parseWindow(f.window)
	return v, err
}

// request chooses the stack, layers and heads to capture for m, and how
// v reduces them.
func (f *attendFlags) request(cmd *cobra.Command, m model.Model, v *attendView) (viz.Request, error) {
	layerSet, headSet := cmd.Flags().Changed("layer"), cmd.Flags().Changed("head")
	req := viz.Request{Stack: viz.Stack(f.stack)}
	switch req.Stack {
	case "":
		req.Stack = viz.DefaultStack(m)
	case viz.Self, viz.Decoder, viz.Cross:
	default:
		return req, fmt.Errorf("--attention %q: want self, decoder or cross", f.stack)
	}
	if f.rollout && req.Stack == viz.Cross {
		return req, errors.New("--rollout needs self-attention (--attention self or decoder): cross-attention is not square")
	}
	nl, nh := viz.Shape(m, req.Stack)
	if nl == 0 {
		return req, fmt.Errorf("%s has no %s attention layers", m.Info().Architecture, req.Stack)
	}
	if layerSet {
		if err := intRange("layer", f.layer, 0, nl-1); err != nil {
			return req, fmt.Errorf("%w (the model's %s attention has %d layers)", err, req.Stack, nl)
		}
		req.Layers = []int{f.layer}
	}
	if headSet {
		if err := intRange("head", f.head, 0, nh-1); err != nil {
			return req, fmt.Errorf("%w (the model has %d heads)", err, nh)
		}
		req.Heads = []int{f.head}
	}
	pictures := f.svg != "" || f.png != ""
	switch {
	case f.average:
		v.reduce = "mean"
	case f.rollout:
		v.reduce = "rollout"
	case layerSet || headSet || f.asJSON:
	case f.image != "":
		v.reduce = "rollout" // the usual view of a ViT's [CLS] attention
	case !pictures:
		req.Layers, v.reduce = []int{nl - 1}, "mean" // a terminal: one heatmap
	}
	return req, nil
}

// attend runs viz.Attend and reduces its heads as reduce says.
func attend(m model.Model, req viz.Request, reduce string) (*viz.Attention, error) {
	a, err := viz.Attend(m, req)
	if err != nil {
		return nil, err
	}
	switch reduce {
	case "mean":
		err = a.Mean()
	case "rollout":
		err = a.Rollout()
	}
	return a, err
}

// attendText shows the attention of a text or ids (an encoder-decoder's
// source, with its target).
func attendText(cmd *cobra.Command, f *attendFlags, t *infer.Task, req viz.Request, v attendView) error {
	var err error
	if req.IDs, err = attendIDs(t, "text", f.text, f.ids, nil); err != nil {
		return err
	}
	keys, err := tokenLabels(t, req.IDs)
	if err != nil {
		return err
	}
	var queries []string
	if viz.DefaultStack(t.Model) == viz.Cross {
		if req.TargetIDs, err = attendTarget(t, f, req.IDs); err != nil {
			return err
		}
		if queries, err = tokenLabels(t, req.TargetIDs); err != nil {
			return err
		}
		switch req.Stack {
		case viz.Decoder:
			keys, queries = queries, nil
		case viz.Self:
			queries = nil
		}
	}
	a, err := attend(t.Model, req, v.reduce)
	if err != nil {
		return err
	}
	a.Tokens, a.QueryTokens = keys, queries
	if f.asJSON {
		return printJSON(cmd, a)
	}
	maps, rows, cols := attendMaps(a, f.scale())
	if win := v.window; win != nil {
		for _, row := range maps {
			for i, mp := range row {
				if win[0] >= min(len(mp.Queries), len(mp.Keys)) {
					return fmt.Errorf("--window %d:%d starts past the %d query and %d key tokens", win[0], win[1], len(mp.Queries), len(mp.Keys))
				}
				row[i] = windowed(mp.Window(win[0], win[1], win[0], win[1]), win[0], max(len(mp.Queries), len(mp.Keys)))
			}
		}
	}
	if err := writePictures(f, func(w io.Writer, fm viz.Format) error {
		if len(maps) == 1 && len(maps[0]) == 1 {
			return viz.Head(w, fm, maps[0][0])
		}
		return viz.Model(w, fm, viz.ModelView{Maps: maps, Layers: rows, Heads: cols})
	}); err != nil || f.svg != "" || f.png != "" {
		return err
	}
	out := cmd.OutOrStdout()
	fit := (v.width - 13) / 2 // keys beside a query label of up to 12 runes
	for _, row := range maps {
		for _, mp := range row {
			if n := max(len(mp.Queries), len(mp.Keys)); v.window == nil && n > fit {
				mp = windowed(mp.Window(0, fit, 0, fit), 0, n)
			}
			if err := viz.Terminal(out, mp, v.style, v.width); err != nil {
				return err
			}
			fmt.Fprintln(out)
		}
	}
	return nil
}

// attendImage shows a vision model's attention: the [CLS] row over the
// patches, laid over the image (--svg, --png) or as a patch grid in the
// terminal; --json as for text.
func attendImage(cmd *cobra.Command, f *attendFlags, t *infer.Task, req viz.Request, v attendView) error {
	m := t.Model
	if t.Tokenizer != nil {
		return fmt.Errorf("--image needs a vision model (ViT); %s is %s", f.dir, m.Info().Architecture)
	}
	p, err := infer.LoadImageProcessor(f.dir, m)
	if err != nil {
		return err
	}
	im, err := infer.DecodeImage(f.image)
	if err != nil {
		return err
	}
	if req.Pixels, err = p.Preprocess(im); err != nil {
		return err
	}
	patches := m.Info().Context - 1
	gw := int(math.Sqrt(float64(patches)))
	if gw*gw != patches {
		return fmt.Errorf("%d patches do not form a square grid", patches)
	}
	a, err := attend(m, req, v.reduce)
	if err != nil {
		return err
	}
	a.Tokens = viz.PatchTokens(patches, gw)
	if f.asJSON {
		return printJSON(cmd, a)
	}
	if len(a.Weights) != 1 || len(a.Weights[0]) != 1 {
		return errors.New("the image overlay shows one map: choose --layer with --head or --average, or --rollout")
	}
	cls := a.Weights[0][0][0][1:]
	maps, _, _ := attendMaps(a, f.scale())
	title := "[CLS] over the patches: " + maps[0][0].Title
	if err := writePictures(f, func(w io.Writer, fm viz.Format) error {
		return viz.Overlay(w, fm, viz.PatchMap{Title: title, Image: im, W: cls, GW: gw, GH: len(cls) / gw, Scale: f.scale()})
	}); err != nil || f.svg != "" || f.png != "" {
		return err
	}
	grid := viz.Map{Title: title, Scale: f.scale()}
	for r := range len(cls) / gw {
		grid.Queries = append(grid.Queries, fmt.Sprintf("row %d", r))
		grid.W = append(grid.W, cls[r*gw:(r+1)*gw])
	}
	for c := range gw {
		grid.Keys = append(grid.Keys, strconv.Itoa(c))
	}
	return viz.Terminal(cmd.OutOrStdout(), grid, v.style, v.width)
}

// termStyle is the heatmap style --color asks for: auto is colour only
// when the verb writes to a terminal.
func termStyle(cmd *cobra.Command, c string) (viz.Style, error) {
	switch c {
	case "auto":
		if f, ok := cmd.OutOrStdout().(*os.File); ok {
			return viz.DetectStyle(f), nil
		}
		return viz.Plain, nil
	case "always":
		return viz.ANSI256, nil
	case "truecolor":
		return viz.TrueColor, nil
	case "never":
		return viz.Plain, nil
	}
	return 0, fmt.Errorf("--color %q: want auto, always, truecolor or never", c)
}

// termWidth is a verb's --width: the value given (40 to 10000 columns),
// else $COLUMNS, else 100.
func termWidth(cmd *cobra.Command, width int) (int, error) {
	if cmd.Flags().Changed("width") {
		return width, intRange("width", width, 40, 10000)
	}
	if w, _ := strconv.Atoi(os.Getenv("COLUMNS")); w > 0 {
		return w, nil
	}
	return 100, nil
}

// loadAttend loads the model and, when the directory has one, its
// tokenizer: with --ids a model runs without one.
func loadAttend(f *attendFlags) (*infer.Task, error) {
	tr, err := parseTruncate(f.trunc)
	if err != nil {
		return nil, err
	}
	m, err := f.dtype.loadModel(f.dir)
	if err != nil {
		return nil, err
	}
	t := &infer.Task{Model: m, Dir: f.dir, Truncate: tr}
	if m.Info().Vocab > 0 {
		t.Tokenizer, err = tokenizer.Load(f.dir)
		if err != nil && (f.ids == "" || !errors.Is(err, tokenizer.ErrNoTokenizer)) {
			m.Close()
			return nil, fmt.Errorf("%s has no usable tokenizer (give token ids with --ids): %w", f.dir, err)
		}
	}
	return t, nil
}

// attendIDs returns the ids to run: --ids (idsFlag) parsed, or text
// tokenized with encode (default: the model's tokenizer) with special
// tokens; what exceeds the model's context is refused or cut
// (--truncate).
func attendIDs(t *infer.Task, what, text, idsFlag string, encode func(string, bool) ([]int, error)) ([]int, error) {
	var ids []int
	var err error
	if idsFlag != "" {
		flag := map[string]string{"text": "--ids", "target": "--target-ids"}[what]
		if ids, err = tokenizer.ParseIDs([]byte(idsFlag)); err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("%s is empty", flag)
		}
		if v := t.Model.Info().Vocab; v > 0 {
			for _, id := range ids {
				if id < 0 || id >= v {
					return nil, fmt.Errorf("%s: id %d outside the model's vocabulary of %d", flag, id, v)
				}
			}
		}
	} else {
		if t.Tokenizer == nil {
			return nil, fmt.Errorf("%s has no tokenizer: give token ids (--ids, --target-ids) instead of text", t.Dir)
		}
		if encode == nil {
			encode = t.Tokenizer.Encode
		}
		if ids, err = encode(text, true); err != nil {
			return nil, fmt.Errorf("tokenizing the %s: %w", what, err)
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("the %s %s has no tokens", what, quote.Short(text))
		}
	}
	if limit := t.Model.Info().Context; limit > 0 && len(ids) > limit {
		switch t.Truncate {
		case infer.TruncateLeft:
			ids = ids[len(ids)-limit:]
		case infer.TruncateRight:
			ids = ids[:limit]
		default:
			return nil, contextHint(&infer.ContextError{What: what, Tokens: len(ids), Limit: limit})
		}
	}
	return ids, nil
}

// tokenLabels spells ids with the model's tokenizer, or as numbers
// without one.
func tokenLabels(t *infer.Task, ids []int) ([]string, error) {
	if t.Tokenizer != nil {
		return tokenizer.Tokens(t.Tokenizer, ids)
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return s, nil
}

// targetEncoder is a tokenizer with a target-language vocabulary (Marian).
type targetEncoder interface {
	EncodeTarget(text string, addSpecial bool) ([]int, error)
}

// attendTarget returns an encoder-decoder's decoder ids for source src:
// --target-ids, or the decoder start token then --target's tokens or the
// model's greedy output.
func attendTarget(t *infer.Task, f *attendFlags, src []int) ([]int, error) {
	if f.targetIDs != "" {
		return attendIDs(t, "target", "", f.targetIDs, nil)
	}
	cfg, err := generate.LoadConfig(f.dir)
	if err != nil {
		return nil, err
	}
	if cfg.DecoderStartTokenID < 0 {
		return nil, fmt.Errorf("%s names no decoder_start_token_id", f.dir)
	}
	start := []int{cfg.DecoderStartTokenID}
	if f.target != "" {
		var encode func(string, bool) ([]int, error)
		if te, ok := t.Tokenizer.(targetEncoder); ok {
			encode = te.EncodeTarget
		}
		ids, err := attendIDs(t, "target", f.target, "", encode)
		if err != nil {
			return nil, err
		}
		if len(ids) == t.Model.Info().Context {
			ids = ids[:len(ids)-1] // room for the start token
		}
		return append(start, ids...), nil
	}
	g, err := infer.NewGenerator(t.Model, f.dir)
	if err != nil {
		return nil, err
	}
	cfg.DoSample, cfg.NumBeams, cfg.NumReturnSequences = false, 1, 1
	cfg.MaxNewTokens = f.maxNew
	res, err := g.Generate(infer.Request{PromptIDs: src, Config: cfg})
	if err != nil {
		return nil, fmt.Errorf("generating the target: %w", contextHint(err))
	}
	return append(start, res.IDs...), nil
}

// attendMaps turns captured weights into Maps [layer][head] with their
// row and column names.
func attendMaps(a *viz.Attention, scale float32) (maps [][]viz.Map, rows, cols []string) {
	queries := a.QueryTokens
	if queries == nil {
		queries = a.Tokens
	}
	name := func(l, h int) string {
		switch {
		case a.Reduce == "rollout":
			return fmt.Sprintf("%s attention rollout over all layers", a.Stack)
		case a.Heads == nil:
			return fmt.Sprintf("%s attention, layer %d, mean over heads", a.Stack, a.Layers[l])
		}
		return fmt.Sprintf("%s attention, layer %d, head %d", a.Stack, a.Layers[l], a.Heads[h])
	}
	maps = make([][]viz.Map, len(a.Weights))
	for l, heads := range a.Weights {
		if a.Layers != nil {
			rows = append(rows, fmt.Sprintf("L%d", a.Layers[l]))
		}
		for h, w := range heads {
			maps[l] = append(maps[l], viz.Map{Title: name(l, h), Queries: queries, Keys: a.Tokens, W: w, Scale: scale})
		}
	}
	for _, h := range a.Heads {
		cols = append(cols, fmt.Sprintf("H%d", h))
	}
	if a.Heads == nil {
		cols = []string{a.Reduce}
	}
	return maps, rows, cols
}

// writePictures writes the --svg and --png files that draw asks for.
func writePictures(f *attendFlags, draw func(io.Writer, viz.Format) error) error {
	for _, out := range []struct {
		path string
		fm   viz.Format
	}{{f.svg, viz.SVG}, {f.png, viz.PNG}} {
		if out.path == "" {
			continue
		}
		var b bytes.Buffer
		if err := draw(&b, out.fm); err != nil {
			return err
		}
		if err := os.WriteFile(out.path, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing the picture: %w", err)
		}
	}
	return nil
}

// scale is the weight drawn brightest: 1 with --absolute, else 0 (the
// largest shown).
func (f *attendFlags) scale() float32 {
	if f.absolute {
		return 1
	}
	return 0
}

// parseWindow parses --window A:B (nil when unset).
func parseWindow(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	a, b, ok := strings.Cut(s, ":")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || lo < 0 || hi <= lo {
		return nil, fmt.Errorf("--window %s: want A:B, token positions with 0 ≤ A < B", quote.Short(s))
	}
	return []int{lo, hi}, nil
}

// windowed notes in m's title which tokens of n a window from lo shows.
func windowed(m viz.Map, lo, n int) viz.Map {
	hi := lo + max(len(m.Queries), len(m.Keys))
	if lo == 0 && hi >= n {
		return m
	}
	m.Title += fmt.Sprintf(" (tokens %d … %d of %d; --window A:B for others)", lo, hi-1, n)
	return m
}
