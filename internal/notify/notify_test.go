package notify

import (
	"errors"
	"slices"
	"sort"
	"testing"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// Every type the API accepts has a factory, and every factory refuses an
// empty configuration with a field-naming ErrInvalid instead of panicking.
func TestBuiltinCoversEveryType(t *testing.T) {
	b := Builtin()
	var got []string
	for typ := range b {
		got = append(got, typ)
	}
	sort.Strings(got)
	want := slices.Clone(notifier.Types())
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("Builtin types = %v, want %v", got, want)
	}
	for _, typ := range want {
		s, err := New(notifier.Config{ID: "x", Name: "empty " + typ, Type: typ})
		if err == nil || s != nil {
			t.Errorf("%s: empty configuration accepted", typ)
			continue
		}
		if !errors.Is(err, notifier.ErrInvalid) {
			t.Errorf("%s: error %v is not ErrInvalid", typ, err)
		}
	}
	if _, err := New(notifier.Config{Type: "carrier-pigeon"}); !errors.Is(err, notifier.ErrInvalid) {
		t.Errorf("unknown type: %v", err)
	}
}

// Every Sender takes the test message and new alerts (the routing
// contract Central relies on).
func TestEverySenderTakesTestsAndNewAlerts(t *testing.T) {
	for typ, cfg := range minimalConfigs() {
		s, err := New(cfg)
		if err != nil {
			t.Errorf("%s: %v", typ, err)
			continue
		}
		if !s.Wants(notifier.KindTest, notifier.EventNew) || !s.Wants(notifier.KindAlert, notifier.EventNew) {
			t.Errorf("%s does not take tests and new alerts", typ)
		}
	}
}

func minimalConfigs() map[string]notifier.Config {
	return map[string]notifier.Config{
		notifier.TypeSlack:     {Name: "s", Type: notifier.TypeSlack, LabelDefault: "https://hooks.slack.example/services/T/B/X"},
		notifier.TypeTeams:     {Name: "t", Type: notifier.TypeTeams, LabelDefault: "https://teams.example/webhook/x"},
		notifier.TypeGeneric:   {Name: "g", Type: notifier.TypeGeneric, Generic: &notifier.Generic{Endpoint: "https://hooks.example/x"}},
		notifier.TypeEmail:     {Name: "e", Type: notifier.TypeEmail, LabelDefault: "secops@example.com", Email: &notifier.Email{Server: "smtp.example.com:587", Sender: "stockade@example.com", Username: "u", Password: "p", StartTLSAuthMethod: "PLAIN"}},
		notifier.TypeSplunk:    {Name: "sp", Type: notifier.TypeSplunk, Splunk: &notifier.Splunk{HTTPToken: "tok", HTTPEndpoint: "https://splunk.example:8088"}},
		notifier.TypeSumoLogic: {Name: "su", Type: notifier.TypeSumoLogic, SumoLogic: &notifier.SumoLogic{HTTPSourceAddress: "https://collectors.sumo.example/receiver/v1/http/x"}},
		notifier.TypeSyslog:    {Name: "sy", Type: notifier.TypeSyslog, Syslog: &notifier.Syslog{TCPConfig: &notifier.SyslogTCP{Hostname: "127.0.0.1", Port: 6514}}},
		notifier.TypePagerDuty: {Name: "pd", Type: notifier.TypePagerDuty, PagerDuty: &notifier.PagerDuty{APIKey: "key"}},
		notifier.TypeJira:      {Name: "j", Type: notifier.TypeJira, LabelDefault: "SEC", Jira: &notifier.Jira{URL: "https://jira.example", Username: "u", Password: "p", IssueType: "Task"}},
	}
}
