package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/attn-dev/attn/hub"
)

func init() {
	cmd := &cobra.Command{
		Use:   "rm NAME[@REVISION] ...",
		Short: "Remove pulled models from the local cache",
		Long: `rm deletes a pulled model from the cache: every revision of NAME, or only
NAME@REVISION (its files stay while another pulled revision shares them).`,
		Example: `  attn rm openai-community/gpt2
  attn rm openai-community/gpt2@main`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := hub.Home()
			if err != nil {
				return err
			}
			for _, name := range args {
				gone, err := hub.Cache{Dir: home}.Remove(name)
				if err != nil {
					return fmt.Errorf("rm %s: %w", name, err)
				}
				if len(gone) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "removed %s (its files stay: another revision shares them)\n", name)
				}
				for _, d := range gone {
					fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", d)
				}
			}
			return nil
		},
	}
	rootCmd.AddCommand(cmd)
}
