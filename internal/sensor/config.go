package sensor

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/stockade-dev/stockade/internal/sensor/install"
)

// Config is how a Sensor is started. Every flag can also be set with an
// environment variable, STOCKADE_ followed by the flag name in upper case
// with dashes as underscores (--cluster-name: STOCKADE_CLUSTER_NAME); a
// flag on the command line wins. The flags are the ones `stockade sensor
// generate k8s` renders into Sensor's Deployment (install.Render).
type Config struct {
	// Kubeconfig is the kubeconfig file of the cluster; empty means the
	// in-cluster configuration of the pod's service account.
	Kubeconfig string
	// Central is Central's address, HOST:PORT.
	Central string
	// InitBundle is the init bundle file, or the directory its Sensor
	// Secret is mounted at.
	InitBundle string
	// ClusterName names the cluster in Central (DNS-1123).
	ClusterName string
	// Namespace is Sensor's own namespace, never judged by admission
	// control nor enforced on.
	Namespace string
	// AdmissionListen is where the admission webhook is served over
	// HTTPS; empty serves no webhook.
	AdmissionListen string
	// AdmissionCert and AdmissionKey are the webhook's serving
	// certificate and key (PEM files), read at start.
	AdmissionCert string
	AdmissionKey  string
	// AdmissionEnforce makes the webhook deny what enforced policies
	// forbid; without it the webhook admits and records (inform).
	AdmissionEnforce bool
	// AdmissionFailClosed denies requests the webhook cannot decide.
	AdmissionFailClosed bool
	// HealthListen serves /healthz, /readyz and /metrics over plain HTTP;
	// empty serves none.
	HealthListen string
	// CacheDir keeps the last policy set Central sent, so that a Sensor
	// restarted while Central is away still decides; empty keeps nothing.
	CacheDir  string
	LogLevel  string
	LogFormat string

	// Connection tuning, not flags (tests shorten them); zero values take
	// conn's defaults.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	Heartbeat  time.Duration
	// BufferSize bounds the messages waiting for Central (conn's default
	// when zero).
	BufferSize int
}

// Defaults of the flags.
const (
	DefaultNamespace    = install.DefaultNamespace
	DefaultHealthListen = ":9090"
)

// EnvName is the environment variable of a flag: cluster-name →
// STOCKADE_CLUSTER_NAME.
func EnvName(flagName string) string {
	return "STOCKADE_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// ParseFlags reads the configuration from args (without the program name)
// and the environment. It returns flag.ErrHelp after printing the usage
// when -h or --help is given. Errors name the flag (or variable) at fault.
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
	var envErrs []error
	boolean := func(p *bool, name string, def bool, usage string) {
		if v := getenv(EnvName(name)); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s=%q (--%s): want true or false", EnvName(name), v, name))
			}
			def = b
		}
		fs.BoolVar(p, name, def, usage+" (env "+EnvName(name)+")")
	}
	str(&cfg.Kubeconfig, "kubeconfig", "", "read the cluster's address and credentials from kubeconfig `FILE`; empty for the in-cluster service account")
	str(&cfg.Central, "central", "", "Central's address, `HOST:PORT` (required)")
	str(&cfg.InitBundle, "init-bundle", "", "the init bundle at `PATH`: the file that stockade central init-bundle generate wrote, or the directory its Sensor Secret is mounted at (required)")
	str(&cfg.ClusterName, "cluster-name", "", "the cluster's `NAME` in Central, DNS-1123 (required)")
	str(&cfg.Namespace, "namespace", DefaultNamespace, "Sensor's own `NAMESPACE`, excluded from admission control and enforcement")
	str(&cfg.AdmissionListen, "admission-listen", "", "serve the admission webhook over HTTPS on `ADDR` (host:port); empty serves none")
	str(&cfg.AdmissionCert, "admission-cert", "", "the webhook's serving certificate `FILE` (PEM); required with --admission-listen")
	str(&cfg.AdmissionKey, "admission-key", "", "private key `FILE` (PEM) of --admission-cert")
	boolean(&cfg.AdmissionEnforce, "admission-enforce", false, "deny workloads that violate policies with deploy-time enforcement; otherwise admit them and raise alerts")
	boolean(&cfg.AdmissionFailClosed, "admission-fail-closed", false, "deny requests the webhook cannot decide (by default they are admitted and an alert is logged)")
	str(&cfg.HealthListen, "health-listen", DefaultHealthListen, "serve /healthz, /readyz and /metrics over HTTP on `ADDR`; empty serves none")
	str(&cfg.CacheDir, "cache-dir", "", "keep the last policy set from Central in `DIR`, to decide after a restart while Central is away; empty keeps nothing")
	str(&cfg.LogLevel, "log-level", "info", "log `LEVEL`: debug, info, warn or error")
	str(&cfg.LogFormat, "log-format", "text", "log `FORMAT`: text or json")
	fs.Usage = func() {
		var b strings.Builder
		fmt.Fprintf(&b, "Usage: %s [flags]\n\nStockade Sensor: watches a Kubernetes cluster, reports its workloads to Central, detects and enforces\npolicy violations, and serves the validating admission webhook.\n\nFlags:\n", prog)
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(&b, "  --%s %s\n      %s", f.Name, name, usage)
			if f.DefValue != "" && f.DefValue != "false" {
				fmt.Fprintf(&b, " (default %q)", f.DefValue)
			}
			b.WriteString("\n")
		})
		_, _ = io.WriteString(out, b.String()) // nowhere to report a failure to print help
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q: %s takes flags only", fs.Arg(0), prog)
	}
	if err := errors.Join(envErrs...); err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks the configuration; each error names its flag.
func (c Config) Validate() error {
	var errs []error
	if c.Central == "" {
		errs = append(errs, errors.New("--central: required (Central's HOST:PORT)"))
	} else if host, port, err := net.SplitHostPort(c.Central); err != nil || host == "" || port == "" {
		errs = append(errs, fmt.Errorf("--central %q: want HOST:PORT of Central", c.Central))
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		errs = append(errs, fmt.Errorf("--central %q: port must be 1-65535", c.Central))
	}
	if c.InitBundle == "" {
		errs = append(errs, errors.New("--init-bundle: required (the bundle file from `stockade central init-bundle generate`, or its mounted Secret)"))
	}
	if c.ClusterName == "" {
		errs = append(errs, errors.New("--cluster-name: required"))
	} else if msgs := validation.IsDNS1123Subdomain(c.ClusterName); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--cluster-name %q: want a DNS-1123 name (lower-case letters, digits, '-' and '.')", c.ClusterName))
	}
	if msgs := validation.IsDNS1123Label(c.Namespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--namespace %q: %s", c.Namespace, strings.Join(msgs, "; ")))
	}
	for _, l := range []struct{ flag, addr string }{{"admission-listen", c.AdmissionListen}, {"health-listen", c.HealthListen}} {
		if l.addr == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(l.addr); err != nil || port == "" {
			errs = append(errs, fmt.Errorf("--%s %q: want [HOST]:PORT", l.flag, l.addr))
		}
	}
	if c.AdmissionListen != "" && (c.AdmissionCert == "" || c.AdmissionKey == "") {
		errs = append(errs, errors.New("--admission-cert and --admission-key: required with --admission-listen (the webhook is served over HTTPS)"))
	}
	if c.AdmissionListen == "" && (c.AdmissionCert != "" || c.AdmissionKey != "") {
		errs = append(errs, errors.New("--admission-cert and --admission-key: given without --admission-listen"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
}

// Logger returns the logger the configuration asks for, writing to w.
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
