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
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &ParseError{Source: source, Err: err}
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil, &ParseError{Source: source, Err: errors.New("empty document")}
	}
	doc := root.Content[0]
	var items []*yaml.Node
	switch doc.Kind {
	case yaml.SequenceNode:
		items = doc.Content
	case yaml.MappingNode:
		if len(doc.Content) == 2 && doc.Content[0].Value == "policies" {
			if doc.Content[1].Kind != yaml.SequenceNode {
				return nil, &ParseError{Source: source, Line: doc.Content[1].Line, Err: errors.New("policies: want a list")}
			}
			items = doc.Content[1].Content
		} else {
			items = []*yaml.Node{doc}
		}
	default:
		return nil, &ParseError{Source: source, Line: doc.Line, Err: errors.New("want a policy, a list of policies or {policies: [...]}")}
	}
	out := make([]*Policy, 0, len(items))
	for i, item := range items {
		// Re-encode each item and decode strictly: yaml.Node.Decode has no
		// known-fields mode, the Decoder does.
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		if err := enc.Encode(item); err != nil {
			return nil, &ParseError{Source: source, Line: item.Line, Err: err}
		}
		dec := yaml.NewDecoder(&buf)
		dec.KnownFields(true)
		p := new(Policy)
		if err := dec.Decode(p); err != nil {
			return nil, &ParseError{Source: source, Line: item.Line, Policy: fmt.Sprintf("%d", i+1), Err: yamlErrorOffset(err, item.Line-1)}
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, &ParseError{Source: source, Err: errors.New("no policies in document")}
	}
	return out, nil
}

// yamlErrorOffset rewrites "line N:" in a yaml error, which counts from the
// re-encoded item, into a line of the original document.
func yamlErrorOffset(err error, offset int) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		var n int
		var rest string
		if k, _ := fmt.Sscanf(m, "line %d:", &n); k == 1 {
			if idx := strings.Index(m, ":"); idx >= 0 {
				rest = m[idx+1:]
			}
			msgs[i] = fmt.Sprintf("line %d:%s", n+offset, rest)
			continue
		}
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "; "))
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
