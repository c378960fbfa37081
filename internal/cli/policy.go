package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stockade-dev/stockade/internal/client"
	"github.com/stockade-dev/stockade/internal/policy"
)

func (a *app) policyCmd() *cobra.Command {
	return group("policy", "List, get, import, export and validate policies",
		a.policyListCmd(), a.policyGetCmd(), a.policyImportCmd(), a.policyExportCmd(), a.policyValidateCmd())
}

func listFormats() []string { return []string{"table", "json"} }

func (a *app) policyListCmd() *cobra.Command {
	var (
		offline bool
		output  string
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List Central's policies, or the built-in ones with --offline",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(listFormats(), output) {
				return usagef("unknown output format %q (want %s)", output, strings.Join(listFormats(), ", "))
			}
			sums, err := a.policySummaries(cmd.Context(), offline)
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(a.env.Stdout, struct {
					Policies []client.PolicySummary `json:"policies"`
				}{sums})
			}
			return writePolicyTable(a.env.Stdout, sums)
		},
	}
	cmd.Flags().BoolVar(&offline, "offline", false, "list the built-in policies instead of Central's")
	cmd.Flags().StringVarP(&output, "output", "o", "table", "format: "+strings.Join(listFormats(), ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(listFormats(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) policySummaries(ctx context.Context, offline bool) ([]client.PolicySummary, error) {
	if offline {
		if a.conn.endpoint != "" {
			return nil, usagef("--offline and --endpoint both given; pass one")
		}
		ps, err := policy.Builtin()
		if err != nil {
			return nil, err
		}
		out := make([]client.PolicySummary, len(ps))
		for i, p := range ps {
			out[i] = summarize(p)
		}
		return out, nil
	}
	c, err := a.client("policy list", true)
	if err != nil {
		return nil, err
	}
	return c.ListPolicies(ctx)
}

func summarize(p *policy.Policy) client.PolicySummary {
	s := client.PolicySummary{
		ID: p.ID, Name: p.Name, Description: p.Description, Severity: string(p.Severity),
		Disabled: p.Disabled, Categories: p.Categories, IsDefault: p.IsDefault,
		LifecycleStages: []string{}, EnforcementActions: []string{},
	}
	for _, st := range p.LifecycleStages {
		s.LifecycleStages = append(s.LifecycleStages, string(st))
	}
	for _, e := range p.EnforcementActions {
		s.EnforcementActions = append(s.EnforcementActions, string(e))
		if e != policy.EnforceUnset {
			s.Enforcement = true
		}
	}
	return s
}

func writePolicyTable(w io.Writer, sums []client.PolicySummary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if _, err := fmt.Fprintln(tw, "NAME\tSEVERITY\tLIFECYCLE\tENFORCED\tSTATUS\tID"); err != nil {
		return err
	}
	for _, s := range sums {
		enforced, status := "-", "enabled"
		if s.Enforcement {
			enforced = "yes"
		}
		if s.Disabled {
			status = "disabled"
		}
		if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", printable(s.Name), policy.Severity(s.Severity).Short(),
			printable(strings.Join(s.LifecycleStages, ",")), enforced, status, printable(s.ID)); err != nil {
			return err
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "%d %s\n", len(sums), plural(len(sums), "policy", "policies"))
	return err
}

func (a *app) policyGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Print one of Central's policies in ACS policy JSON",
		Args:  exactArgs(1, "one policy id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.client("policy get", false)
			if err != nil {
				return err
			}
			raw, err := c.GetPolicy(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return writeJSON(a.env.Stdout, raw)
		},
	}
}

func (a *app) policyImportCmd() *cobra.Command {
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "import FILE_OR_DIR…",
		Short: "Import policies (ACS policy JSON or YAML) into Central",
		Long: `Import policies into Central. Each file holds a policy, a list of policies or
an export object {"policies": […]}, in JSON or YAML; directories are read for
*.json, *.yaml and *.yml. Every policy is validated locally first; nothing is
sent when one is invalid. Central imports all of them or none.`,
		Args: minArgs(1, "at least one policy file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ps, err := loadPolicies(args)
			if err != nil {
				return usageErr(err)
			}
			c, err := a.client("policy import", false)
			if err != nil {
				return err
			}
			body, err := policy.Export(ps)
			if err != nil {
				return err
			}
			resp, err := c.ImportPolicies(cmd.Context(), body, overwrite)
			if err != nil {
				return err
			}
			// The whole answer is in hand: build the report, then write it
			// once and check that write.
			var report strings.Builder
			failed := 0
			for _, r := range resp.Responses {
				if r.Succeeded {
					fmt.Fprintf(&report, "imported %q (%s)\n", printable(r.Policy.Name), printable(r.Policy.ID))
					continue
				}
				failed++
				fmt.Fprintf(&report, "not imported %q:\n", printable(r.Policy.Name))
				for _, e := range r.Errors {
					fmt.Fprintf(&report, "  %s\n", printable(e.Message))
					for _, d := range e.Details {
						fmt.Fprintf(&report, "    %s: %s\n", printable(d.Path), printable(d.Message))
					}
				}
			}
			_, werr := io.WriteString(a.env.Stdout, report.String())
			// Central's refusal outranks a failed write: it is what the
			// exit status must say.
			if !resp.AllSucceeded || failed > 0 {
				return &ExitError{Code: ExitCentral, Err: fmt.Errorf("central refused the import: %d of %d %s not imported%s",
					failed, len(resp.Responses), plural(len(resp.Responses), "policy", "policies"), overwriteHint(resp, overwrite))}
			}
			if werr != nil {
				return werr
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace policies with the same id or name")
	return cmd
}

func overwriteHint(resp *client.ImportResponse, overwrite bool) string {
	if overwrite {
		return ""
	}
	for _, r := range resp.Responses {
		for _, e := range r.Errors {
			if strings.HasPrefix(e.Type, "duplicate_") {
				return " (--overwrite replaces existing policies)"
			}
		}
	}
	return ""
}

func (a *app) policyExportCmd() *cobra.Command {
	var (
		offline bool
		outFile string
	)
	cmd := &cobra.Command{
		Use:   "export [ID…]",
		Short: "Export policies as ACS policy JSON ({\"policies\": […]}), all when no id is given",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, ids []string) error {
			var doc []byte
			if offline {
				if a.conn.endpoint != "" {
					return usagef("--offline and --endpoint both given; pass one")
				}
				ps, err := builtinByID(ids)
				if err != nil {
					return usageErr(err)
				}
				if doc, err = policy.Export(ps); err != nil {
					return err
				}
			} else {
				c, err := a.client("policy export", true)
				if err != nil {
					return err
				}
				raws, err := c.ExportPolicies(cmd.Context(), ids)
				if err != nil {
					return err
				}
				var buf bytes.Buffer
				if err := writeJSON(&buf, struct {
					Policies []json.RawMessage `json:"policies"`
				}{raws}); err != nil {
					return err
				}
				doc = buf.Bytes()
			}
			if outFile == "" || outFile == "-" {
				_, err := a.env.Stdout.Write(doc)
				return err
			}
			if err := writeFileAtomic(outFile, doc); err != nil {
				return err
			}
			var n struct {
				Policies []json.RawMessage `json:"policies"`
			}
			_ = json.Unmarshal(doc, &n)
			a.stderrf("exported %d %s to %s\n", len(n.Policies), plural(len(n.Policies), "policy", "policies"), outFile)
			return nil
		},
	}
	cmd.Flags().BoolVar(&offline, "offline", false, "export the built-in policies instead of Central's")
	cmd.Flags().StringVarP(&outFile, "output", "o", "", "write to FILE instead of stdout")
	_ = cmd.MarkFlagFilename("output", "json")
	return cmd
}

// builtinByID returns the built-in policies with the ids, all when none.
func builtinByID(ids []string) ([]*policy.Policy, error) {
	ps, err := policy.Builtin()
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return ps, nil
	}
	var out []*policy.Policy
	for _, id := range ids {
		i := slices.IndexFunc(ps, func(p *policy.Policy) bool { return p.ID == id })
		if i < 0 {
			return nil, fmt.Errorf("no built-in policy has the id %q (see stockade policy list --offline)", id)
		}
		out = append(out, ps[i])
	}
	return out, nil
}

func (a *app) policyValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE_OR_DIR…",
		Short: "Check policy files (ACS policy JSON or YAML) locally",
		Long: `Check policy files without Central: syntax, known fields, criteria and their
values. Every problem is printed with its file and field path, such as
policySections[0].policyGroups[1].values[0].value. Exits 2 when any file has
a problem.`,
		Args: minArgs(1, "at least one policy file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			files, err := policyFiles(args)
			if err != nil {
				return usageErr(err)
			}
			bad, total := 0, 0
			out := a.env.Stdout
			for _, f := range files {
				problems, notes, n := validateFile(f)
				total += n
				if len(problems) == 0 {
					if _, err := fmt.Fprintf(out, "%s: ok (%d %s)\n", f, n, plural(n, "policy", "policies")); err != nil {
						return err
					}
					for _, note := range notes {
						if _, err := fmt.Fprintln(out, printable(note)); err != nil {
							return err
						}
					}
					continue
				}
				bad++
				for _, p := range problems {
					if _, err := fmt.Fprintln(out, printable(p)); err != nil {
						return err
					}
				}
			}
			if bad > 0 {
				return usagef("%d of %d policy %s %s invalid", bad, len(files), plural(len(files), "file", "files"), plural(bad, "is", "are"))
			}
			_, err = fmt.Fprintf(out, "%d %s, %d %s: all valid\n", len(files), plural(len(files), "file", "files"), total, plural(total, "policy", "policies"))
			return err
		},
	}
}

// validateFile returns the problems of one policy file, one line each, notes
// on valid policies that need data a manifest does not carry, and how many
// policies the file holds.
func validateFile(path string) (problems, notes []string, n int) {
	data, err := readFileLimited(path, policy.MaxPolicyFileSize)
	if err != nil {
		return []string{err.Error()}, nil, 0
	}
	ps, err := policy.Parse(path, data)
	if err != nil {
		return []string{err.Error()}, nil, 0
	}
	for i, p := range ps {
		label := fmt.Sprintf("policy %q", p.Name)
		if p.Name == "" {
			label = fmt.Sprintf("policy %d", i+1)
		}
		var ve *policy.ValidationError
		if err := policy.Validate(p); errors.As(err, &ve) {
			for _, fe := range ve.Errors {
				problems = append(problems, fmt.Sprintf("%s: %s: %s: %s", path, label, fe.Path, fe.Message))
			}
			continue
		} else if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s: %v", path, label, err))
			continue
		}
		c, err := policy.Compile(p)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s: %v", path, label, err))
			continue
		}
		if need := c.NeedsData(); len(need) > 0 {
			what := "some sections are"
			if !c.Evaluable() {
				what = "it is"
			}
			notes = append(notes, fmt.Sprintf("  %s: needs %s data; %s not evaluated against manifests", label, strings.Join(need, " and "), what))
		}
	}
	return problems, notes, len(ps)
}

// policyFiles expands directories into their policy files.
func policyFiles(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		files, err := walkFiles(p, "json", "yaml", "yml")
		if err != nil {
			return nil, fmt.Errorf("read policies: %w", err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("read policies: no .json, .yaml or .yml files in %s", p)
		}
		out = append(out, files...)
	}
	return out, nil
}

// loadPolicies reads and validates every policy in paths; any problem in
// any file is an error, all of them reported together.
func loadPolicies(paths []string) ([]*policy.Policy, error) {
	files, err := policyFiles(paths)
	if err != nil {
		return nil, err
	}
	var (
		out  []*policy.Policy
		errs []error
	)
	for _, f := range files {
		data, err := readFileLimited(f, policy.MaxPolicyFileSize)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ps, err := policy.Parse(f, data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range ps {
			if err := policy.Validate(p); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", f, err))
				continue
			}
			out = append(out, p)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// writeJSON writes v indented, without HTML escaping; a json.RawMessage
// is re-indented.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeFileAtomic writes data to path through a temporary file in the same
// directory, so that a failure never leaves a half-written export.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	// Close always, and report its error when nothing failed before: a
	// failed close can mean the data never reached the disk.
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		// Best effort: the temporary file is ours, and the error that
		// matters is the one returned.
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// printable replaces control characters so that text from files or from
// Central stays one inert line on the terminal.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '\uFFFD'
		}
		return r
	}, s)
}
