package central

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Config is how Central is started. Every flag can also be set with an
// environment variable, STOCKADE_ followed by the flag name in upper case
// with dashes as underscores; a flag on the command line wins.
type Config struct {
	DataDir   string
	Listen    string
	DB        string
	TLSCert   string
	TLSKey    string
	LogLevel  string
	LogFormat string
	// AdminPassword, from STOCKADE_ADMIN_PASSWORD, is the admin password set
	// at first start instead of a generated one. It is ignored later.
	AdminPassword string
	// LoginRefill is how often one more failed sign-in is allowed per client
	// once the burst is spent; zero means the default (6 s). Not a flag:
	// tests slow it down so that bcrypt's cost on a busy machine cannot
	// refill the bucket while they count.
	LoginRefill time.Duration
	// SecretKeyFile is the key that encrypts stored secrets; empty means
	// secret.key in the data directory, created at first start. A file
	// named here must exist.
	SecretKeyFile string
	// RescanInterval is how often the images of known deployments and
	// stored scans are rescanned; zero disables scheduled rescans.
	RescanInterval time.Duration
	// MaxVulnDBImport bounds an uploaded vulnerability feed; zero means
	// 512 MiB. Not a flag: tests lower it.
	MaxVulnDBImport int64
}

// Defaults of the flags.
const (
	DefaultDataDir        = "./stockade-data"
	DefaultListen         = "127.0.0.1:8443"
	DefaultRescanInterval = 4 * time.Hour
)

// AdminPasswordEnv sets the admin password at first start.
const AdminPasswordEnv = "STOCKADE_ADMIN_PASSWORD"

// EnvName is the environment variable of a flag: data-dir → STOCKADE_DATA_DIR.
func EnvName(flagName string) string {
	return "STOCKADE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseFlags reads the configuration from args (without the program name)
// and the environment. It returns flag.ErrHelp after printing the usage
// when -h or --help is given.
func ParseFlags(prog string, args []string, getenv func(string) string, out io.Writer) (Config, error) {
	var cfg Config
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(out)
	str := func(p *string, name, def, usage string) {
		if v := getenv(EnvName(name)); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, usage+" (env "+EnvName(name)+")")
	}
	str(&cfg.DataDir, "data-dir", DefaultDataDir, "keep the database, TLS files and admin password in `DIR`")
	str(&cfg.Listen, "listen", DefaultListen, "serve HTTPS on `ADDR` (host:port)")
	str(&cfg.DB, "db", "", "PostgreSQL `DSN` (postgres://…); empty for the embedded SQLite database in the data directory")
	str(&cfg.TLSCert, "tls-cert", "", "serve this TLS certificate `FILE` (PEM) instead of the bootstrapped one; needs --tls-key")
	str(&cfg.TLSKey, "tls-key", "", "private key `FILE` (PEM) of --tls-cert")
	str(&cfg.LogLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
	str(&cfg.LogFormat, "log-format", "text", "log `FORMAT`: text or json")
	str(&cfg.SecretKeyFile, "secret-key-file", "", "encrypt stored secrets (registry credentials) with the 32-byte key in `FILE`; empty for secret.key in the data directory, created at first start")
	interval := DefaultRescanInterval.String()
	if v := getenv(EnvName("rescan-interval")); v != "" {
		interval = v
	}
	var rescan string
	fs.StringVar(&rescan, "rescan-interval", interval, "rescan the images of known deployments and stored scans every `DURATION` (4h, 30m); 0 disables (env "+EnvName("rescan-interval")+")")
	fs.Usage = func() {
		var b strings.Builder
		fmt.Fprintf(&b, "Usage: %s [flags]\n\nStockade Central, the management server: HTTPS REST API, policy store and detection.\n\nFlags:\n", prog)
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(&b, "  --%s %s\n      %s", f.Name, name, usage)
			if f.DefValue != "" {
				fmt.Fprintf(&b, " (default %q)", f.DefValue)
			}
			b.WriteString("\n")
		})
		fmt.Fprintf(&b, "\nAt first start the admin password is generated (or read from %s) and printed once.\n", AdminPasswordEnv)
		_, _ = io.WriteString(out, b.String()) // nowhere to report a failure to print help
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q: %s takes flags only", fs.Arg(0), prog)
	}
	cfg.AdminPassword = getenv(AdminPasswordEnv)
	d, err := time.ParseDuration(rescan)
	if err != nil {
		return Config{}, fmt.Errorf("--rescan-interval %q: want a duration such as 4h or 30m, or 0 to disable", rescan)
	}
	cfg.RescanInterval = d
	if err := cfg.validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (c Config) validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir is empty"))
	}
	if c.Listen == "" {
		errs = append(errs, errors.New("--listen is empty"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together: give both or neither"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.RescanInterval < 0 {
		errs = append(errs, fmt.Errorf("--rescan-interval %s: must not be negative (0 disables rescans)", c.RescanInterval))
	}
	if c.MaxVulnDBImport < 0 {
		errs = append(errs, fmt.Errorf("vulnerability feed limit %d: must not be negative", c.MaxVulnDBImport))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// Logger builds the logger the configuration asks for, writing to w.
func (c Config) Logger(w io.Writer) *slog.Logger {
	level, err := parseLevel(c.LogLevel)
	if err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
