// Package cli is the `stockade` command tree (cobra): deployment checks,
// policy management and Central queries.
//
// The one idea: commands never exit the process. Each returns an error, and
// ExitCode turns it into the exit status the main package passes to
// os.Exit — 0 when all is well, 1 when a violated policy enforces at deploy
// time, 2 for usage and input errors, 3 when Central could not be reached
// or refused the request. Everything a command touches outside itself
// (standard streams, environment, clock) comes in through Env, so tests run
// the real tree in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/stockade-dev/stockade/internal/cli/localscan"
	"github.com/stockade-dev/stockade/internal/client"
	"github.com/stockade-dev/stockade/internal/version"
)

// Exit codes.
const (
	ExitOK         = 0
	ExitViolations = 1 // a violated policy enforces (deploy or build time), or image scan --fail found a vulnerability
	ExitUsage      = 2 // bad flags or arguments, unreadable or invalid input
	ExitCentral    = 3 // Central not reachable, or it refused the request
)

// ExitError carries the exit code a failure should end the process with.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

func (e *ExitError) Unwrap() error { return e.Err }

// usageErr marks err as a usage or input error (exit 2).
func usageErr(err error) error { return &ExitError{Code: ExitUsage, Err: err} }

func usagef(format string, args ...any) error { return usageErr(fmt.Errorf(format, args...)) }

// ExitCode maps an error returned by the command tree to an exit status.
// Errors that carry no code (cobra's own usage errors among them) are 2.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		return ExitCentral
	}
	return ExitUsage
}

// Env is what the commands use from outside: streams, environment, clock.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable; nil means os.Getenv.
	Getenv func(string) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// StdoutIsTerminal turns on colour in tables (unless NO_COLOR is set).
	StdoutIsTerminal bool
	// StderrIsTerminal turns on scan progress on stderr (--progress forces
	// it).
	StderrIsTerminal bool
	// Scanner scans images and keeps the vulnerability database on this
	// machine: `image scan|check|sbom` without Central and the local
	// `vulndb` commands. The stockade binary leaves it nil, so that it does
	// not link the scanner and SQLite (see package localscan), and sets
	// HandOff instead.
	Scanner localscan.Backend
	// HandOff runs the whole command line in stockade-scanner, the same
	// command tree with a Scanner, when this one has none. It replaces the
	// process, or waits for the helper and ends the process with its exit
	// status: it returns only the error of a hand-off that could not start
	// (the helper is not installed).
	HandOff func(ctx context.Context) error
}

// app is the state shared by the commands of one invocation.
type app struct {
	env  Env
	conn connFlags
}

// New builds the command tree. Run it with ExecuteContext; on error, print
// "stockade: " and the error to stderr and exit with ExitCode(err).
func New(env Env) *cobra.Command {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	a := &app{env: env}

	root := &cobra.Command{
		Use:   "stockade",
		Short: "Check Kubernetes workloads against security policies and manage Stockade Central",
		Long: `stockade checks Kubernetes manifests and container images against security
policies, offline or through Stockade Central, scans images for vulnerable
packages, and manages Central's policies and vulnerability database.

Central is reached over TLS at -e HOST:PORT (or $STOCKADE_ENDPOINT, then
$ROX_ENDPOINT). Credentials, first found wins: --token-file, --password,
$STOCKADE_API_TOKEN, $ROX_API_TOKEN, $STOCKADE_ADMIN_PASSWORD, $ROX_ADMIN_PASSWORD.

Exit codes: 0 success; 1 a violated policy enforces at deploy (or, for
images, build) time, or image scan --fail found a vulnerability; 2 usage or
input error; 3 Central not reachable or it refused the request.`,
		Version:       version.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetVersionTemplate("stockade {{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef("%w (see '%s --help')", err, cmd.CommandPath())
	})
	a.conn.register(root)

	root.AddCommand(
		a.deploymentCmd(),
		a.imageCmd(),
		a.vulndbCmd(),
		a.policyCmd(),
		a.centralCmd(),
		a.sensorCmd(),
		a.versionCmd(),
	)
	return root
}

// group returns a command that only holds subcommands: alone it prints its
// help; with an unknown subcommand it is a usage error.
func group(use, short string, children ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:                        use,
		Short:                      short,
		Args:                       cobra.ArbitraryArgs,
		SuggestionsMinimumDistance: 2,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf("; did you mean %q?", s[0])
			}
			return usageErr(errors.New(msg))
		},
	}
	cmd.AddCommand(children...)
	return cmd
}

// exactArgs and minArgs are cobra's argument checks, as usage errors.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s takes %s, got %d argument(s) (see '%s --help')", cmd.CommandPath(), what, len(args), cmd.CommandPath())
		}
		return nil
	}
}

func minArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usagef("%s needs %s (see '%s --help')", cmd.CommandPath(), what, cmd.CommandPath())
		}
		return nil
	}
}

// handOff hands the command to stockade-scanner, for work (what) that
// needs the local backend this process does not have. It returns only an
// error: when the hand-off succeeds, the helper has done the command and
// the process has ended with its exit status.
func (a *app) handOff(ctx context.Context, what string) error {
	if a.env.HandOff == nil {
		return usagef("%s need stockade-scanner, and this program cannot run it", what)
	}
	err := a.env.HandOff(ctx)
	if err == nil {
		err = errors.New("the hand-off returned without running the command")
	}
	return usagef("%s run in stockade-scanner: %w", what, err)
}

// logger writes warnings (such as retries) to stderr, without timestamps.
func (a *app) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(a.env.Stderr, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, attr slog.Attr) slog.Attr {
			if len(groups) == 0 && attr.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return attr
		},
	}))
}

// note tells the user something on stderr that is not an error.
func (a *app) note(format string, args ...any) {
	a.stderrf("note: "+format+"\n", args...)
}

// stderrf writes a diagnostic line to stderr. A diagnostic that stderr
// refuses has nowhere else to go, and the command's outcome does not
// depend on it, so the write error is deliberately dropped.
func (a *app) stderrf(format string, args ...any) {
	_, _ = fmt.Fprintf(a.env.Stderr, format, args...)
}

// color reports whether tables on stdout may be coloured.
func (a *app) color() bool {
	return a.env.StdoutIsTerminal && a.env.Getenv("NO_COLOR") == "" && a.env.Getenv("TERM") != "dumb"
}
