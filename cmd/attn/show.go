package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/attn-dev/attn/model"
	"github.com/spf13/cobra"
)

func init() {
	var dir string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show --model DIR",
		Short: "Describe a checkpoint: architecture, sizes, parameters, dtype, file size",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if dir == "" {
				return fmt.Errorf("show needs --model DIR")
			}
			m, err := model.Load(dir)
			if err != nil {
				return err
			}
			defer m.Close()
			info := m.Info()
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(info)
			}
			var dts []string
			for d, n := range info.DTypes {
				dts = append(dts, fmt.Sprintf("%s (%d)", d, n))
			}
			sort.Strings(dts)
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			row := func(k string, v any) { fmt.Fprintf(w, "%s\t%v\n", k, v) }
			row("architecture", info.Architecture+" ("+info.ModelType+")")
			if info.DecoderLayers > 0 {
				row("layers", fmt.Sprintf("encoder %d, decoder %d", info.Layers, info.DecoderLayers))
				row("heads", fmt.Sprintf("encoder %d, decoder %d", info.Heads, info.DecoderHeads))
			} else {
				row("layers", info.Layers)
				row("heads", info.Heads)
			}
			row("hidden size", info.Hidden)
			row("feed-forward", info.FFN)
			row("context", info.Context)
			if info.Vocab > 0 {
				row("vocabulary", info.Vocab)
			}
			row("parameters", fmt.Sprintf("%d (%s)", info.Params, humanCount(info.Params)))
			row("dtype", strings.Join(dts, ", "))
			row("file size", fmt.Sprintf("%d bytes (%s)", info.FileBytes, humanBytes(info.FileBytes)))
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "checkpoint directory (config.json + model.safetensors)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the description as JSON")
	rootCmd.AddCommand(cmd)
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
