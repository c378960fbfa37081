package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stockade-dev/stockade/internal/deploycheck"
	"github.com/stockade-dev/stockade/internal/manifest"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/version"
	"github.com/stockade-dev/stockade/internal/workload"
)

// reportFormats are the values of `deployment check --output`.
func reportFormats() []string { return []string{"table", "json", "csv", "junit", "sarif"} }

func (a *app) deploymentCmd() *cobra.Command {
	return group("deployment", "Check workloads in Kubernetes manifests against policies", a.deploymentCheckCmd())
}

type checkOptions struct {
	files      []string
	offline    bool
	policies   string
	categories []string
	output     string
	verbose    bool
}

func (a *app) deploymentCheckCmd() *cobra.Command {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check -f FILE_OR_DIR [-f FILE_OR_DIR …]",
		Short: "Check the workloads in Kubernetes manifests against deploy-time policies",
		Long: `Check the workloads (Deployments, DaemonSets, StatefulSets, Pods, Jobs, …) in
Kubernetes manifests against deploy-time policies.

Inputs are YAML or JSON files, directories (read recursively for *.yaml, *.yml
and *.json) or - for standard input. Services, NetworkPolicies and RBAC
objects in the inputs are taken into account; other objects are listed on
stderr as ignored.

With an endpoint (-e, $STOCKADE_ENDPOINT or $ROX_ENDPOINT) Central checks the
manifests against its policies. With --offline, or when no endpoint is
configured, stockade checks them itself against its built-in policies, or
against the policies in --policies, which replace the built-ins.

Exits 1 when a violated policy enforces at deploy time, 2 on bad input.`,
		Example: `  stockade deployment check -f deploy/ -o sarif > stockade.sarif
  kustomize build overlays/prod | stockade deployment check -f - --offline
  stockade deployment check -f app.yaml -e central.example.com:443 -c "Privileges"`,
		Args: exactArgs(0, "no arguments (name the inputs with -f)"),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.check(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "file", "f", nil, "manifest file or directory to check, - for stdin (repeatable)")
	f.BoolVar(&o.offline, "offline", false, "check locally even when a Central endpoint is configured")
	f.StringVar(&o.policies, "policies", "", "policy file or directory (.json, .yaml, .yml) replacing the built-in policies (offline only)")
	f.StringSliceVarP(&o.categories, "categories", "c", nil, "only policies in these categories, case-insensitive (repeatable or comma-separated)")
	f.StringVarP(&o.output, "output", "o", "table", "report format: "+strings.Join(reportFormats(), ", "))
	f.BoolVarP(&o.verbose, "verbose", "v", false, "name every input object that is not checked (not a workload) on stderr")
	_ = cmd.MarkFlagFilename("file", "yaml", "yml", "json")
	_ = cmd.MarkFlagFilename("policies", "json", "yaml", "yml")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(reportFormats(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("categories", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return builtinCategories(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func (a *app) check(ctx context.Context, o checkOptions) error {
	if !slices.Contains(reportFormats(), o.output) {
		return usagef("unknown output format %q (want %s)", o.output, strings.Join(reportFormats(), ", "))
	}
	if len(o.files) == 0 {
		return usagef("name the manifests to check with -f FILE_OR_DIR (- for stdin)")
	}
	if o.offline && a.conn.endpoint != "" {
		return usagef("--offline and --endpoint both given; pass one")
	}
	online := !o.offline && a.endpoint() != ""
	if online && o.policies != "" {
		return usagef("--policies applies to offline checks; Central checks against its own policies (add --offline to use the file)")
	}
	if !online && !o.offline {
		a.note("no Central endpoint configured (-e or STOCKADE_ENDPOINT); checking offline")
	}

	// Central gets the manifests' text, so standard input is read once here
	// and both parsed locally and sent.
	stdin := a.env.Stdin
	var stdinData []byte
	if online && slices.Contains(o.files, manifest.Stdin) {
		data, err := io.ReadAll(io.LimitReader(stdin, manifest.MaxInputSize+1))
		if err != nil {
			return usagef("read stdin: %w", err)
		}
		if len(data) > manifest.MaxInputSize {
			return usageErr(&manifest.Error{File: manifest.Stdin, Err: manifest.ErrTooLarge})
		}
		stdinData = data
		stdin = bytes.NewReader(data)
	}
	// Offline, the policy set is compiled while the manifests load: the two
	// are independent and each takes a good part of a CI check's time.
	type compiled struct {
		set *policy.Set
		err error
	}
	var pending chan compiled
	if !online {
		pending = make(chan compiled, 1)
		go func() {
			set, err := offlineSet(o)
			pending <- compiled{set, err}
		}()
	}
	res, err := manifest.Load(ctx, o.files, stdin)
	if err != nil {
		return usageErr(err)
	}
	a.reportIgnored(res.Ignored, o.verbose)
	if len(res.Deployments) == 0 {
		a.note("no workloads in the input (%d Kubernetes %s read)", res.Objects, plural(res.Objects, "object", "objects"))
	}

	var report *deploycheck.Report
	if online {
		report, err = a.checkWithCentral(ctx, o, res, stdinData)
	} else {
		c := <-pending
		if c.err != nil {
			return c.err
		}
		a.noteUnevaluated(c.set)
		report = deploycheck.Check(res.Deployments, c.set, a.env.Now())
		report.Ignored = ignored(res.Ignored)
	}
	if err != nil {
		return err
	}
	if err := a.writeReport(report, o.output); err != nil {
		return err
	}
	if report.Failed() {
		return &ExitError{Code: ExitViolations, Err: enforcedError(report)}
	}
	return nil
}

// maxIgnoredListed is how many ignored objects are named one by one before
// the list becomes a count per kind (--verbose names them all).
const maxIgnoredListed = 10

// reportIgnored tells on stderr which input objects were not checked.
func (a *app) reportIgnored(ignored []manifest.Ignored, verbose bool) {
	if verbose || len(ignored) <= maxIgnoredListed {
		for _, ig := range ignored {
			a.stderrf("%s: ignored %s: %s\n", printable(sourceName(ig.Source)), printable(objectLabel(ig.Kind, ig.Name)), printable(ig.Reason))
		}
		return
	}
	counts := map[string]int{}
	for _, ig := range ignored {
		kind := ig.Kind
		if kind == "" {
			kind = "documents without a kind"
		}
		counts[kind]++
	}
	kinds := make([]string, 0, len(counts))
	for k := range counts {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(x, y string) int {
		if c := counts[y] - counts[x]; c != 0 {
			return c
		}
		return strings.Compare(x, y)
	})
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", counts[k], printable(k))
	}
	a.stderrf("note: %d objects are not workloads and were not checked: %s (--verbose lists them)\n", len(ignored), strings.Join(parts, ", "))
}

// offlineSet compiles the policies of an offline check: the built-in ones,
// or those of --policies, limited to the -c categories.
func offlineSet(o checkOptions) (*policy.Set, error) {
	if o.policies == "" && len(o.categories) == 0 {
		// The common CI case: the built-in set, compiled without validating
		// it again at every start.
		set, err := policy.BuiltinSet(nil)
		if err != nil {
			return nil, usageErr(err)
		}
		return set, nil
	}
	var (
		policies []*policy.Policy
		err      error
	)
	if o.policies != "" {
		policies, err = loadPolicies([]string{o.policies})
	} else {
		policies, err = policy.Builtin()
	}
	if err != nil {
		return nil, usageErr(err)
	}
	if len(o.categories) > 0 {
		if policies, err = filterCategories(policies, o.categories); err != nil {
			return nil, usageErr(err)
		}
	}
	set, err := policy.NewSet(policies)
	if err != nil {
		return nil, usageErr(err)
	}
	return set, nil
}

// noteUnevaluated tells on stderr which enabled deploy-time policies a
// manifest cannot answer (they need image scan or runtime data), so that a
// clean report is not mistaken for a clean bill of health.
func (a *app) noteUnevaluated(set *policy.Set) {
	var names []string
	needs := map[string]bool{}
	for _, c := range set.Policies() {
		if !c.Policy.Disabled && c.HasStage(policy.StageDeploy) && !c.Evaluable() {
			names = append(names, fmt.Sprintf("%q (needs %s data)", c.Policy.Name, strings.Join(c.NeedsData(), " and ")))
			for _, n := range c.NeedsData() {
				needs[n] = true
			}
		}
	}
	switch {
	case len(names) == 0:
	case len(names) <= 3:
		a.stderrf("note: %d %s not evaluated against manifests: %s\n",
			len(names), plural(len(names), "policy was", "policies were"), strings.Join(names, ", "))
	default:
		kinds := make([]string, 0, len(needs))
		for n := range needs {
			kinds = append(kinds, n)
		}
		slices.Sort(kinds)
		a.stderrf("note: %d policies need %s data and were not evaluated against manifests (stockade image check evaluates the image ones)\n",
			len(names), strings.Join(kinds, " or "))
	}
}

func (a *app) checkWithCentral(ctx context.Context, o checkOptions, res *manifest.Result, stdinData []byte) (*deploycheck.Report, error) {
	c, err := a.client("deployment check", false)
	if err != nil {
		return nil, err
	}
	report := &deploycheck.Report{Results: []deploycheck.Result{}}
	if len(res.Deployments) > 0 {
		yaml, err := joinManifests(o.files, stdinData)
		if err != nil {
			return nil, usageErr(err)
		}
		if report, err = c.DetectDeployYAML(ctx, yaml, o.categories); err != nil {
			return nil, err
		}
		locate(report, res.Deployments)
	}
	report.Checked = len(res.Deployments)
	report.Ignored = ignored(res.Ignored)
	return report, nil
}

// locate gives Central's results the file and line of the local workloads:
// Central parses the same text, so the workloads match by kind, namespace
// and name, in order.
func locate(r *deploycheck.Report, deployments []*workload.Deployment) {
	type key struct{ kind, namespace, name string }
	sources := map[key][]workload.Source{}
	for _, d := range deployments {
		k := key{d.Kind, d.Namespace, d.Name}
		sources[k] = append(sources[k], d.Source)
	}
	for i := range r.Results {
		info := r.Results[i].Metadata.AdditionalInfo
		k := key{info.Type, info.Namespace, info.Name}
		if s := sources[k]; len(s) > 0 {
			r.Results[i].Source = s[0]
			sources[k] = s[1:]
		}
	}
}

// joinManifests reads the inputs as manifest.Load does and joins their
// documents into one YAML stream for Central.
func joinManifests(paths []string, stdinData []byte) (string, error) {
	var b strings.Builder
	add := func(data []byte) {
		data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		if len(bytes.TrimSpace(data)) == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteString("---\n")
		}
		b.Write(data)
		if !bytes.HasSuffix(data, []byte("\n")) {
			b.WriteByte('\n')
		}
	}
	for _, p := range paths {
		if p == manifest.Stdin {
			add(stdinData)
			continue
		}
		files, err := walkFiles(p, "yaml", "yml", "json")
		if err != nil {
			return "", fmt.Errorf("read manifests: %w", err)
		}
		for _, f := range files {
			data, err := readFileLimited(f, manifest.MaxInputSize)
			if err != nil {
				return "", err
			}
			add(data)
		}
	}
	return b.String(), nil
}

// walkFiles returns path itself when it is a file, or the files under the
// directory path with one of the extensions, in lexical order, skipping
// directories whose name starts with a dot.
func walkFiles(path string, exts ...string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var out []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != path && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(d.Name())), ".")
		if slices.Contains(exts, ext) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// readFileLimited reads a file of at most limit bytes.
func readFileLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	_ = f.Close() // opened read-only: closing cannot lose data
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: file is larger than %d bytes", path, limit)
	}
	return data, nil
}

func (a *app) writeReport(r *deploycheck.Report, format string) error {
	w := a.env.Stdout
	var err error
	switch format {
	case "table":
		err = deploycheck.WriteTable(w, r, deploycheck.TableOptions{Color: a.color()})
	case "json":
		err = deploycheck.WriteJSON(w, r)
	case "csv":
		err = deploycheck.WriteCSV(w, r)
	case "junit":
		err = deploycheck.WriteJUnit(w, r)
	case "sarif":
		wd, _ := os.Getwd() // without it, absolute paths stay absolute
		err = deploycheck.WriteSARIF(w, r, deploycheck.SARIFOptions{ToolVersion: version.Version, BaseDir: wd})
	}
	return err
}

// enforcedError says which objects fail the check and why.
func enforcedError(r *deploycheck.Report) error {
	objects := 0
	var names []string
	for _, res := range r.Results {
		failed := false
		for _, vp := range res.ViolatedPolicies {
			if vp.FailingCheck {
				failed = true
				if !slices.Contains(names, vp.Name) {
					names = append(names, vp.Name)
				}
			}
		}
		if failed {
			objects++
		}
	}
	return fmt.Errorf("%d %s %s that %s at deploy time: %s", objects, plural(objects, "object violates", "objects violate"),
		plural(len(names), "a policy", "policies"), plural(len(names), "enforces", "enforce"), strings.Join(names, ", "))
}

// filterCategories keeps the policies in at least one of the categories,
// compared case-insensitively. A category no policy has is an error, so
// that a typo never turns into a check against nothing.
func filterCategories(policies []*policy.Policy, categories []string) ([]*policy.Policy, error) {
	known := map[string]string{} // folded → as written
	for _, p := range policies {
		for _, c := range p.Categories {
			known[strings.ToLower(c)] = c
		}
	}
	want := map[string]bool{}
	for _, c := range categories {
		c = strings.ToLower(strings.TrimSpace(c))
		if c == "" {
			continue
		}
		if _, ok := known[c]; !ok {
			names := make([]string, 0, len(known))
			for _, n := range known {
				names = append(names, n)
			}
			slices.Sort(names)
			return nil, fmt.Errorf("no policy has the category %q; the categories are: %s", c, strings.Join(names, ", "))
		}
		want[c] = true
	}
	var out []*policy.Policy
	for _, p := range policies {
		if slices.ContainsFunc(p.Categories, func(c string) bool { return want[strings.ToLower(c)] }) {
			out = append(out, p)
		}
	}
	return out, nil
}

func builtinCategories() []string {
	ps, err := policy.Builtin()
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range ps {
		for _, c := range p.Categories {
			if !slices.Contains(out, c) {
				out = append(out, c)
			}
		}
	}
	slices.Sort(out)
	return out
}

func ignored(in []manifest.Ignored) []deploycheck.Ignored {
	out := make([]deploycheck.Ignored, len(in))
	for i, ig := range in {
		out[i] = deploycheck.Ignored{Source: ig.Source, Kind: ig.Kind, Name: ig.Name, Reason: ig.Reason}
	}
	return out
}

// sourceName is "deploy.yaml:40", "stdin:3" or "deploy.yaml".
func sourceName(s workload.Source) string {
	f := s.File
	if f == manifest.Stdin {
		f = "stdin"
	}
	if s.Line > 0 {
		return fmt.Sprintf("%s:%d", f, s.Line)
	}
	return f
}

// objectLabel is "ConfigMap/settings", "ConfigMap" or "document".
func objectLabel(kind, name string) string {
	switch {
	case kind != "" && name != "":
		return kind + "/" + name
	case kind != "":
		return kind
	case name != "":
		return "object " + name
	}
	return "document"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
