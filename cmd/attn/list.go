package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/attn-dev/attn/embedded"
	"github.com/attn-dev/attn/hub"
)

func init() {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the models pulled into the local cache",
		Long: `list shows each pulled NAME@REVISION with its commit, size and directory
($ATTN_HOME, default ~/.cache/attn). A pull that did not finish shows as
incomplete: running the same attn pull again resumes it.`,
		Example: `  attn list
  attn list --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			home, err := hub.Home()
			if err != nil {
				return err
			}
			entries, err := hub.Cache{Dir: home}.List()
			if err != nil {
				return err
			}
			if asJSON {
				if entries == nil {
					entries = []hub.Entry{}
				}
				return printJSON(cmd, entries)
			}
			inside := fmt.Sprintf("inside attn (no pull needed; used when --model is not given): %s\n", strings.Join(embedded.Names(), ", "))
			if len(entries) == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "no models in %s yet; fetch one with: attn pull openai-community/gpt2\n", home)
				fmt.Fprint(cmd.OutOrStdout(), inside)
				return nil
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tREVISION\tCOMMIT\tSIZE\tDIRECTORY")
			for _, e := range entries {
				rev := e.Revision
				if !e.Complete {
					rev = "(incomplete)"
				}
				fmt.Fprintf(w, "%s\t%s\t%.12s\t%s\t%s\n", e.Name, rev, e.Commit, humanBytes(e.Bytes), e.Dir)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), "\n"+inside)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print a JSON array of {name, revision, commit, dir, bytes, files, complete}")
	rootCmd.AddCommand(cmd)
}
