package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/attn-dev/attn/train"
	"github.com/spf13/cobra"
)

func init() {
	cmd := &cobra.Command{
		Use:     "plot OUT",
		Example: `  attn train --preset tiny-char && attn plot out-tiny-char`,
		Short:   "Draw the loss curves of a training run (OUT/log.jsonl) to OUT/loss.png and OUT/loss.svg",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := args[0]
			rs, err := train.ReadLog(filepath.Join(out, "log.jsonl"))
			if err != nil {
				return err
			}
			img, err := train.PlotPNG(rs)
			if err != nil {
				return err
			}
			svg, err := train.PlotSVG(rs)
			if err != nil {
				return err
			}
			for name, data := range map[string][]byte{"loss.png": img, "loss.svg": svg} {
				if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
					return fmt.Errorf("plot: %w", err)
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s\n%s\n", filepath.Join(out, "loss.png"), filepath.Join(out, "loss.svg"))
			return nil
		},
	}
	rootCmd.AddCommand(cmd)
}
