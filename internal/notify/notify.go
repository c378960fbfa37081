// Package notify is the list of notifier integrations: Builtin maps each
// ACS notifier type to the package that sends it, and New builds a Sender
// from a configuration. The integrations themselves live one per package
// beside this one and share package notifier; README.md says how to add one.
package notify

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stockade-dev/stockade/internal/notify/email"
	"github.com/stockade-dev/stockade/internal/notify/jira"
	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/notify/pagerduty"
	"github.com/stockade-dev/stockade/internal/notify/slack"
	"github.com/stockade-dev/stockade/internal/notify/splunk"
	"github.com/stockade-dev/stockade/internal/notify/sumologic"
	"github.com/stockade-dev/stockade/internal/notify/syslog"
	"github.com/stockade-dev/stockade/internal/notify/teams"
	"github.com/stockade-dev/stockade/internal/notify/webhook"
)

// Factory builds a Sender from a configuration of its type, or says which
// field is wrong (a notifier.ErrInvalid error).
type Factory func(cfg notifier.Config) (notifier.Sender, error)

// adapt turns a package's concrete constructor into a Factory without the
// typed-nil trap (a nil *T in a non-nil interface).
func adapt[T notifier.Sender](newT func(notifier.Config) (T, error)) Factory {
	return func(cfg notifier.Config) (notifier.Sender, error) {
		s, err := newT(cfg)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
}

// Builtin maps every notifier type to its factory: this function is the list.
func Builtin() map[string]Factory {
	return map[string]Factory{
		notifier.TypeSlack:     adapt(slack.New),
		notifier.TypeTeams:     adapt(teams.New),
		notifier.TypeGeneric:   adapt(webhook.New),
		notifier.TypeEmail:     adapt(email.New),
		notifier.TypeSplunk:    adapt(splunk.New),
		notifier.TypeSumoLogic: adapt(sumologic.New),
		notifier.TypeSyslog:    adapt(syslog.New),
		notifier.TypePagerDuty: adapt(pagerduty.New),
		notifier.TypeJira:      adapt(jira.New),
	}
}

// New builds the Sender for cfg.Type.
func New(cfg notifier.Config) (notifier.Sender, error) {
	builtin := Builtin()
	f, ok := builtin[cfg.Type]
	if !ok {
		types := make([]string, 0, len(builtin))
		for t := range builtin {
			types = append(types, t)
		}
		sort.Strings(types)
		return nil, notifier.Invalid("type", "unknown notifier type %q; want one of %s", cfg.Type, strings.Join(types, ", "))
	}
	s, err := f(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s notifier %q: %w", cfg.Type, cfg.Name, err)
	}
	return s, nil
}
