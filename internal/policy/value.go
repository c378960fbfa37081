package policy

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"sync"
)

// stringMatcher matches a string the way ACS does: case-insensitively and
// against the whole value. Literal values skip the regex engine.
type stringMatcher struct {
	literal string
	re      *lazyRegexp
	any     bool // ".*" and empty patterns match everything
}

// lazyRegexp is a regular expression checked when the policy is compiled
// and built into a matcher when first used: a policy set has hundreds of
// them, and a check often needs few (image criteria are idle on manifests).
type lazyRegexp struct {
	expr string // the anchored, case-insensitive expression
	once sync.Once
	re   *regexp.Regexp
}

func (l *lazyRegexp) get() *regexp.Regexp {
	l.once.Do(func() {
		re, err := regexp.Compile(l.expr)
		if err != nil {
			// Unreachable after syntax.Parse accepted it; never panic
			// during evaluation all the same: such a value matches nothing.
			re = matchNothing
		}
		l.re = re
	})
	return l.re
}

// matchNothing is a regular expression no string matches.
var matchNothing = regexp.MustCompile(`[^\x00-\x{10FFFF}]`)

func compileString(v string) (stringMatcher, error) {
	v = strings.TrimPrefix(v, "r/")
	if v == "" || v == ".*" {
		return stringMatcher{any: true}, nil
	}
	if regexp.QuoteMeta(v) == v {
		return stringMatcher{literal: v}, nil
	}
	expr := "(?i)^(?:" + v + ")$"
	// Parsing finds every error regexp.Compile reports, so the lazy
	// compile cannot fail.
	if _, err := syntax.Parse(expr, syntax.Perl); err != nil {
		var serr *syntax.Error
		if errors.As(err, &serr) {
			return stringMatcher{}, fmt.Errorf("invalid regular expression %q: %s", v, serr.Code)
		}
		return stringMatcher{}, fmt.Errorf("invalid regular expression %q: %w", v, err)
	}
	return stringMatcher{re: &lazyRegexp{expr: expr}}, nil
}

func (m *stringMatcher) match(s string) bool {
	switch {
	case m.any:
		return true
	case m.re != nil:
		return m.re.get().MatchString(s)
	default:
		return strings.EqualFold(m.literal, s)
	}
}

// numberMatcher is a comparator: ">", ">=", "<", "<=", "=" or a bare number.
type numberMatcher struct {
	op  string
	num float64
}

func compileNumber(v string) (numberMatcher, error) {
	s := strings.TrimSpace(v)
	op := "="
	for _, candidate := range []string{">=", "<=", "==", ">", "<", "="} {
		if strings.HasPrefix(s, candidate) {
			op = candidate
			s = strings.TrimSpace(s[len(candidate):])
			break
		}
	}
	if op == "==" {
		op = "="
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || s == "" {
		return numberMatcher{}, fmt.Errorf("want a number with an optional comparator (>, >=, <, <=), got %q", v)
	}
	return numberMatcher{op: op, num: n}, nil
}

func (m *numberMatcher) match(x float64) bool {
	switch m.op {
	case ">":
		return x > m.num
	case ">=":
		return x >= m.num
	case "<":
		return x < m.num
	case "<=":
		return x <= m.num
	default:
		return x == m.num
	}
}

func (m *numberMatcher) String() string {
	if m.op == "=" {
		return strconv.FormatFloat(m.num, 'f', -1, 64)
	}
	return m.op + " " + strconv.FormatFloat(m.num, 'f', -1, 64)
}

func compileBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("want true or false, got %q", v)
}

// keyValueMatcher matches "key=value" pairs; an empty value matches any.
type keyValueMatcher struct {
	key, value stringMatcher
	raw        string
}

func compileKeyValue(v string, keyRequired bool) (keyValueMatcher, error) {
	k, val, _ := strings.Cut(v, "=")
	if keyRequired && strings.TrimSpace(k) == "" {
		return keyValueMatcher{}, fmt.Errorf("want key=value with a non-empty key, got %q", v)
	}
	km, err := compileString(k)
	if err != nil {
		return keyValueMatcher{}, fmt.Errorf("key: %w", err)
	}
	vm, err := compileString(val)
	if err != nil {
		return keyValueMatcher{}, fmt.Errorf("value: %w", err)
	}
	return keyValueMatcher{key: km, value: vm, raw: v}, nil
}

func (m *keyValueMatcher) matchMap(kv map[string]string) (string, bool) {
	for k, v := range kv {
		if m.key.match(k) && m.value.match(v) {
			return k, true
		}
	}
	return "", false
}

// envMatcher matches "SOURCE=NAME=VALUE" (or the older "NAME=VALUE").
type envMatcher struct {
	source      string // empty = any
	name, value stringMatcher
}

var envSources = []string{"RAW", "SECRET_KEY", "CONFIG_MAP_KEY", "FIELD", "RESOURCE_FIELD", "UNSET", "UNKNOWN"}

func compileEnv(v string) (envMatcher, error) {
	var m envMatcher
	rest := v
	if first, after, ok := strings.Cut(v, "="); ok {
		for _, s := range envSources {
			if strings.EqualFold(first, s) {
				m.source = s
				rest = after
				break
			}
		}
	}
	name, value, _ := strings.Cut(rest, "=")
	var err error
	if m.name, err = compileString(name); err != nil {
		return m, fmt.Errorf("name: %w", err)
	}
	if m.value, err = compileString(value); err != nil {
		return m, fmt.Errorf("value: %w", err)
	}
	if m.source == "UNSET" {
		m.source = ""
	}
	return m, nil
}

var dockerfileInstructions = []string{"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}

func checkDockerfile(v string) error {
	instr, re, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("want INSTRUCTION=regex, got %q", v)
	}
	known := false
	for _, i := range dockerfileInstructions {
		if strings.EqualFold(i, instr) {
			known = true
		}
	}
	if !known {
		return fmt.Errorf("unknown Dockerfile instruction %q (want one of %s)", instr, strings.Join(dockerfileInstructions, ", "))
	}
	_, err := compileString(re)
	return err
}

var imageSeverities = []string{"LOW", "MODERATE", "IMPORTANT", "CRITICAL"}

// severityMatcher compares vulnerability severities by rank: LOW=1 …
// CRITICAL=4, as in ">= IMPORTANT".
type severityMatcher struct{ numberMatcher }

func compileSeverity(v string) (severityMatcher, error) {
	s := strings.TrimSpace(v)
	op := "="
	for _, candidate := range []string{">=", "<=", ">", "<", "="} {
		if strings.HasPrefix(s, candidate) {
			op = candidate
			s = strings.TrimSpace(s[len(candidate):])
			break
		}
	}
	for i, sev := range imageSeverities {
		if strings.EqualFold(sev, s) {
			return severityMatcher{numberMatcher{op: op, num: float64(i + 1)}}, nil
		}
	}
	return severityMatcher{}, fmt.Errorf("want a severity (%s) with an optional comparator, got %q", strings.Join(imageSeverities, ", "), v)
}

func checkSeverity(v string) error {
	_, err := compileSeverity(v)
	return err
}

// dockerfileMatcher matches one Dockerfile line: the instruction exactly
// (case-insensitively) and the rest by a regex.
type dockerfileMatcher struct {
	instruction string
	value       stringMatcher
}

func compileDockerfile(v string) (dockerfileMatcher, error) {
	if err := checkDockerfile(v); err != nil {
		return dockerfileMatcher{}, err
	}
	instr, re, _ := strings.Cut(v, "=")
	m, err := compileString(re)
	if err != nil {
		return dockerfileMatcher{}, err
	}
	return dockerfileMatcher{instruction: strings.ToUpper(instr), value: m}, nil
}

// checkValue validates one value against its field's syntax.
func checkValue(f *Field, v string) error {
	switch f.kind {
	case kindRegex:
		_, err := compileString(v)
		return err
	case kindBool:
		_, err := compileBool(v)
		return err
	case kindNumber:
		_, err := compileNumber(v)
		return err
	case kindEnum:
		for _, e := range f.enum {
			if strings.EqualFold(e, strings.TrimSpace(v)) {
				return nil
			}
		}
		return fmt.Errorf("want one of %s, got %q", strings.Join(f.enum, ", "), v)
	case kindKeyValue:
		_, err := compileKeyValue(v, f.Name != "Image Component")
		return err
	case kindEnv:
		_, err := compileEnv(v)
		return err
	case kindSeverity:
		return checkSeverity(v)
	case kindDockerfile:
		return checkDockerfile(v)
	case kindAny:
		if strings.TrimSpace(v) == "" {
			return errors.New("value is empty")
		}
	}
	return nil
}
