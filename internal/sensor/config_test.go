package sensor

import (
	"errors"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/sensor/install"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

var required = []string{"--central=central.example.com:443", "--init-bundle=/run/bundle", "--cluster-name=prod-eu"}

// The flags install renders into Sensor's Deployment parse, and mean what
// they say.
func TestParseFlagsTakesWhatInstallRenders(t *testing.T) {
	b, err := install.Render(install.Options{ClusterName: "prod-eu", Central: "central.example.com:443", Image: "sensor:1",
		AdmissionEnforce: true, AdmissionFailClosed: true})
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, o := range b.Objects {
		if strings.HasSuffix(o.File, "deployment.yaml") {
			data, err := install.YAML(o.Object)
			if err != nil {
				t.Fatal(err)
			}
			for line := range strings.SplitSeq(string(data), "\n") {
				if a, ok := strings.CutPrefix(strings.TrimSpace(line), "- --"); ok {
					args = append(args, "--"+a)
				}
			}
		}
	}
	if len(args) < 9 {
		t.Fatalf("args rendered by install: %q", args)
	}
	cfg, err := ParseFlags("stockade-sensor", args, env(map[string]string{"STOCKADE_NAMESPACE": "stockade"}), io.Discard)
	if err != nil {
		t.Fatalf("ParseFlags(%q): %v", args, err)
	}
	want := Config{Central: "central.example.com:443", ClusterName: "prod-eu", InitBundle: "/run/secrets/stockade/sensor-tls",
		Namespace: "stockade", AdmissionListen: ":8443", AdmissionCert: "/run/secrets/stockade/webhook-tls/tls.crt",
		AdmissionKey: "/run/secrets/stockade/webhook-tls/tls.key", AdmissionEnforce: true, AdmissionFailClosed: true,
		HealthListen: ":9090", LogLevel: "info", LogFormat: "text"}
	if cfg != want {
		t.Errorf("config = %+v\nwant     %+v", cfg, want)
	}
}

func TestParseFlagsFromEnvironment(t *testing.T) {
	e := env(map[string]string{
		"STOCKADE_CENTRAL": "c:8443", "STOCKADE_INIT_BUNDLE": "/b", "STOCKADE_CLUSTER_NAME": "lab",
		"STOCKADE_ADMISSION_ENFORCE": "true", "STOCKADE_KUBECONFIG": "/k", "STOCKADE_CACHE_DIR": "/var/cache/sensor",
		"STOCKADE_NAMESPACE": "security", "STOCKADE_LOG_FORMAT": "json", "STOCKADE_HEALTH_LISTEN": "",
	})
	cfg, err := ParseFlags("stockade-sensor", []string{"--cluster-name=lab-2"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Central != "c:8443" || cfg.InitBundle != "/b" || cfg.ClusterName != "lab-2" || !cfg.AdmissionEnforce ||
		cfg.Kubeconfig != "/k" || cfg.CacheDir != "/var/cache/sensor" || cfg.Namespace != "security" || cfg.LogFormat != "json" ||
		cfg.HealthListen != DefaultHealthListen {
		t.Errorf("config = %+v", cfg)
	}
	// A flag on the command line wins over the environment.
	cfg, err = ParseFlags("stockade-sensor", []string{"--admission-enforce=false"}, e, io.Discard)
	if err != nil || cfg.AdmissionEnforce {
		t.Errorf("--admission-enforce=false over STOCKADE_ADMISSION_ENFORCE=true: %+v, %v", cfg, err)
	}
}

func TestParseFlagsErrorsNameTheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{nil, nil, []string{"--central: required", "--init-bundle: required", "--cluster-name: required"}},
		{[]string{"--central=nohost", "--init-bundle=/b", "--cluster-name=Prod_EU"}, nil,
			[]string{`--central "nohost": want HOST:PORT`, `--cluster-name "Prod_EU"`}},
		{[]string{"--central=c:99999"}, nil, []string{`--central "c:99999": port must be 1-65535`}},
		{append(slices.Clone(required), "--admission-listen=:8443"), nil, []string{"--admission-cert and --admission-key: required with --admission-listen"}},
		{append(slices.Clone(required), "--admission-cert=/c"), nil, []string{"given without --admission-listen"}},
		{append(slices.Clone(required), "--health-listen=9090"), nil, []string{`--health-listen "9090": want [HOST]:PORT`}},
		{append(slices.Clone(required), "--namespace=Not_A_Label"), nil, []string{`--namespace "Not_A_Label"`}},
		{append(slices.Clone(required), "--log-level=loud", "--log-format=xml"), nil, []string{`--log-level "loud"`, `--log-format "xml"`}},
		{required, map[string]string{"STOCKADE_ADMISSION_FAIL_CLOSED": "maybe"}, []string{`STOCKADE_ADMISSION_FAIL_CLOSED="maybe" (--admission-fail-closed): want true or false`}},
		{append(slices.Clone(required), "extra"), nil, []string{`unexpected argument "extra"`}},
		{append(slices.Clone(required), "--admission-enforce=maybe"), nil, []string{"admission-enforce"}},
	} {
		_, err := ParseFlags("stockade-sensor", c.args, env(c.env), io.Discard)
		if err == nil {
			t.Errorf("%q %v: no error", c.args, c.env)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q %v: error %q lacks %q", c.args, c.env, err, w)
			}
		}
	}
	var help strings.Builder
	if _, err := ParseFlags("stockade-sensor", []string{"--help"}, env(nil), &help); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	for _, name := range []string{"--kubeconfig", "--central", "--init-bundle", "--cluster-name", "--admission-listen", "--admission-cert",
		"--admission-key", "--admission-enforce", "--admission-fail-closed", "--health-listen", "--namespace", "--cache-dir",
		"--log-level", "--log-format", "STOCKADE_CLUSTER_NAME"} {
		if !strings.Contains(help.String(), name) {
			t.Errorf("help lacks %s:\n%s", name, help.String())
		}
	}
}
