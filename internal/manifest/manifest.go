// Package manifest reads Kubernetes manifests — YAML or JSON, from files,
// directories or stdin — into normalized workloads, for `stockade
// deployment check` and Central's /v1/detect/deploy/yaml.
//
// The one idea: all inputs of one run are one picture. Services, Ingresses,
// Routes, NetworkPolicies, ServiceAccounts and RBAC objects from every file
// form a single workload.Context that is applied to every workload, so a
// Service in one file exposes the Deployment of another. Objects of other
// kinds are listed as ignored, never fatal; a syntax error or a field of
// the wrong type is an *Error naming the file and line. The one exception
// is a wrong-typed value inside a volume's source or an object's status —
// storage-plugin settings where templates leave placeholders such as
// `lun: "<ADD LUN ID Here>"` — which is dropped and reported as a warning.
//
// Reading is built for speed, since CI runs it on every commit: files are
// listed, read and decoded in parallel; the YAML that manifests are made of
// is parsed by a small purpose-built parser (fastyaml.go), which hands
// anything unusual, and every syntax error, to go.yaml.in/yaml/v3; and one
// decoder fills the k8s.io/api types straight from either parser's nodes,
// with no JSON round trip.
package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"

	"github.com/stockade-dev/stockade/internal/workload"
)

// Limits on hostile input.
const (
	// MaxInputSize bounds one file, stdin or request body.
	MaxInputSize = 64 << 20
	// maxDepth bounds the nesting of one document; real manifests stay
	// under 20.
	maxDepth = 100
	// Alias expansion may visit at most this many nodes more than the
	// document holds, times aliasFactor.
	aliasSlack  = 100_000
	aliasFactor = 10
)

// Errors a caller may want to tell apart (errors.Is), for instance to
// answer 413 rather than 400.
var (
	ErrTooLarge  = errors.New("input is larger than 64 MiB")
	ErrTooDeep   = errors.New("document is nested deeper than 100 levels")
	ErrExpansion = errors.New("YAML aliases expand the document too far")
)

// Error is a problem in the content of one input: a YAML or JSON syntax
// error, a value of the wrong type, or input over the limits.
type Error struct {
	File string // as given; "-" for stdin
	Line int    // 1-based; 0 when the problem has no line
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Err.Error()
	}
	return e.File + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Result is what one run read.
type Result struct {
	// Deployments are the workloads in input order, enriched with the
	// Context.
	Deployments []*workload.Deployment
	// Ignored lists the objects that are neither workloads nor context,
	// and workloads that cannot be normalized, in input order.
	Ignored []Ignored
	// Objects counts the Kubernetes objects read (List items one by one;
	// empty documents not at all).
	Objects int
	// Context holds the Services, NetworkPolicies, RBAC objects, … of all
	// inputs together.
	Context *workload.Context
	// Warnings are wrong-typed values inside a volume's source or an
	// object's status: the value is dropped and the object still checked.
	Warnings []*Error
}

// Ignored is an object that was not checked, and why.
type Ignored struct {
	Source workload.Source
	Kind   string
	Name   string
	Reason string
}

// Reasons an object is ignored.
const (
	ReasonNotWorkload = "not a workload"
	ReasonNoKind      = "no apiVersion/kind: not a Kubernetes object"
	ReasonNotObject   = "not a Kubernetes object (not a mapping)"
)

// Stdin is the path that names standard input.
const Stdin = "-"

// Parse reads one input held in memory, such as a request body; name
// stands for its file in messages and Sources.
func Parse(name string, data []byte) (*Result, error) {
	pt := newParser().parse(name, data)
	if pt.err != nil {
		return nil, pt.err
	}
	return assemble([]part{pt}), nil
}

func isManifestName(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	return ext == ".yaml" || ext == ".yml" || ext == ".json"
}

// readLimited reads r to its end, refusing more than MaxInputSize bytes.
func readLimited(r io.Reader, sizeHint int64) ([]byte, error) {
	if sizeHint > MaxInputSize {
		return nil, ErrTooLarge
	}
	var buf bytes.Buffer
	buf.Grow(int(sizeHint) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(r, MaxInputSize+1)); err != nil {
		return nil, err
	}
	if buf.Len() > MaxInputSize {
		return nil, ErrTooLarge
	}
	return buf.Bytes(), nil
}

func errorFor(name string, err error) error {
	var pe *fs.PathError
	switch {
	case errors.Is(err, ErrTooLarge):
		return &Error{File: name, Err: err}
	case errors.As(err, &pe):
		return fmt.Errorf("read manifests: %w", err)
	default:
		return fmt.Errorf("read %s: %w", name, err)
	}
}

// part is what one input holds.
type part struct {
	deployments []*workload.Deployment
	context     []k8sruntime.Object
	ignored     []Ignored
	warnings    []*Error
	objects     int
	err         error
}

func assemble(parts []part) *Result {
	res := &Result{Context: workload.NewContext()}
	n := 0
	for i := range parts {
		pt := &parts[i]
		for _, obj := range pt.context {
			res.Context.Add(obj)
		}
		n += len(pt.deployments)
	}
	res.Deployments = make([]*workload.Deployment, 0, n)
	for i := range parts {
		pt := &parts[i]
		for _, d := range pt.deployments {
			res.Context.Enrich(d)
			res.Deployments = append(res.Deployments, d)
		}
		res.Ignored = append(res.Ignored, pt.ignored...)
		res.Warnings = append(res.Warnings, pt.warnings...)
		res.Objects += pt.objects
	}
	return res
}

// parser reads inputs one at a time; each goroutine has its own.
type parser struct {
	dec     *decoder
	scratch fastScratch
	buf     []byte // file contents, reused
}

func newParser() *parser { return &parser{dec: newDecoder()} }

func (p *parser) parse(name string, data []byte) part {
	var pt part
	if len(data) > MaxInputSize {
		pt.err = &Error{File: name, Err: ErrTooLarge}
		return pt
	}
	// One copy into a string: every scalar the parsers produce is then a
	// substring of it, with no allocation of its own.
	text := strings.TrimPrefix(string(data), "\xef\xbb\xbf")
	if looksLikeJSON(name, text) {
		jp := &jsonParser{data: text, line: 1}
		for {
			n, err := jp.next()
			if err != nil {
				var je *jsonError
				if errors.As(err, &je) && (strings.EqualFold(filepath.Ext(name), ".json") || pt.objects > 0) {
					pt.err = &Error{File: name, Line: je.line, Err: je.err}
					return pt
				}
				// Not JSON after all: YAML flow style also starts with
				// a brace. Read it as YAML from the start.
				return p.parseYAML(name, text)
			}
			if n == nil {
				return pt
			}
			if pt.err = p.document(name, n, &pt); pt.err != nil {
				return pt
			}
		}
	}
	return p.parseYAML(name, text)
}

func looksLikeJSON(name, text string) bool {
	trimmed := strings.TrimLeft(text, " \t\r\n")
	return len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') ||
		strings.EqualFold(filepath.Ext(name), ".json") && len(trimmed) > 0
}

// parseYAML reads the documents of text, the common kind quickly and the
// rest (and every syntax error) with yaml.v3.
func (p *parser) parseYAML(name, text string) part {
	var pt part
	if roots, ok := fastYAML(text, &p.scratch); ok {
		for _, root := range roots {
			if pt.err = p.document(name, root, &pt); pt.err != nil {
				return pt
			}
		}
		return pt
	}
	dec := yaml.NewDecoder(strings.NewReader(text))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return pt
			}
			pt.err = yamlError(name, err)
			return pt
		}
		if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
			continue
		}
		root := fromYAML(doc.Content[0], map[*yaml.Node]*node{})
		if pt.err = p.document(name, root, &pt); pt.err != nil {
			return pt
		}
	}
}

// yamlError turns "yaml: line 12: mapping values are not allowed in this
// context" into an *Error with its line.
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				line, msg = n, tail
			}
		}
	}
	return &Error{File: name, Line: line, Err: errors.New(msg)}
}

// document reads one top-level document.
func (p *parser) document(name string, n *node, pt *part) error {
	if isNull(n) {
		return nil // an empty document
	}
	nodes, err := measure(n, 0)
	if err != nil {
		return fileError(name, n, err)
	}
	p.dec.budget = aliasFactor*nodes + aliasSlack
	return p.object(name, n, pt, "", "")
}

// measure counts the nodes of a document, refusing one nested too deep.
// Aliases are not followed here; decoding counts them.
func measure(n *node, depth int) (int, error) {
	if depth > maxDepth {
		return 0, errAt(n, "%w", ErrTooDeep)
	}
	count := 1
	for _, c := range n.content {
		k, err := measure(c, depth+1)
		if err != nil {
			return 0, err
		}
		count += k
	}
	return count, nil
}

func fileError(name string, n *node, err error) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		return &Error{File: name, Line: fe.line, Err: err}
	}
	return &Error{File: name, Line: int(n.line), Err: err}
}

// object reads one object, unwrapping Lists; itemVersion and itemKind are
// the defaults a typed List (DeploymentList, …) gives its items.
func (p *parser) object(file string, n *node, pt *part, itemVersion, itemKind string) error {
	for n.kind == aliasNode && n.alias != nil {
		n = n.alias
	}
	src := workload.Source{File: file, Line: int(n.line)}
	if n.kind != mappingNode {
		pt.objects++
		pt.ignored = append(pt.ignored, Ignored{Source: src, Reason: ReasonNotObject})
		return nil
	}
	h, err := readHeader(n)
	if err != nil {
		return fileError(file, n, err)
	}
	if h.apiVersion == "" {
		h.apiVersion = itemVersion
	}
	if h.kind == "" {
		h.kind = itemKind
	}
	if strings.HasSuffix(h.kind, "List") && h.items != nil {
		return p.list(file, h, pt)
	}
	pt.objects++
	if h.kind == "" || h.apiVersion == "" {
		pt.ignored = append(pt.ignored, Ignored{Source: src, Kind: h.kind, Name: h.name, Reason: ReasonNoKind})
		return nil
	}
	obj := newObject(h.apiVersion, h.kind)
	if obj == nil {
		pt.ignored = append(pt.ignored, Ignored{Source: src, Kind: h.kind, Name: h.name, Reason: ReasonNotWorkload})
		return nil
	}
	p.dec.warnings = p.dec.warnings[:0]
	if err := p.dec.decode(n, reflect.ValueOf(obj).Elem(), 0); err != nil {
		return fileError(file, n, err)
	}
	for _, w := range p.dec.warnings {
		pt.warnings = append(pt.warnings, &Error{File: file, Line: w.line, Err: w})
	}
	if li, ok := obj.(*legacyIngress); ok {
		obj = li.toV1()
	}
	d, isWorkload, err := workload.FromObject(obj, "")
	switch {
	case isWorkload && err != nil:
		pt.ignored = append(pt.ignored, Ignored{Source: src, Kind: h.kind, Name: h.name, Reason: err.Error()})
	case isWorkload:
		d.Source = src
		pt.deployments = append(pt.deployments, d)
	default:
		pt.context = append(pt.context, obj)
	}
	return nil
}

func (p *parser) list(file string, h header, pt *part) error {
	items := h.items
	for items.kind == aliasNode && items.alias != nil {
		items = items.alias
	}
	if isNull(items) {
		return nil
	}
	if items.kind != sequenceNode {
		return &Error{File: file, Line: int(items.line), Err: fmt.Errorf("items: expected a list, got %s", describe(items))}
	}
	itemKind := ""
	if h.kind != "List" {
		itemKind = strings.TrimSuffix(h.kind, "List")
	}
	for _, item := range items.content {
		if err := p.object(file, item, pt, h.apiVersion, itemKind); err != nil {
			return err
		}
	}
	return nil
}

type header struct {
	apiVersion, kind, name string
	items                  *node
}

// readHeader reads apiVersion, kind, metadata.name and items without
// decoding the rest, so that unknown kinds cost nothing more.
func readHeader(n *node) (header, error) {
	var h header
	for i := 0; i+1 < len(n.content); i += 2 {
		k, v := n.content[i], n.content[i+1]
		if k.kind != scalarNode {
			continue
		}
		var err error
		switch k.value {
		case "apiVersion":
			h.apiVersion, err = headerString(v)
		case "kind":
			h.kind, err = headerString(v)
		case "items":
			h.items = v
		case "metadata":
			for v.kind == aliasNode && v.alias != nil {
				v = v.alias
			}
			if v.kind == mappingNode {
				for j := 0; j+1 < len(v.content); j += 2 {
					if v.content[j].value == "name" {
						h.name, err = headerString(v.content[j+1])
						err = within(err, "name")
					}
				}
			}
		}
		if err != nil {
			return h, within(err, k.value)
		}
	}
	return h, nil
}

func headerString(n *node) (string, error) {
	for n.kind == aliasNode && n.alias != nil {
		n = n.alias
	}
	if isNull(n) {
		return "", nil
	}
	if n.kind != scalarNode {
		return "", errAt(n, "expected a string, got %s", describe(n))
	}
	return n.value, nil
}
