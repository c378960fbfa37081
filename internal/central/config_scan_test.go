package central

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
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

func TestParseFlagsVulnDBFeeds(t *testing.T) {
	cfg, err := ParseFlags("stockade-central", nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.VulnDBUpdateInterval != 6*time.Hour || len(cfg.VulnDBFeeds) != 0 {
		t.Errorf("defaults: interval %v, feeds %v", cfg.VulnDBUpdateInterval, cfg.VulnDBFeeds)
	}
	e := env(map[string]string{
		"STOCKADE_VULNDB_UPDATE_INTERVAL": "30m",
		"STOCKADE_VULNDB_FEED":            "go=https://vuln.example/all.zip?key=abc, alpine-main=http://mirror.local/v3.20/main.json",
	})
	cfg, err = ParseFlags("stockade-central", nil, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []vulndb.Feed{{Name: "go", URL: "https://vuln.example/all.zip?key=abc"}, {Name: "alpine-main", URL: "http://mirror.local/v3.20/main.json"}}
	if cfg.VulnDBUpdateInterval != 30*time.Minute || !slices.Equal(cfg.VulnDBFeeds, want) {
		t.Errorf("from env: interval %v, feeds %+v", cfg.VulnDBUpdateInterval, cfg.VulnDBFeeds)
	}
	// Flags replace the environment's list.
	cfg, err = ParseFlags("stockade-central", []string{"--vulndb-feed", "a=https://a.example/a.json", "--vulndb-feed=b=https://b.example/b.json", "--vulndb-update-interval", "0"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.VulnDBUpdateInterval != 0 || len(cfg.VulnDBFeeds) != 2 || cfg.VulnDBFeeds[0].Name != "a" || cfg.VulnDBFeeds[1].URL != "https://b.example/b.json" {
		t.Errorf("flags: interval %v, feeds %+v", cfg.VulnDBUpdateInterval, cfg.VulnDBFeeds)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--vulndb-update-interval", "soon"}, "--vulndb-update-interval"},
		{[]string{"--vulndb-update-interval", "-1h"}, "must not be negative"},
		{[]string{"--vulndb-feed", "https://no.name/feed.json"}, "want NAME=URL"},
		{[]string{"--vulndb-feed", "=https://no.name/feed.json"}, "want NAME=URL"},
		{[]string{"--vulndb-feed", "x=ftp://mirror/feed.json?token=hidden"}, `"x": the URL is not`},
		{[]string{"--vulndb-feed", "x=/local/file.json"}, `"x": the URL is not`},
		{[]string{"--vulndb-feed", "bad name=https://a.example/"}, "letters, digits"},
		{[]string{"--vulndb-feed", "osv=https://a.example/"}, "file imports"},
		{[]string{"--vulndb-feed", "a=https://a.example/", "--vulndb-feed", "a=https://b.example/"}, "given twice"},
	} {
		_, err := ParseFlags("stockade-central", tc.args, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.args, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hidden") {
			t.Errorf("%v: the error shows the URL's query string: %v", tc.args, err)
		}
	}
	var help bytes.Buffer
	_, _ = ParseFlags("stockade-central", []string{"--help"}, env(nil), &help)
	for _, f := range []string{"--vulndb-feed NAME=URL", "STOCKADE_VULNDB_FEED", "--vulndb-update-interval", "STOCKADE_VULNDB_UPDATE_INTERVAL"} {
		if !strings.Contains(help.String(), f) {
			t.Errorf("help lacks %s", f)
		}
	}
}
