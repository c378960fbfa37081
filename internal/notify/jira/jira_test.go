package jira_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/notify/jira"
	"github.com/stockade-dev/stockade/internal/notify/notifier"
	"github.com/stockade-dev/stockade/internal/notify/notifytest"
)

const (
	user     = "bot@example.com"
	password = "ATATT3x-SECRET-api-token-0123456789"
)

var sent = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// Structs mirroring the documented create-issue request.
type createIssue struct {
	Fields issueFields `json:"fields"`
}

type named struct {
	Name string `json:"name"`
}

type issueFields struct {
	Project struct {
		Key string `json:"key"`
	} `json:"project"`
	Summary     string   `json:"summary"`
	Description string   `json:"description"`
	IssueType   named    `json:"issuetype"`
	Priority    *named   `json:"priority"`
	Labels      []string `json:"labels"`
	// Fields the tests put in jira.defaultFieldsJson.
	Components    []named `json:"components"`
	CustomField10 string  `json:"customfield_10010"`
}

// jiraPeer is a local Jira: it authenticates like Jira, validates the
// create-issue request against its projects, issue types and priorities,
// and keeps the issues it created.
type jiraPeer struct {
	t          *testing.T
	srv        *httptest.Server
	base       string // context path, e.g. /jira
	mu         sync.Mutex
	issues     []issueFields
	requests   int
	noPriority bool // the priority field is not on the create screen
	refuse     func(w http.ResponseWriter) bool
}

func newJira(t *testing.T) *jiraPeer {
	t.Helper()
	p := &jiraPeer{t: t, base: "/jira"}
	p.srv = httptest.NewTLSServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *jiraPeer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	answer := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	refuse := func(status int, messages []string, errs map[string]string) {
		if messages == nil {
			messages = []string{}
		}
		if errs == nil {
			errs = map[string]string{}
		}
		answer(status, map[string]any{"errorMessages": messages, "errors": errs})
	}
	p.mu.Lock()
	p.requests++
	p.mu.Unlock()
	if r.URL.Path != p.base+"/rest/api/2/issue" {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, "<html><body>Oops, you've found a dead link.</body></html>")
		return
	}
	if r.Method != http.MethodPost {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if u, pw, ok := r.BasicAuth(); !ok || u != user || pw != password {
		refuse(http.StatusUnauthorized, []string{"You are not authenticated. Authentication required to perform this operation."}, nil)
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		refuse(http.StatusUnsupportedMediaType, []string{"Unsupported media type " + ct}, nil)
		return
	}
	if p.refuse != nil && p.refuse(w) {
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		p.t.Errorf("read: %v", err)
		return
	}
	var req createIssue
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&req); err != nil {
		p.t.Errorf("create issue: %v\n%s", err, body)
		refuse(http.StatusBadRequest, []string{"Can not deserialize instance"}, nil)
		return
	}
	f := req.Fields
	errs := map[string]string{}
	if f.Project.Key != "SEC" && f.Project.Key != "OPS" {
		errs["project"] = "valid project is required"
	}
	if f.IssueType.Name != "Bug" && f.IssueType.Name != "Task" {
		errs["issuetype"] = "valid issue type is required"
	}
	if f.Summary == "" || len([]rune(f.Summary)) > 255 || strings.Contains(f.Summary, "\n") {
		errs["summary"] = "Summary must be less than 255 characters."
	}
	if len([]rune(f.Description)) > 32767 {
		errs["description"] = "The entered text is too long. It exceeds the allowed limit of 32,767 characters."
	}
	if f.Priority != nil {
		switch {
		case p.noPriority:
			errs["priority"] = "Field 'priority' cannot be set. It is not on the appropriate screen, or unknown."
		case !slices.Contains([]string{"Highest", "High", "Medium", "Low", "Lowest"}, f.Priority.Name):
			errs["priority"] = "Specify the Priority (name) in the string format"
		}
	}
	for _, l := range f.Labels {
		if strings.ContainsAny(l, " \t") {
			errs["labels"] = "The label '" + l + "' contains spaces which is invalid."
		}
	}
	if len(errs) > 0 {
		refuse(http.StatusBadRequest, nil, errs)
		return
	}
	p.mu.Lock()
	p.issues = append(p.issues, f)
	id := 10000 + len(p.issues)
	key := fmt.Sprintf("%s-%d", f.Project.Key, len(p.issues))
	p.mu.Unlock()
	answer(http.StatusCreated, map[string]string{"id": fmt.Sprint(id), "key": key, "self": p.srv.URL + p.base + "/rest/api/2/issue/" + fmt.Sprint(id)})
}

func (p *jiraPeer) only(t *testing.T) issueFields {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.issues) != 1 {
		t.Fatalf("Jira holds %d issues, want 1", len(p.issues))
	}
	return p.issues[0]
}

func (p *jiraPeer) caPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw}))
}

func config(p *jiraPeer) notifier.Config {
	return notifier.Config{
		ID: "n1", Name: "jira", Type: notifier.TypeJira, UIEndpoint: "https://central.example",
		LabelKey: "stockade.io/jira-project", LabelDefault: "SEC",
		Jira: &notifier.Jira{URL: p.srv.URL + p.base + "/", Username: user, Password: password, IssueType: "Bug", CACert: p.caPEM()},
	}
}

func mustNew(t *testing.T, cfg notifier.Config) *jira.Notifier {
	t.Helper()
	n, err := jira.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return n
}

func alert() *notifier.Alert {
	return &notifier.Alert{
		ID: "a6f1c7e2-0000-4000-8000-000000000001", State: "ACTIVE", LifecycleStage: "DEPLOY",
		Policy: notifier.Policy{
			ID: "p1", Name: "Privileged container", Severity: "HIGH_SEVERITY",
			Description: "Alert on privileged containers.", Rationale: "Privileged containers own the node.",
			Remediation: "Drop privileged: true.\n- set securityContext.privileged to false", Categories: []string{"Privileges"},
		},
		Deployment: &notifier.Deployment{
			ID: "d1", Name: "web", Namespace: "shop", ClusterName: "prod", Type: "Deployment",
			Containers: []notifier.Container{{Name: "web", Image: "registry.example/web:2"}},
		},
		Violations:    []notifier.Violation{{Message: "Container 'web' is privileged"}},
		FirstOccurred: sent.Add(-time.Hour), Time: sent,
	}
}

func newAlert(id string, a *notifier.Alert) *notifier.Message {
	return &notifier.Message{ID: id, Kind: notifier.KindAlert, Event: notifier.EventNew, Time: sent, Alert: a}
}

func TestNewRejectsBadConfig(t *testing.T) {
	p := newJira(t)
	cases := []struct {
		name  string
		edit  func(c *notifier.Config)
		field string
	}{
		{"no block", func(c *notifier.Config) { c.Jira = nil }, "jira"},
		{"no url", func(c *notifier.Config) { c.Jira.URL = "" }, "jira.url"},
		{"url with credentials", func(c *notifier.Config) { c.Jira.URL = "https://bot:" + password + "@jira.example" }, "jira.url"},
		{"no username", func(c *notifier.Config) { c.Jira.Username = "" }, "jira.username"},
		{"no password", func(c *notifier.Config) { c.Jira.Password = "" }, "jira.password"},
		{"no issue type", func(c *notifier.Config) { c.Jira.IssueType = " " }, "jira.issueType"},
		{"no project", func(c *notifier.Config) { c.LabelDefault = "" }, "labelDefault"},
		{"bad project key", func(c *notifier.Config) { c.LabelDefault = "SEC/../admin" }, "labelDefault"},
		{"bad jira.project", func(c *notifier.Config) { c.LabelDefault, c.Jira.Project = "", "my project" }, "jira.project"},
		{"unknown severity", func(c *notifier.Config) {
			c.Jira.PriorityMappings = []notifier.PriorityMapping{{Severity: "HIGH_SEVERITY", PriorityName: "High"}, {Severity: "HIGH", PriorityName: "P1"}}
		}, "jira.priorityMappings[1].severity"},
		{"severity twice", func(c *notifier.Config) {
			c.Jira.PriorityMappings = []notifier.PriorityMapping{{Severity: "LOW_SEVERITY", PriorityName: "Low"}, {Severity: "LOW_SEVERITY", PriorityName: "Lowest"}}
		}, "jira.priorityMappings[1].severity"},
		{"no priority name", func(c *notifier.Config) {
			c.Jira.PriorityMappings = []notifier.PriorityMapping{{Severity: "LOW_SEVERITY"}}
		}, "jira.priorityMappings[0].priorityName"},
		{"default fields not JSON", func(c *notifier.Config) { c.Jira.DefaultFieldsJSON = `{"components": [` }, "jira.defaultFieldsJson"},
		{"default fields an array", func(c *notifier.Config) { c.Jira.DefaultFieldsJSON = `[1]` }, "jira.defaultFieldsJson"},
		{"default labels not strings", func(c *notifier.Config) { c.Jira.DefaultFieldsJSON = `{"labels": "team a"}` }, "jira.defaultFieldsJson"},
		{"bad CA", func(c *notifier.Config) { c.Jira.CACert = "not a certificate" }, "jira.caCert"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := config(p)
			tc.edit(&c)
			_, err := jira.New(c)
			if !errors.Is(err, notifier.ErrInvalid) || !strings.HasPrefix(err.Error(), tc.field+":") {
				t.Fatalf("err = %v, want ErrInvalid naming %s", err, tc.field)
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("err holds the password: %q", err)
			}
		})
	}
	c := config(p)
	c.LabelDefault, c.Jira.Project = "", "OPS"
	if _, err := jira.New(c); err != nil {
		t.Errorf("jira.project alone: %v", err)
	}
}

func TestWants(t *testing.T) {
	n := mustNew(t, config(newJira(t)))
	for _, tc := range []struct {
		kind  notifier.Kind
		event notifier.Event
		want  bool
	}{
		{notifier.KindTest, "", true},
		{notifier.KindAlert, notifier.EventNew, true},
		{notifier.KindAlert, notifier.EventResolved, false},
		{notifier.KindAlert, notifier.EventReopened, false},
		{notifier.KindSummary, "", true},
		{notifier.KindAudit, "", false},
	} {
		if got := n.Wants(tc.kind, tc.event); got != tc.want {
			t.Errorf("Wants(%s, %s) = %v", tc.kind, tc.event, got)
		}
	}
	err := n.Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindAlert, Event: notifier.EventResolved, Alert: alert()})
	if !notifier.Permanent(err) {
		t.Errorf("RESOLVED: %v", err)
	}
}

func TestTestMessageCreatesOneIssue(t *testing.T) {
	p := newJira(t)
	n := mustNew(t, config(p))
	m := &notifier.Message{ID: "0f3c9a1b-7d2e", Kind: notifier.KindTest, Time: sent, Alert: notifier.SampleAlert(sent, "https://central.example")}
	if err := n.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	is := p.only(t)
	if is.Project.Key != "SEC" || is.IssueType.Name != "Bug" || is.Priority == nil || is.Priority.Name != "Low" {
		t.Errorf("issue = %+v", is)
	}
	if !strings.Contains(is.Summary, "Test issue") || !strings.Contains(is.Description, "This is a test issue created by Stockade") {
		t.Errorf("summary %q\ndescription %q", is.Summary, is.Description)
	}
	if !slices.Equal(is.Labels, []string{"stockade", "stockade-0f3c9a1b"}) {
		t.Errorf("labels = %v", is.Labels)
	}
	if !strings.Contains(is.Description, "[View violations in Stockade|https://central.example/main/violations]") {
		t.Errorf("description has no link:\n%s", is.Description)
	}
}

func TestAlertIssue(t *testing.T) {
	p := newJira(t)
	n := mustNew(t, config(p))
	if err := n.Send(context.Background(), newAlert("d1e2f3a4b5", alert())); err != nil {
		t.Fatalf("Send: %v", err)
	}
	is := p.only(t)
	if is.Project.Key != "SEC" || is.Priority.Name != "High" || is.Summary != "[Stockade] High: Privileged container in shop/web (prod)" {
		t.Errorf("issue = %+v", is)
	}
	for _, want := range []string{
		"h2. Privileged container\n",
		"*Severity:* High\n",
		"*Entity:* Deployment shop/web in cluster prod\n",
		"*Images:* registry.example/web:2\n",
		"*First occurred:* 2024-05-01T11:00:00Z\n",
		"h3. Violations\n* Container 'web' is privileged\n",
		"h3. Rationale\nPrivileged containers own the node.\n",
		"h3. Remediation\nDrop privileged: true.\n\\- set securityContext.privileged to false\n",
		"[View the alert in Stockade|https://central.example/main/violations/a6f1c7e2-0000-4000-8000-000000000001]",
	} {
		if !strings.Contains(is.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, is.Description)
		}
	}
	if !slices.Equal(is.Labels, []string{"stockade", "stockade-d1e2f3a4"}) {
		t.Errorf("labels = %v", is.Labels)
	}
}

func TestPriorityMappings(t *testing.T) {
	p := newJira(t)
	c := config(p)
	c.Jira.PriorityMappings = []notifier.PriorityMapping{{Severity: "HIGH_SEVERITY", PriorityName: "Highest"}}
	n := mustNew(t, c)
	for sev, want := range map[string]string{"CRITICAL_SEVERITY": "Highest", "HIGH_SEVERITY": "Highest", "MEDIUM_SEVERITY": "Medium", "LOW_SEVERITY": "Low"} {
		p.issues = nil
		a := alert()
		a.Policy.Severity = sev
		if err := n.Send(context.Background(), newAlert("m", a)); err != nil {
			t.Fatal(err)
		}
		if got := p.only(t).Priority.Name; got != want {
			t.Errorf("%s → %s, want %s", sev, got, want)
		}
	}
}

func TestPriorityNotOnScreen(t *testing.T) {
	p := newJira(t)
	p.noPriority = true
	if err := mustNew(t, config(p)).Send(context.Background(), newAlert("m", alert())); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if is := p.only(t); is.Priority != nil || p.requests != 2 {
		t.Errorf("priority %v after %d requests", is.Priority, p.requests)
	}
}

func TestProjectFromAnnotation(t *testing.T) {
	p := newJira(t)
	n := mustNew(t, config(p))
	a := alert()
	a.Deployment.NamespaceAnnotations = map[string]string{"stockade.io/jira-project": "OPS"}
	if err := n.Send(context.Background(), newAlert("m", a)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if got := p.only(t).Project.Key; got != "OPS" {
		t.Errorf("project = %s, want OPS from the namespace annotation", got)
	}
	a.Deployment.Annotations = map[string]string{"stockade.io/jira-project": "not a key"}
	err := n.Send(context.Background(), newAlert("m2", a))
	if !notifier.Permanent(err) || !strings.Contains(err.Error(), "stockade.io/jira-project") {
		t.Errorf("bad annotation: %v", err)
	}
}

func TestDefaultFields(t *testing.T) {
	p := newJira(t)
	c := config(p)
	c.Jira.DefaultFieldsJSON = `{"components": [{"name": "k8s"}], "customfield_10010": "team-a",
		"labels": ["security", "stockade"], "summary": "overridden by Stockade", "priority": {"name": "Lowest"}}`
	n := mustNew(t, c)
	if err := n.Send(context.Background(), newAlert("abc", alert())); err != nil {
		t.Fatalf("Send: %v", err)
	}
	is := p.only(t)
	if len(is.Components) != 1 || is.Components[0].Name != "k8s" || is.CustomField10 != "team-a" {
		t.Errorf("default fields lost: %+v", is)
	}
	if !strings.HasPrefix(is.Summary, "[Stockade] High") || is.Priority.Name != "High" {
		t.Errorf("Stockade's fields must win: summary %q priority %v", is.Summary, is.Priority)
	}
	if !slices.Equal(is.Labels, []string{"security", "stockade", "stockade-abc"}) {
		t.Errorf("labels = %v", is.Labels)
	}
}

func TestSummaryIssue(t *testing.T) {
	p := newJira(t)
	s := &notifier.Summary{
		Count: 340, From: sent.Add(-5 * time.Minute), To: sent,
		BySeverity:  map[string]int{"MEDIUM_SEVERITY": 300, "LOW_SEVERITY": 40},
		TopPolicies: []notifier.PolicyCount{{Name: "Latest tag", Count: 200}, {Name: "No | limits", Count: 140}},
	}
	if err := mustNew(t, config(p)).Send(context.Background(), &notifier.Message{ID: "s", Kind: notifier.KindSummary, Time: sent, Summary: s}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	is := p.only(t)
	if is.Summary != "[Stockade] Alert storm: 340 more alerts folded" || is.Priority.Name != "Medium" || is.Project.Key != "SEC" {
		t.Errorf("issue = %+v", is)
	}
	for _, want := range []string{"|Medium|300|\n", "|Critical|0|\n", "|Latest tag|200|\n", `|No \| limits|140|`, "2024-05-01T11:55:00Z", "[View violations in Stockade|https://central.example/main/violations]"} {
		if !strings.Contains(is.Description, want) {
			t.Errorf("description lacks %q:\n%s", want, is.Description)
		}
	}
}

func TestDescriptionEscapesAndBounds(t *testing.T) {
	p := newJira(t)
	a := alert()
	a.Violations = []notifier.Violation{{Message: "env *SECRET* in [link|http://evil] {code} C:\\x"}}
	for range 5000 {
		a.Violations = append(a.Violations, notifier.Violation{Message: strings.Repeat("v", 300)})
	}
	if err := mustNew(t, config(p)).Send(context.Background(), newAlert("m", a)); err != nil {
		t.Fatalf("Send: %v", err)
	}
	d := p.only(t).Description
	if !strings.Contains(d, `* env \*SECRET\* in \[link\|http://evil\] \{code\} C:&#92;x`+"\n") {
		t.Errorf("violation not escaped:\n%.400s", d)
	}
	if len(d) > 32767 || !strings.Contains(d, "more violations") || !strings.Contains(d, "h3. Remediation") {
		t.Errorf("description: %d bytes, tail %q", len(d), d[len(d)-300:])
	}
}

func TestRefusals(t *testing.T) {
	reply := func(status int, body string, header ...string) func(w http.ResponseWriter) bool {
		return func(w http.ResponseWriter) bool {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.WriteHeader(status)
			_, _ = io.WriteString(w, body)
			return true
		}
	}
	cases := []struct {
		name       string
		edit       func(c *notifier.Config)
		refuse     func(w http.ResponseWriter) bool
		want       []string
		permanent  bool
		retryAfter time.Duration
	}{
		{name: "unknown issue type and project", edit: func(c *notifier.Config) { c.Jira.IssueType = "Story"; c.LabelDefault = "NOPE" },
			want:      []string{"refused the issue (400 Bad Request): issuetype: valid issue type is required; project: valid project is required"},
			permanent: true},
		{name: "bad password", edit: func(c *notifier.Config) { c.Jira.Password = "wrong-SECRET" },
			want: []string{"(401 Unauthorized): You are not authenticated", "check jira.username and jira.password"}},
		{name: "password echoed", refuse: reply(400, `{"errorMessages":["bad credentials `+password+`"],"errors":{}}`),
			want: []string{"bad credentials"}, permanent: true},
		{name: "wrong context path", edit: func(c *notifier.Config) { c.Jira.URL = strings.TrimSuffix(c.Jira.URL, "/jira/") },
			want: []string{"404 Not Found", "dead link", "check jira.url"}, permanent: true},
		{name: "server error", refuse: reply(500, `{"errorMessages":["Internal server error"],"errors":{}}`),
			want: []string{"(500 Internal Server Error): Internal server error"}},
		{name: "rate limited", refuse: reply(429, `Rate limit exceeded.`, "Retry-After", "12"),
			want: []string{"429 Too Many Requests", "Rate limit exceeded."}, retryAfter: 12 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newJira(t)
			p.refuse = tc.refuse
			c := config(p)
			if tc.edit != nil {
				tc.edit(&c)
			}
			err := mustNew(t, c).Send(context.Background(), newAlert("m", alert()))
			if err == nil {
				t.Fatal("Send succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %q\nwant %q", err, w)
				}
			}
			if notifier.Permanent(err) != tc.permanent || notifier.RetryAfter(err) != tc.retryAfter {
				t.Errorf("Permanent = %v RetryAfter = %v", notifier.Permanent(err), notifier.RetryAfter(err))
			}
			notifytest.NoSecret(t, err, c.Jira.Password)
		})
	}
}

func TestTLS(t *testing.T) {
	p := newJira(t)
	c := config(p)
	c.Jira.CACert = ""
	err := mustNew(t, c).Send(context.Background(), newAlert("m", alert()))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without the CA: %v", err)
	}
	c.Jira.SkipTLSVerify = true
	if err := mustNew(t, c).Send(context.Background(), newAlert("m", alert())); err != nil {
		t.Fatalf("skipTLSVerify: %v", err)
	}
}

func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c := config(newJira(t))
	c.Jira.URL = "http://" + addr
	err = mustNew(t, c).Send(context.Background(), &notifier.Message{ID: "m", Kind: notifier.KindTest, Time: sent})
	if err == nil || notifier.Permanent(err) || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v", err)
	}
	notifytest.NoSecret(t, err, password)
}
