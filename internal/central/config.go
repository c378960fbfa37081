package central

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/stockade-dev/stockade/internal/central/feeds"
	"github.com/stockade-dev/stockade/internal/central/outbox"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
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
	// VulnDBFeeds are the vulnerability feeds fetched on a schedule, their
	// format detected from the content; none means no fetching.
	VulnDBFeeds []vulndb.Feed
	// VulnDBUpdateInterval is how often the feeds are fetched; zero
	// disables fetching.
	VulnDBUpdateInterval time.Duration
	// MaxVulnDBImport bounds an uploaded vulnerability feed; zero means
	// 512 MiB. Not a flag: tests lower it.
	MaxVulnDBImport int64
	// NotifierDeadAfter is how long a notification is retried before it is
	// dead-lettered.
	NotifierDeadAfter time.Duration
	// Outbox tunes notification delivery beyond the dead-letter time. Not
	// flags: tests shorten the backoff and the poll interval.
	Outbox outbox.Options
}

// Defaults of the flags.
const (
	DefaultDataDir        = "./stockade-data"
	DefaultListen         = "127.0.0.1:8443"
	DefaultRescanInterval = 4 * time.Hour
	DefaultVulnDBInterval = feeds.DefaultInterval
	DefaultDeadAfter      = 24 * time.Hour
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
	vinterval := DefaultVulnDBInterval.String()
	if v := getenv(EnvName("vulndb-update-interval")); v != "" {
		vinterval = v
	}
	var vulnInterval string
	fs.StringVar(&vulnInterval, "vulndb-update-interval", vinterval, "fetch the --vulndb-feed feeds every `DURATION` (6h, 30m); 0 disables (env "+EnvName("vulndb-update-interval")+")")
	dead := DefaultDeadAfter.String()
	if v := getenv(EnvName("notifier-dead-after")); v != "" {
		dead = v
	}
	var deadAfter string
	fs.StringVar(&deadAfter, "notifier-dead-after", dead, "retry a notification that fails for `DURATION` (24h, 90m) before dead-lettering it (env "+EnvName("notifier-dead-after")+")")
	var feedList feedFlag
	fs.Var(&feedList, "vulndb-feed", "fetch the vulnerability feed at `NAME=URL` (http or https; OSV, Debian, Alpine or NVD, detected) on the --vulndb-update-interval schedule; repeatable (env "+EnvName("vulndb-feed")+", a comma-separated list; a flag replaces it)")
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
	vd, err := time.ParseDuration(vulnInterval)
	if err != nil {
		return Config{}, fmt.Errorf("--vulndb-update-interval %q: want a duration such as 6h or 30m, or 0 to disable", vulnInterval)
	}
	cfg.VulnDBUpdateInterval = vd
	da, err := time.ParseDuration(deadAfter)
	if err != nil {
		return Config{}, fmt.Errorf("--notifier-dead-after %q: want a duration such as 24h or 90m", deadAfter)
	}
	cfg.NotifierDeadAfter = da
	specs := feedList
	if !feedList.set {
		for v := range strings.SplitSeq(getenv(EnvName("vulndb-feed")), ",") {
			if v = strings.TrimSpace(v); v != "" {
				specs.specs = append(specs.specs, v)
			}
		}
	}
	cfg.VulnDBFeeds, err = parseFeeds(specs.specs)
	if err != nil {
		return Config{}, err
	}
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
	if c.VulnDBUpdateInterval < 0 {
		errs = append(errs, fmt.Errorf("--vulndb-update-interval %s: must not be negative (0 disables feed updates)", c.VulnDBUpdateInterval))
	}
	if c.NotifierDeadAfter < 0 {
		errs = append(errs, fmt.Errorf("--notifier-dead-after %s: must not be negative", c.NotifierDeadAfter))
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

// feedFlag collects the repeated --vulndb-feed values.
type feedFlag struct {
	specs []string
	set   bool
}

func (f *feedFlag) String() string { return "" }

func (f *feedFlag) Set(v string) error {
	f.specs = append(f.specs, v)
	f.set = true
	return nil
}

// reservedFeedNames are the sources that file imports record under.
var reservedFeedNames = []vulndb.Kind{vulndb.KindOSV, vulndb.KindDebian, vulndb.KindAlpine, vulndb.KindNVD}

// parseFeeds reads NAME=URL specifications. Errors name the feed, never
// the URL, whose query string may carry a token.
func parseFeeds(specs []string) ([]vulndb.Feed, error) {
	var out []vulndb.Feed
	seen := map[string]bool{}
	var errs []error
	for i, spec := range specs {
		name, raw, ok := strings.Cut(spec, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			errs = append(errs, fmt.Errorf("--vulndb-feed #%d: want NAME=URL", i+1))
			continue
		}
		where := fmt.Sprintf("--vulndb-feed %q", name)
		if len(name) > 64 || strings.ContainsFunc(name, notFeedNameRune) {
			errs = append(errs, fmt.Errorf("%s: the name takes up to 64 letters, digits, '-', '_' and '.'", where))
			continue
		}
		for _, k := range reservedFeedNames {
			if strings.EqualFold(name, string(k)) {
				errs = append(errs, fmt.Errorf("%s: the name is the source of %s file imports; choose another", where, k))
			}
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("%s: given twice", where))
		}
		seen[name] = true
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("%s: the URL is not an http:// or https:// URL with a host", where))
			continue
		}
		out = append(out, vulndb.Feed{Name: name, URL: u.String(), Format: vulndb.KindAuto})
	}
	return out, errors.Join(errs...)
}

// notFeedNameRune reports a rune a feed name may not hold.
func notFeedNameRune(r rune) bool {
	ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
	return !ok
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
