package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/stockade-dev/stockade/internal/client"
	"github.com/stockade-dev/stockade/internal/initbundle"
)

func (a *app) initBundleCmd() *cobra.Command {
	return group("init-bundle", "Generate, list and revoke the init bundles secured clusters connect with",
		a.initBundleGenerateCmd(), a.initBundleListCmd(), a.initBundleRevokeCmd())
}

func (a *app) initBundleGenerateCmd() *cobra.Command {
	var output, namespace string
	cmd := &cobra.Command{
		Use:   "generate NAME",
		Short: "Generate an init bundle and write it as Kubernetes Secrets",
		Long: `Generate an init bundle: client certificates for a secured cluster's Sensor
and admission control, issued by Central, and the CA that signed Central's
certificate, as the Secrets stockade-sensor-tls and stockade-admission-tls in
namespace stockade (or --namespace). Install them in the cluster with kubectl apply -f FILE, or
give the file to stockade-sensor --init-bundle FILE.

The file holds private keys: it is written with mode 0600, and never over an
existing file. Central keeps no copy of the keys; without -o the bundle goes
to standard output.`,
		Args: exactArgs(1, "the bundle's name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client("central init-bundle generate", false)
			if err != nil {
				return err
			}
			if output != "" {
				if _, err := os.Lstat(output); err == nil {
					return usagef("%s exists; remove it or pick another file (an init bundle is never written over a file)", output)
				}
			}
			if msgs := validation.IsDNS1123Label(namespace); len(msgs) > 0 {
				return usagef("--namespace %q: %s", namespace, strings.Join(msgs, "; "))
			}
			b, err := c.GenerateInitBundle(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if namespace != initbundle.Namespace {
				bundle, err := initbundle.Parse(b.KubectlBundle)
				if err != nil {
					return fmt.Errorf("read the init bundle Central sent: %w", err)
				}
				if b.KubectlBundle, err = bundle.RenderIn(namespace); err != nil {
					return err
				}
			}
			if output == "" {
				_, err := a.env.Stdout.Write(b.KubectlBundle)
				return err
			}
			if err := writeSecretFile(output, b.KubectlBundle); err != nil {
				return err
			}
			a.stderrf("Init bundle %q (%s) written to %s; it expires on %s.\n", printable(b.Meta.Name), printable(b.Meta.ID),
				output, b.Meta.ExpiresAt.UTC().Format(time.DateOnly))
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write the Secrets YAML to, mode 0600 (default: standard output)")
	cmd.Flags().StringVar(&namespace, "namespace", initbundle.Namespace, "the `NAMESPACE` Sensor is installed in (as given to sensor generate k8s)")
	return cmd
}

// writeSecretFile creates path with mode 0600, refusing an existing file.
func writeSecretFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return usagef("write init bundle: %w", err)
	}
	_, err = f.Write(data)
	// A failed close can mean the data never reached the disk.
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// Best effort: the partial file is ours, the write error matters.
		_ = os.Remove(path)
		return fmt.Errorf("write init bundle %s: %w", path, err)
	}
	return nil
}

func (a *app) initBundleListCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List init bundles (never their keys)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(listFormats(), output) {
				return usagef("unknown output format %q (want %s)", output, strings.Join(listFormats(), ", "))
			}
			c, err := a.client("central init-bundle list", false)
			if err != nil {
				return err
			}
			items, err := c.ListInitBundles(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				if items == nil {
					items = []client.InitBundleMeta{}
				}
				return writeJSON(a.env.Stdout, struct {
					Items []client.InitBundleMeta `json:"items"`
				}{items})
			}
			return writeInitBundleTable(a.env.Stdout, items)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "format: "+strings.Join(listFormats(), ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(listFormats(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func writeInitBundleTable(w io.Writer, items []client.InitBundleMeta) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if _, err := fmt.Fprintln(tw, "NAME\tID\tCREATED\tEXPIRES\tCREATED BY\tSTATUS\tCLUSTERS"); err != nil {
		return err
	}
	for _, b := range items {
		status := "valid"
		if b.Revoked {
			status = "revoked"
		}
		var clusters []string
		for _, c := range b.ImpactedClusters {
			clusters = append(clusters, printable(c.Name))
		}
		if len(clusters) == 0 {
			clusters = []string{"-"}
		}
		if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(b.Name), printable(b.ID),
			b.CreatedAt.UTC().Format(time.DateOnly), b.ExpiresAt.UTC().Format(time.DateOnly), printable(b.CreatedBy), status,
			strings.Join(clusters, ",")); err != nil {
			return err
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d init %s\n", len(items), plural(len(items), "bundle", "bundles"))
	return err
}

func (a *app) initBundleRevokeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID_OR_NAME",
		Short: "Revoke an init bundle: Sensors using it are disconnected and refused",
		Args:  exactArgs(1, "the bundle's id or name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client("central init-bundle revoke", false)
			if err != nil {
				return err
			}
			b, err := findInitBundle(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			if err := c.RevokeInitBundle(cmd.Context(), b.ID); err != nil {
				return err
			}
			if _, err := fmt.Fprintf(a.env.Stdout, "Revoked init bundle %q (%s).\n", printable(b.Name), printable(b.ID)); err != nil {
				return err
			}
			for _, cl := range b.ImpactedClusters {
				a.note("the Sensor of cluster %q used this bundle and cannot connect until it gets a new one", printable(cl.Name))
			}
			return nil
		},
	}
}

// findInitBundle picks the bundle with id, else the one not revoked named
// name (case-insensitively), else a revoked one of that name.
func findInitBundle(ctx context.Context, c *client.Client, idOrName string) (client.InitBundleMeta, error) {
	items, err := c.ListInitBundles(ctx)
	if err != nil {
		return client.InitBundleMeta{}, err
	}
	var revoked *client.InitBundleMeta
	for _, b := range items {
		if b.ID == idOrName {
			return b, nil
		}
	}
	for i, b := range items {
		if strings.EqualFold(b.Name, idOrName) {
			if !b.Revoked {
				return b, nil
			}
			revoked = &items[i]
		}
	}
	if revoked != nil {
		return *revoked, nil
	}
	return client.InitBundleMeta{}, usageErr(errors.New("no init bundle has the id or name " + strings.TrimSpace(printable(idOrName)) + " (see stockade central init-bundle list)"))
}
