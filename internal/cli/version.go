package cli

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/stockade-dev/stockade/internal/version"
)

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print stockade's version, commit and build date",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(a.env.Stdout, "stockade %s\ncommit:  %s\nbuilt:   %s\ngo:      %s %s/%s\n",
				version.Version, version.Commit, version.Date, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
