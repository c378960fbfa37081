package cli

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) centralCmd() *cobra.Command {
	return group("central", "Query Stockade Central and onboard secured clusters", a.whoamiCmd(), a.initBundleCmd())
}

func (a *app) whoamiCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "whoami",
		Short: "Show who Central takes the configured credentials to be",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(listFormats(), output) {
				return usagef("unknown output format %q (want %s)", output, strings.Join(listFormats(), ", "))
			}
			c, err := a.client("central whoami", false)
			if err != nil {
				return err
			}
			st, err := c.Whoami(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(a.env.Stdout, st.Raw)
			}
			user := printable(st.UserName)
			if st.Kind != "" {
				user += " (" + printable(st.Kind) + ")"
			}
			_, err = fmt.Fprintf(a.env.Stdout, "Central:  %s\nUser:     %s\nRole:     %s\n", c.Endpoint(), user, printable(st.Role))
			return err
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "format: "+strings.Join(listFormats(), ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(listFormats(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
