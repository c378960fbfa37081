// Package python finds installed Python distributions from their core
// metadata: *.dist-info/METADATA (wheels, pip), *.egg-info/PKG-INFO and
// *.egg-info files (setuptools, distribution packages), and EGG-INFO/PKG-INFO
// inside eggs.
//
// The one idea: the metadata is a block of RFC 822 headers naming the
// distribution (Name, Version, License); the body after the first blank line
// is the long description and is never read. Components keep the name as the
// distribution spells it ("PyYAML"); vulnerability records are matched on
// Normalize(name) ("pyyaml"), as PEP 503 prescribes for the package index.
package python

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/purl"
)

// MaxHeader is the most bytes of a metadata file read: the headers come
// first, and even metadata 1.x with the description folded into a header
// stays well below it.
const MaxHeader = 1 << 20

// Metadata is what a distribution's core metadata says about it.
type Metadata struct {
	Name    string
	Version string
	License string
}

// ParseMetadata reads the header block of a core metadata file. Headers
// beyond MaxHeader bytes are not read; a file without Name and Version is
// an error.
func ParseMetadata(r io.Reader) (Metadata, error) {
	headers, stop, err := readHeaders(io.LimitReader(r, MaxHeader))
	if err != nil {
		return Metadata{}, err
	}
	m := Metadata{
		Name:    single(headers["name"]),
		Version: single(headers["version"]),
		License: licenseOf(headers),
	}
	switch {
	case (m.Name == "" || m.Version == "") && stop != nil:
		return Metadata{}, stop
	case m.Name == "":
		return Metadata{}, errors.New("no Name header")
	case m.Version == "":
		return Metadata{}, fmt.Errorf("distribution %s: no Version header", m.Name)
	case strings.ContainsAny(m.Name+m.Version, " \t"):
		return Metadata{}, fmt.Errorf("distribution %q: malformed name or version %q", m.Name, m.Version)
	}
	return m, nil
}

// readHeaders collects "Key: value" headers (keys lower-cased, repeated keys
// kept in order) up to the first blank line. Continuation lines start with
// a space or tab; a value's lines are joined with "\n". A line that is not a
// header ends the block too, and comes back as stop: the headers before it
// may still name the distribution. Over-long input ends the block where the
// limit cut it.
func readHeaders(r io.Reader) (headers map[string][]string, stop, err error) {
	headers = map[string][]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), MaxHeader)
	var last string
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if last == "" {
				stop = fmt.Errorf("line %d: continuation line before any header", n)
				break
			}
			vs := headers[last]
			vs[len(vs)-1] += "\n" + strings.TrimSpace(line)
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			stop = fmt.Errorf("line %d: not a header: %.60q", n, line)
			break
		}
		last = strings.ToLower(k)
		headers[last] = append(headers[last], strings.TrimSpace(v))
	}
	if err := sc.Err(); err != nil && !errors.Is(err, bufio.ErrTooLong) {
		return nil, nil, err
	}
	return headers, stop, nil
}

func single(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return strings.TrimSpace(vs[0])
}

// licenseOf picks the declared licence: the SPDX License-Expression of
// metadata 2.4; else a one-line License header (many distributions paste the
// whole licence text there, which names nothing); else the licence
// classifiers ("License :: OSI Approved :: MIT License" → "MIT License").
func licenseOf(h map[string][]string) string {
	if e := single(h["license-expression"]); e != "" {
		return e
	}
	if l := single(h["license"]); l != "" && !strings.Contains(l, "\n") && len(l) <= 100 && !strings.EqualFold(l, "UNKNOWN") {
		return l
	}
	var names []string
	for _, c := range h["classifier"] {
		parts := strings.Split(c, "::")
		if len(parts) < 2 || strings.TrimSpace(parts[0]) != "License" {
			continue
		}
		name := strings.TrimSpace(parts[len(parts)-1])
		if name != "" && name != "OSI Approved" {
			names = append(names, name)
		}
	}
	return strings.Join(names, ", ")
}

// Normalize is the PEP 503 form of a distribution name: lower case, every
// run of "-", "_" and "." replaced by a single "-". The package index, and
// the PyPI ecosystem of OSV, identify distributions by it.
func Normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '-' || c == '_' || c == '.' {
			sep = true
			continue
		}
		if sep && b.Len() > 0 {
			b.WriteByte('-')
		}
		sep = false
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}

func component(m Metadata, path string) catalog.Component {
	return catalog.Component{
		Name:      m.Name,
		Version:   m.Version,
		Ecosystem: catalog.PyPI,
		Path:      path,
		PURL:      PURL(m.Name, m.Version),
		License:   m.License,
	}
}

// PURL is the package URL of a Python distribution (see purl.PyPI): the
// name in lower case with "_" replaced by "-": pkg:pypi/pyyaml@6.0.1.
func PURL(name, version string) string { return purl.PyPI(name, version) }
