package central

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseFlagsDefaultsEnvAndFlags(t *testing.T) {
	cfg, err := ParseFlags("stockade-central", nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "./stockade-data" || cfg.Listen != "127.0.0.1:8443" || cfg.DB != "" || cfg.LogLevel != "info" || cfg.LogFormat != "text" {
		t.Errorf("defaults = %+v", cfg)
	}
	e := env(map[string]string{
		"STOCKADE_DATA_DIR": "/env/data", "STOCKADE_LISTEN": "0.0.0.0:9443", "STOCKADE_DB": "postgres://env",
		"STOCKADE_LOG_FORMAT": "json", "STOCKADE_ADMIN_PASSWORD": "from-the-env",
	})
	cfg, err = ParseFlags("stockade-central", nil, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/env/data" || cfg.Listen != "0.0.0.0:9443" || cfg.DB != "postgres://env" || cfg.LogFormat != "json" || cfg.AdminPassword != "from-the-env" {
		t.Errorf("from env = %+v", cfg)
	}
	cfg, err = ParseFlags("stockade-central", []string{"--data-dir", "/flag/data", "--listen=127.0.0.1:1", "--log-level", "debug"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/flag/data" || cfg.Listen != "127.0.0.1:1" || cfg.LogLevel != "debug" || cfg.DB != "postgres://env" {
		t.Errorf("flags over env = %+v", cfg)
	}
}

func TestParseFlagsErrorsAndHelp(t *testing.T) {
	var out bytes.Buffer
	_, err := ParseFlags("stockade-central", []string{"--help"}, env(nil), &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	for _, f := range []string{"--data-dir", "--listen", "--db", "--tls-cert", "--tls-key", "--log-level", "--log-format", "STOCKADE_DATA_DIR", "STOCKADE_ADMIN_PASSWORD"} {
		if !strings.Contains(out.String(), f) {
			t.Errorf("help lacks %s:\n%s", f, out.String())
		}
	}
	for _, args := range [][]string{
		{"--log-format", "xml"}, {"--log-level", "loud"}, {"--tls-cert", "a.pem"}, {"--data-dir", ""}, {"extra"}, {"--nope"},
	} {
		if _, err := ParseFlags("stockade-central", args, env(nil), io.Discard); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
