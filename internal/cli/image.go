package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/stockade-dev/stockade/internal/cli/localscan"
	"github.com/stockade-dev/stockade/internal/client"
	"github.com/stockade-dev/stockade/internal/deploycheck"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/scanner/report"
	"github.com/stockade-dev/stockade/internal/scanner/sbom"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/scanner/vulnfeed"
	"github.com/stockade-dev/stockade/internal/version"
)

// scanFormats are the values of `image scan --output`.
func scanFormats() []string { return []string{"table", "json", "csv", "sarif", "cyclonedx", "spdx"} }

func (a *app) imageCmd() *cobra.Command {
	return group("image", "Scan container images for vulnerabilities and check them against build-time policies",
		a.imageScanCmd(), a.imageCheckCmd(), a.imageSBOMCmd())
}

// imageFlags say which image to scan and where: through Central, or here
// with --local.
type imageFlags struct {
	image            string
	local            bool
	vulndb           string
	force            bool
	platform         string
	progress         bool
	registryCA       string
	insecureRegistry bool
}

func (o *imageFlags) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.image, "image", "i", "", "image reference to scan: NAME[:TAG] or NAME@sha256:DIGEST")
	f.BoolVar(&o.local, "local", false, "pull and scan the image here instead of through Central")
	f.StringVar(&o.vulndb, "vulndb", "", "vulnerability database file for --local (default $XDG_CACHE_HOME/stockade/vulndb.sqlite)")
	f.BoolVar(&o.force, "force", false, "scan again even when the image's layers (or, through Central, the image) were scanned before")
	f.StringVar(&o.platform, "platform", "", "platform to pick from a multi-arch image, OS/ARCH[/VARIANT] (default linux/amd64)")
	f.BoolVar(&o.progress, "progress", false, "report layer progress on stderr even when stderr is not a terminal (--local)")
	f.StringVar(&o.registryCA, "registry-ca", "", "PEM file with a CA certificate to trust for the image's registry (--local)")
	f.BoolVar(&o.insecureRegistry, "insecure-registry", false, "reach the image's registry over plain HTTP, anonymously (--local; test registries only)")
	_ = cmd.MarkFlagFilename("vulndb", "sqlite")
	_ = cmd.MarkFlagFilename("registry-ca", "pem", "crt")
}

// localMode decides between a local scan and Central, and checks that the
// flags fit the choice. A local scan needs the local backend
// (Env.Scanner); without one, as in the stockade binary, the whole command
// is handed to stockade-scanner, and localMode returns only an error.
func (a *app) localMode(ctx context.Context, o *imageFlags, what string) (bool, error) {
	if strings.TrimSpace(o.image) == "" {
		return false, usagef("name the image with --image REF (see '%s --help')", what)
	}
	if o.local && a.conn.endpoint != "" {
		return false, usagef("--local and --endpoint both given; pass one")
	}
	local := o.local || a.endpoint() == ""
	if !local {
		for flag, set := range map[string]bool{"--vulndb": o.vulndb != "", "--registry-ca": o.registryCA != "", "--insecure-registry": o.insecureRegistry} {
			if set {
				return false, usagef("%s applies to local scans; Central pulls images with its own image integrations (add --local to scan here)", flag)
			}
		}
		return false, nil
	}
	if a.env.Scanner == nil {
		return false, a.handOff(ctx, "local image scans")
	}
	if !o.local {
		a.note("no Central endpoint configured (-e or STOCKADE_ENDPOINT); scanning locally")
	}
	return true, nil
}

// scanImage returns the scan of o.image, made here or by Central. needDB
// says whether a local scan needs the vulnerability database (an SBOM does
// without one).
func (a *app) scanImage(ctx context.Context, o *imageFlags, local, needDB bool) (*scan.Image, error) {
	if !local {
		c, err := a.client("image scan", false)
		if err != nil {
			return nil, err
		}
		return c.ScanImage(ctx, client.ScanImageRequest{ImageName: o.image, Force: o.force, Platform: o.platform})
	}

	cacheDir, err := a.cacheDir()
	if err != nil {
		return nil, usageErr(err)
	}
	dbPath := o.vulndb
	if dbPath == "" {
		dbPath = filepath.Join(cacheDir, vulnfeed.FileName)
	}
	req := localscan.ScanRequest{
		Image:            o.image,
		Platform:         o.platform,
		Force:            o.force,
		DB:               localscan.DB{Path: dbPath, Logger: a.logger()},
		RequireDB:        needDB,
		CacheDir:         cacheDir,
		DockerConfig:     a.dockerConfigDir(),
		RegistryCA:       o.registryCA,
		InsecureRegistry: o.insecureRegistry,
		Note:             a.note,
		Now:              a.env.Now,
	}
	if o.progress || a.env.StderrIsTerminal {
		req.Progress = a.env.Stderr
	}
	img, err := a.env.Scanner.ScanImage(ctx, req)
	if err != nil {
		// A reference the registry cannot serve, credentials it refuses,
		// a registry that is down, a database that cannot be read: all
		// are the input's problem here.
		return nil, usageErr(err)
	}
	return img, nil
}

// cacheDir is stockade's cache directory: $XDG_CACHE_HOME/stockade, else
// $HOME/.cache/stockade, as vulndb.DefaultPath has it, read through Env.
func (a *app) cacheDir() (string, error) {
	if dir := a.env.Getenv("XDG_CACHE_HOME"); dir != "" {
		return filepath.Join(dir, "stockade"), nil
	}
	if home := a.env.Getenv("HOME"); home != "" {
		return filepath.Join(home, ".cache", "stockade"), nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory: set XDG_CACHE_HOME or HOME: %w", err)
	}
	return filepath.Join(dir, "stockade"), nil
}

// dockerConfigDir is the docker CLI's configuration directory, whose
// config.json holds registry credentials: $DOCKER_CONFIG, else
// ~/.docker; empty when there is no home directory.
func (a *app) dockerConfigDir() string {
	if dir := a.env.Getenv("DOCKER_CONFIG"); dir != "" {
		return dir
	}
	home := a.env.Getenv("HOME")
	if home == "" {
		home, _ = os.UserHomeDir() // no home: no docker config, as for the docker CLI
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".docker")
}

type imageScanOptions struct {
	imageFlags
	output     string
	severities []string
	fail       bool
}

func (a *app) imageScanCmd() *cobra.Command {
	var o imageScanOptions
	cmd := &cobra.Command{
		Use:   "scan --image REF",
		Short: "List the packages of an image and the vulnerabilities affecting them",
		Long: `Scan an image: read it from its registry, list the packages of its operating
system and of its applications (dpkg, apk, rpm, Go binaries, Java archives,
npm, Python), and match them against the vulnerability database.

With an endpoint (-e, $STOCKADE_ENDPOINT or $ROX_ENDPOINT) Central scans the
image with its image integrations and keeps the result. With --local, or when
no endpoint is configured, stockade pulls and scans the image itself, with the
registry credentials of the docker CLI's config.json and the vulnerability
database in --vulndb (see 'stockade vulndb'). Each layer's package list is
cached under $XDG_CACHE_HOME/stockade/layers, so a rescan downloads only new
layers; --force ignores the cache.

--severity keeps only the vulnerabilities of the listed severities (LOW,
MODERATE, IMPORTANT, CRITICAL, UNKNOWN) in every output. With --fail the
command exits 1 when a vulnerability is left.`,
		Example: `  stockade image scan --image nginx:1.25
  stockade image scan --image registry.example.com/app@sha256:… --severity IMPORTANT,CRITICAL --fail
  stockade image scan --local --image app:1 -o sarif > scan.sarif`,
		Args: exactArgs(0, "no arguments (name the image with --image)"),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.imageScan(cmd.Context(), &o) },
	}
	o.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "output format: "+strings.Join(scanFormats(), ", "))
	f.StringSliceVar(&o.severities, "severity", nil, "only vulnerabilities of these severities: LOW, MODERATE, IMPORTANT, CRITICAL, UNKNOWN (repeatable or comma-separated)")
	f.BoolVar(&o.fail, "fail", false, "exit 1 when the image has a vulnerability (of the --severity list, when given)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(scanFormats(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("severity", cobra.FixedCompletions([]string{"LOW", "MODERATE", "IMPORTANT", "CRITICAL", "UNKNOWN"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) imageScan(ctx context.Context, o *imageScanOptions) error {
	if !slices.Contains(scanFormats(), o.output) {
		return usagef("unknown output format %q (want %s)", o.output, strings.Join(scanFormats(), ", "))
	}
	sev, err := report.ParseSeverities(o.severities)
	if err != nil {
		return usagef("--severity: %w", err)
	}
	local, err := a.localMode(ctx, &o.imageFlags, "stockade image scan")
	if err != nil {
		return err
	}
	img, err := a.scanImage(ctx, &o.imageFlags, local, true)
	if err != nil {
		return err
	}
	img = report.Filter(img, sev)
	if o.output != "table" {
		for _, n := range img.Notes {
			a.note("%s", printable(n))
		}
	}
	w := a.env.Stdout
	switch o.output {
	case "table":
		err = report.WriteTable(w, img, report.TableOptions{Color: a.color()})
	case "json":
		err = report.WriteJSON(w, img)
	case "csv":
		err = report.WriteCSV(w, img)
	case "sarif":
		err = report.WriteSARIF(w, img, report.SARIFOptions{ToolVersion: version.Version})
	default:
		err = sbom.Write(w, o.output, img, sbom.Options{ToolVersion: version.Version})
	}
	if err != nil {
		return err
	}
	if s := report.Summarize(img); o.fail && s.Vulnerabilities > 0 {
		what := "the image has " + s.String()
		if len(sev) > 0 {
			what += " at the selected severities"
		}
		return &ExitError{Code: ExitViolations, Err: errors.New(what)}
	}
	return nil
}

type imageCheckOptions struct {
	imageFlags
	output     string
	categories []string
	policies   string
}

func (a *app) imageCheckCmd() *cobra.Command {
	var o imageCheckOptions
	cmd := &cobra.Command{
		Use:   "check --image REF",
		Short: "Check an image against build-time policies",
		Long: `Scan an image and check it against the enabled BUILD-stage policies: its
vulnerabilities, components, Dockerfile lines, user, age, labels and name.

With an endpoint (-e, $STOCKADE_ENDPOINT or $ROX_ENDPOINT) Central scans and
checks the image against its policies. With --local, or when no endpoint is
configured, stockade scans it here (see 'stockade image scan --help') and
checks it against its built-in policies, or against the policies in
--policies, which replace the built-ins.

The report has the shape of 'deployment check' (roxctl's), with one result for
the image. Exits 1 only when a violated policy carries FAIL_BUILD enforcement,
2 on bad input or an image the registry cannot serve, 3 when Central cannot be
reached or refuses the request.`,
		Example: `  stockade image check --image registry.example.com/app:1.4.2
  stockade image check --image app:1 --local --policies policies/ -o junit > image-check.xml
  stockade image check --image app:1 -c "Vulnerability Management"`,
		Args: exactArgs(0, "no arguments (name the image with --image)"),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.imageCheck(cmd.Context(), &o) },
	}
	o.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "table", "report format: "+strings.Join(reportFormats(), ", "))
	f.StringSliceVarP(&o.categories, "categories", "c", nil, "only policies in these categories, case-insensitive (repeatable or comma-separated)")
	f.StringVar(&o.policies, "policies", "", "policy file or directory (.json, .yaml, .yml) replacing the built-in policies (--local only)")
	_ = cmd.MarkFlagFilename("policies", "json", "yaml", "yml")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(reportFormats(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("categories", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return builtinCategories(), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func (a *app) imageCheck(ctx context.Context, o *imageCheckOptions) error {
	if !slices.Contains(reportFormats(), o.output) {
		return usagef("unknown output format %q (want %s)", o.output, strings.Join(reportFormats(), ", "))
	}
	local, err := a.localMode(ctx, &o.imageFlags, "stockade image check")
	if err != nil {
		return err
	}
	var r *deploycheck.Report
	if local {
		r, err = a.imageCheckLocal(ctx, o)
	} else {
		if o.policies != "" {
			return usagef("--policies applies to local checks; Central checks against its own policies (add --local to use the file)")
		}
		var c *client.Client
		if c, err = a.client("image check", false); err != nil {
			return err
		}
		r, err = c.DetectBuild(ctx, client.DetectBuildRequest{ImageName: o.image, PolicyCategories: o.categories, Force: o.force})
	}
	if err != nil {
		return err
	}
	r.Checked = 1
	if err := a.writeReport(r, o.output); err != nil {
		return err
	}
	if r.Failed() {
		return &ExitError{Code: ExitViolations, Err: buildEnforcedError(r)}
	}
	return nil
}

func (a *app) imageCheckLocal(ctx context.Context, o *imageCheckOptions) (*deploycheck.Report, error) {
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
	if len(set.BuildPolicies()) == 0 {
		a.note("no enabled BUILD-stage policy to check the image against")
	}
	img, err := a.scanImage(ctx, &o.imageFlags, true, true)
	if err != nil {
		return nil, err
	}
	for _, n := range img.Notes {
		a.note("%s", printable(n))
	}
	return deploycheck.CheckImage(img, set, a.env.Now()), nil
}

// buildEnforcedError names the policies that fail the image check.
func buildEnforcedError(r *deploycheck.Report) error {
	var names []string
	image := ""
	for _, res := range r.Results {
		for _, vp := range res.ViolatedPolicies {
			if vp.FailingCheck && !slices.Contains(names, vp.Name) {
				names = append(names, vp.Name)
				image = res.Metadata.AdditionalInfo.Name
			}
		}
	}
	return fmt.Errorf("image %s violates %s that %s at build time: %s", printable(image),
		plural(len(names), "a policy", "policies"), plural(len(names), "enforces", "enforce"), printable(strings.Join(names, ", ")))
}

type imageSBOMOptions struct {
	imageFlags
	output string
}

func (a *app) imageSBOMCmd() *cobra.Command {
	var o imageSBOMOptions
	cmd := &cobra.Command{
		Use:   "sbom --image REF",
		Short: "Write the software bill of materials of an image (CycloneDX or SPDX JSON)",
		Long: `Scan an image and write its software bill of materials: CycloneDX 1.5 JSON
(with the vulnerabilities found) or SPDX 2.3 JSON.

The image is scanned as by 'stockade image scan': through Central when an
endpoint is configured, here with --local (where a missing vulnerability
database only leaves the vulnerabilities out).`,
		Example: `  stockade image sbom --image app:1 > app.cdx.json
  stockade image sbom --image app:1 --local -o spdx > app.spdx.json`,
		Args: exactArgs(0, "no arguments (name the image with --image)"),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.imageSBOM(cmd.Context(), &o) },
	}
	o.register(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "cyclonedx", "SBOM format: "+strings.Join(sbom.Formats(), ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(sbom.Formats(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func (a *app) imageSBOM(ctx context.Context, o *imageSBOMOptions) error {
	if !slices.Contains(sbom.Formats(), o.output) {
		return usagef("unknown SBOM format %q (want %s)", o.output, strings.Join(sbom.Formats(), ", "))
	}
	local, err := a.localMode(ctx, &o.imageFlags, "stockade image sbom")
	if err != nil {
		return err
	}
	img, err := a.scanImage(ctx, &o.imageFlags, local, false)
	if err != nil {
		return err
	}
	for _, n := range img.Notes {
		a.note("%s", printable(n))
	}
	return sbom.Write(a.env.Stdout, o.output, img, sbom.Options{ToolVersion: version.Version})
}
