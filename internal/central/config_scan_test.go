package central

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseFlagsScanning(t *testing.T) {
	cfg, err := ParseFlags("stockade-central", nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RescanInterval != 4*time.Hour || cfg.SecretKeyFile != "" {
		t.Errorf("defaults: rescan %v, key %q", cfg.RescanInterval, cfg.SecretKeyFile)
	}
	e := env(map[string]string{"STOCKADE_RESCAN_INTERVAL": "30m", "STOCKADE_SECRET_KEY_FILE": "/run/secrets/key"})
	cfg, err = ParseFlags("stockade-central", nil, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RescanInterval != 30*time.Minute || cfg.SecretKeyFile != "/run/secrets/key" {
		t.Errorf("from env: rescan %v, key %q", cfg.RescanInterval, cfg.SecretKeyFile)
	}
	cfg, err = ParseFlags("stockade-central", []string{"--rescan-interval", "0"}, e, io.Discard)
	if err != nil || cfg.RescanInterval != 0 {
		t.Errorf("--rescan-interval 0: %v, %v", cfg.RescanInterval, err)
	}
	for _, v := range []string{"soon", "-1h"} {
		if _, err := ParseFlags("stockade-central", []string{"--rescan-interval", v}, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), "--rescan-interval") {
			t.Errorf("--rescan-interval %s: %v", v, err)
		}
	}
	var help bytes.Buffer
	_, _ = ParseFlags("stockade-central", []string{"--help"}, env(nil), &help)
	for _, f := range []string{"--rescan-interval", "STOCKADE_RESCAN_INTERVAL", "--secret-key-file", "STOCKADE_SECRET_KEY_FILE"} {
		if !strings.Contains(help.String(), f) {
			t.Errorf("help lacks %s", f)
		}
	}
}
