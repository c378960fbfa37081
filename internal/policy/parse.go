package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"
)

// MaxPolicyFileSize bounds one policy document; ACS exports of a few hundred
// policies are well under a megabyte.
const MaxPolicyFileSize = 16 << 20

// ParseError is a policy document that could not be read, located by line
// when the syntax allows it.
type ParseError struct {
	Source string // file name or "request body"
	Line   int    // 1-based; 0 when unknown
	Policy string // the policy's index or name inside the document, when known
	Err    error
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Policy != "" {
		fmt.Fprintf(&b, "policy %s: ", e.Policy)
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads policies in ACS form from JSON or YAML: a single policy, a list
// of policies, or an export object {"policies": […]}. Unknown fields are
// errors, so that a typo never silently drops a criterion. source names the
// input in errors.
func Parse(source string, data []byte) ([]*Policy, error) {
	if len(data) > MaxPolicyFileSize {
		return nil, &ParseError{Source: source, Err: fmt.Errorf("document is %d bytes, more than the %d allowed", len(data), MaxPolicyFileSize)}
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	if len(trimmed) == 0 {
		return nil, &ParseError{Source: source, Err: errors.New("empty document")}
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		return parseJSON(source, data)
	}
	return parseYAML(source, data)
}

func parseJSON(source string, data []byte) ([]*Policy, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n\ufeff")
	var raws []json.RawMessage
	if trimmed[0] == '[' {
		if err := json.Unmarshal(data, &raws); err != nil {
			return nil, jsonError(source, data, "", err)
		}
	} else {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(data, &probe); err != nil {
			return nil, jsonError(source, data, "", err)
		}
		if list, ok := probe["policies"]; ok && len(probe) == 1 {
			if err := json.Unmarshal(list, &raws); err != nil {
				return nil, jsonError(source, data, "", fmt.Errorf("policies: %w", err))
			}
		} else {
			raws = []json.RawMessage{trimmed}
		}
	}
	out := make([]*Policy, 0, len(raws))
	for i, raw := range raws {
		p := new(Policy)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(p); err != nil {
			return nil, jsonError(source, data, policyLabel(i, raw), err)
		}
		if dec.More() {
			return nil, &ParseError{Source: source, Policy: policyLabel(i, raw), Err: errors.New("trailing data after the policy")}
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, &ParseError{Source: source, Err: errors.New("no policies in document")}
	}
	return out, nil
}

// policyLabel names policy i of a document for errors: its name when it can be read.
func policyLabel(i int, raw []byte) string {
	var named struct {
		Name string `json:"name"`
	}
	if json.Unmarshal(raw, &named) == nil && named.Name != "" {
		return fmt.Sprintf("%d (%q)", i+1, named.Name)
	}
	return fmt.Sprintf("%d", i+1)
}

func jsonError(source string, data []byte, policy string, err error) error {
	perr := &ParseError{Source: source, Policy: policy, Err: err}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		perr.Line = lineAt(data, syn.Offset)
	case errors.As(err, &typ):
		if policy == "" {
			perr.Line = lineAt(data, typ.Offset)
		}
		perr.Err = fmt.Errorf("field %s: cannot use a JSON %s here (want %s)", typ.Field, typ.Value, typ.Type)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		perr.Err = errors.New("unexpected end of JSON")
	}
	return perr
}

func lineAt(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return bytes.Count(data[:offset], []byte{'\n'}) + 1
}

func parseYAML(source string, data []byte) ([]*Policy, error) {
	// One strict decoding pass in the document's own shape, so that errors
	// keep the document's line numbers and unknown fields are refused at any
	// depth.
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var out []*Policy
	var err error
	switch yamlShape(data) {
	case '-':
		err = dec.Decode(&out)
	case 'w':
		var wrapped struct {
			Policies []*Policy `yaml:"policies"`
		}
		err = dec.Decode(&wrapped)
		out = wrapped.Policies
	default:
		p := new(Policy)
		err = dec.Decode(p)
		out = []*Policy{p}
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ParseError{Source: source, Err: errors.New("empty document")}
		}
		return nil, &ParseError{Source: source, Err: err}
	}
	for i, p := range out {
		if p == nil {
			return nil, &ParseError{Source: source, Policy: fmt.Sprintf("%d", i+1), Err: errors.New("empty policy")}
		}
	}
	if len(out) == 0 {
		return nil, &ParseError{Source: source, Err: errors.New("no policies in document")}
	}
	return out, nil
}

// yamlShape looks at the first content line of a YAML document: '-' for a
// list of policies, 'w' for an export object {policies: [...]}, 's' for a
// single policy.
func yamlShape(data []byte) byte {
	all := data
	for len(data) > 0 {
		line := data
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		t := bytes.TrimSpace(line)
		if len(t) == 0 || t[0] == '#' || bytes.Equal(t, []byte("---")) {
			continue
		}
		if t[0] == '-' && (len(t) == 1 || t[1] == ' ') {
			return '-'
		}
		break
	}
	// A policy has no field named "policies", so a top-level key of that
	// name makes the document an export object.
	for rest := all; len(rest) > 0; {
		if bytes.HasPrefix(rest, []byte("policies:")) {
			return 'w'
		}
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
	}
	return 's'
}

// Export writes policies as an ACS export object, {"policies": […]}, indented.
func Export(policies []*Policy) ([]byte, error) {
	if policies == nil {
		policies = []*Policy{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Policies []*Policy `json:"policies"`
	}{policies}); err != nil {
		return nil, fmt.Errorf("encode policies: %w", err)
	}
	return buf.Bytes(), nil
}
