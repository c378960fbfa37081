// Package sysconfig is Central's system configuration (/v1/config), as ACS
// has it: what every page shows (the notice on the sign-in page and a
// banner on top of every dashboard page), how long alerts are kept, and
// how long an idle dashboard session lives.
//
// The one idea: a setting is stored only once it is valid, and takes
// effect from the store — the sign-in page and the banner read it on every
// load, and the retention loop (Pruner) reads it before every pass — so
// nothing needs a restart and every Central on one database agrees.
package sysconfig

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stockade-dev/stockade/internal/central/httpapi"
)

// settingKey is where the configuration is kept in the settings table.
const settingKey = "sysconfig/v1"

// Bounds of the settings.
const (
	MaxNoticeLen  = 4000
	MaxBannerLen  = 200
	MaxRetainDays = 3650
	// Session idle times, in minutes.
	MinSessionIdle     = 5
	MaxSessionIdle     = 720
	DefaultSessionIdle = 60
)

// Config is the system configuration. PrivateConfig is left out of the
// answers of callers that may not read it.
type Config struct {
	PublicConfig  PublicConfig   `json:"publicConfig"`
	PrivateConfig *PrivateConfig `json:"privateConfig,omitempty"`
}

// PublicConfig is what every signed-in user's pages show; its login notice
// is shown to anyone, before signing in.
type PublicConfig struct {
	LoginNotice LoginNotice `json:"loginNotice"`
	Header      Banner      `json:"header"`
}

// LoginNotice is text shown on the sign-in page (terms of use, a warning
// that the system is monitored).
type LoginNotice struct {
	Enabled bool   `json:"enabled"`
	Text    string `json:"text"`
}

// Banner is one line shown above every dashboard page, in its colors
// (#rrggbb), e.g. the classification of the environment.
type Banner struct {
	Enabled         bool   `json:"enabled"`
	Text            string `json:"text"`
	Color           string `json:"color"`
	BackgroundColor string `json:"backgroundColor"`
}

// PrivateConfig is the configuration only Admin and Analyst read.
type PrivateConfig struct {
	AlertRetention AlertRetention `json:"alertRetention"`
	// SessionIdleMinutes is how long a dashboard session lives without a
	// request (it still ends 12 hours after sign-in).
	SessionIdleMinutes int `json:"sessionIdleMinutes"`
}

// AlertRetention says how many days alerts are kept; 0 keeps them forever.
type AlertRetention struct {
	// ResolvedDays is how long a resolved alert is kept after it was
	// resolved (its last change).
	ResolvedDays int `json:"resolvedDays"`
	// DeletedDeploymentDays is how long the alerts of a deployment that
	// was removed from its cluster are kept after their last change.
	DeletedDeploymentDays int `json:"deletedDeploymentDays"`
}

// Default is the configuration of a new Central: no notice, no banner,
// resolved alerts kept 30 days and alerts of deleted deployments 7.
func Default() Config {
	return Config{
		PublicConfig: PublicConfig{Header: Banner{Color: "#ffffff", BackgroundColor: "#0066cc"}},
		PrivateConfig: &PrivateConfig{AlertRetention: AlertRetention{
			ResolvedDays: 30, DeletedDeploymentDays: 7,
		}, SessionIdleMinutes: DefaultSessionIdle},
	}
}

// Settings is where the configuration is stored (the settings table).
type Settings interface {
	GetSetting(ctx context.Context, key string) (value string, ok bool, err error)
	SetSetting(ctx context.Context, key, value string) error
}

// Load reads the stored configuration, or Default when none was saved.
// A stored document lacking a part (saved by an older Central) gets the
// defaults of that part.
func Load(ctx context.Context, st Settings) (Config, error) {
	cfg := Default()
	raw, ok, err := st.GetSetting(ctx, settingKey)
	if err != nil || !ok {
		return cfg, err
	}
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return Default(), fmt.Errorf("read system configuration: %w", err)
	}
	if cfg.PrivateConfig == nil {
		cfg.PrivateConfig = Default().PrivateConfig
	}
	if cfg.PrivateConfig.SessionIdleMinutes == 0 {
		cfg.PrivateConfig.SessionIdleMinutes = DefaultSessionIdle
	}
	return cfg, nil
}

// Save stores cfg, which must be valid and complete.
func Save(ctx context.Context, st Settings, cfg Config) error {
	doc, err := json.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode system configuration: %w", err)
	}
	if err := st.SetSetting(ctx, settingKey, string(doc)); err != nil {
		return fmt.Errorf("save system configuration: %w", err)
	}
	return nil
}

var hexColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// normalize trims the text fields and lower-cases the colors.
func (c *Config) normalize() {
	p := &c.PublicConfig
	p.LoginNotice.Text = strings.TrimSpace(strings.ReplaceAll(p.LoginNotice.Text, "\r\n", "\n"))
	p.Header.Text = strings.TrimSpace(p.Header.Text)
	p.Header.Color = strings.ToLower(strings.TrimSpace(p.Header.Color))
	p.Header.BackgroundColor = strings.ToLower(strings.TrimSpace(p.Header.BackgroundColor))
}

// Validate checks every field and names each one at fault by its path.
func (c Config) Validate() []httpapi.Detail {
	var ds []httpapi.Detail
	bad := func(path, msg string) { ds = append(ds, httpapi.Detail{Path: path, Message: msg}) }
	n := c.PublicConfig.LoginNotice
	switch {
	case n.Enabled && n.Text == "":
		bad("publicConfig.loginNotice.text", "is required when the notice is enabled")
	case utf8.RuneCountInString(n.Text) > MaxNoticeLen:
		bad("publicConfig.loginNotice.text", "is longer than "+strconv.Itoa(MaxNoticeLen)+" characters")
	case strings.ContainsFunc(n.Text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		bad("publicConfig.loginNotice.text", "holds control characters (only line breaks and tabs are allowed)")
	}
	h := c.PublicConfig.Header
	switch {
	case h.Enabled && h.Text == "":
		bad("publicConfig.header.text", "is required when the banner is enabled")
	case utf8.RuneCountInString(h.Text) > MaxBannerLen:
		bad("publicConfig.header.text", "is longer than "+strconv.Itoa(MaxBannerLen)+" characters")
	case strings.ContainsFunc(h.Text, unicode.IsControl):
		bad("publicConfig.header.text", "must be one line without control characters")
	}
	for path, v := range map[string]string{"publicConfig.header.color": h.Color, "publicConfig.header.backgroundColor": h.BackgroundColor} {
		if !hexColor.MatchString(v) {
			bad(path, fmt.Sprintf("want a color as #rrggbb, got %q", v))
		}
	}
	if p := c.PrivateConfig; p == nil {
		bad("privateConfig", "is required")
	} else {
		for path, v := range map[string]int{
			"privateConfig.alertRetention.resolvedDays":          p.AlertRetention.ResolvedDays,
			"privateConfig.alertRetention.deletedDeploymentDays": p.AlertRetention.DeletedDeploymentDays,
		} {
			if v < 0 || v > MaxRetainDays {
				bad(path, fmt.Sprintf("want 0 (keep forever) to %d days, got %d", MaxRetainDays, v))
			}
		}
		if m := p.SessionIdleMinutes; m < MinSessionIdle || m > MaxSessionIdle {
			bad("privateConfig.sessionIdleMinutes", fmt.Sprintf("want %d to %d minutes, got %d", MinSessionIdle, MaxSessionIdle, m))
		}
	}
	// Map order is random: sort so answers are stable.
	slices.SortFunc(ds, func(a, b httpapi.Detail) int { return strings.Compare(a.Path, b.Path) })
	return ds
}
