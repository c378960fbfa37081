// Package osrelease identifies an image's operating system from the files a
// distribution ships for that purpose: etc/os-release (or usr/lib/os-release),
// with etc/debian_version, etc/alpine-release and etc/redhat-release as
// fallbacks for images whose os-release is missing or incomplete.
//
// The one idea: the layer walker hands over the content of every such file a
// layer writes (they are tiny), and Detect combines them in a fixed order of
// precedence, so the result does not depend on the order of the tar stream.
package osrelease

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// Name and Version identify the detection rules in cache keys; bump Version
// when Detect's output for the same files changes.
const (
	Name    = "osrelease"
	Version = 1
)

// MaxSize is the largest OS identification file read; real ones are a few
// hundred bytes.
const MaxSize = 64 << 10

// The files Detect understands, in order of precedence.
const (
	EtcOSRelease    = "etc/os-release"
	UsrLibOSRelease = "usr/lib/os-release"
	DebianVersion   = "etc/debian_version"
	AlpineRelease   = "etc/alpine-release"
	RedHatRelease   = "etc/redhat-release"
)

// Match reports whether path (relative, no leading slash) is one of the files
// Detect reads.
func Match(path string) bool {
	switch path {
	case EtcOSRelease, UsrLibOSRelease, DebianVersion, AlpineRelease, RedHatRelease:
		return true
	}
	return false
}

// Detect returns the OS the files describe, or nil when they name none.
// files maps a path accepted by Match to its content. A malformed file is
// reported in the error and skipped; the OS from the other files is still
// returned.
func Detect(files map[string][]byte) (*catalog.OS, error) {
	var errs []string
	var osr map[string]string
	for _, p := range []string{EtcOSRelease, UsrLibOSRelease} {
		data, ok := files[p]
		if !ok {
			continue
		}
		kv, err := ParseOSRelease(data)
		if err != nil {
			errs = append(errs, fmt.Sprintf("parse %s: %v", p, err))
			continue
		}
		if kv["ID"] != "" {
			osr = kv
			break
		}
		errs = append(errs, fmt.Sprintf("parse %s: no ID", p))
	}

	var os *catalog.OS
	if osr != nil {
		os = &catalog.OS{
			ID:              strings.ToLower(osr["ID"]),
			VersionID:       osr["VERSION_ID"],
			VersionCodename: osr["VERSION_CODENAME"],
			PrettyName:      osr["PRETTY_NAME"],
		}
		if os.VersionCodename == "" && (os.ID == "debian" || os.ID == "ubuntu") {
			// Older releases (Debian 8, Ubuntu 14.04) only say
			// VERSION="8 (jessie)" or "14.04.6 LTS, Trusty Tahr".
			os.VersionCodename = codenameFromVersion(osr["VERSION"])
		}
	}

	if data, ok := files[DebianVersion]; ok && (os == nil || os.ID == "debian") {
		ver, code, err := parseDebianVersion(data)
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("parse %s: %v", DebianVersion, err))
		case os == nil:
			os = &catalog.OS{ID: "debian", VersionID: ver, VersionCodename: code}
		default:
			if os.VersionID == "" {
				os.VersionID = ver
			}
			if os.VersionCodename == "" {
				os.VersionCodename = code
			}
		}
	}
	if data, ok := files[AlpineRelease]; ok && os == nil {
		v := firstLine(data)
		if alpineVersion.MatchString(v) {
			os = &catalog.OS{ID: "alpine", VersionID: v}
		} else {
			errs = append(errs, fmt.Sprintf("parse %s: unexpected content %q", AlpineRelease, truncate(v)))
		}
	}
	if data, ok := files[RedHatRelease]; ok && os == nil {
		if r, ok := parseRedHatRelease(firstLine(data)); ok {
			os = r
		} else {
			errs = append(errs, fmt.Sprintf("parse %s: unexpected content %q", RedHatRelease, truncate(firstLine(data))))
		}
	}

	if os != nil && os.PrettyName == "" {
		os.PrettyName = strings.TrimSpace(os.ID + " " + os.VersionID)
		if os.VersionCodename != "" {
			os.PrettyName += " (" + os.VersionCodename + ")"
		}
	}
	if len(errs) > 0 {
		return os, fmt.Errorf("detect os: %s", strings.Join(errs, "; "))
	}
	return os, nil
}

// ParseOSRelease parses the os-release format (freedesktop.org): KEY=VALUE
// lines, values unquoted or in single or double quotes with backslash
// escapes in double quotes; blank lines and # comments are ignored.
func ParseOSRelease(data []byte) (map[string]string, error) {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), MaxSize)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || s[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		if !ok || !validKey(k) {
			return nil, fmt.Errorf("line %d: not KEY=VALUE", line)
		}
		val, err := unquote(v)
		if err != nil {
			return nil, fmt.Errorf("line %d: %s: %w", line, k, err)
		}
		kv[k] = val
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return kv, nil
}

func validKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '_' && (r < 'a' || r > 'z') {
			return false
		}
	}
	return true
}

func unquote(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	switch q := v[0]; q {
	case '"', '\'':
		if len(v) < 2 || v[len(v)-1] != q {
			return "", fmt.Errorf("unterminated %c quote", q)
		}
		inner := v[1 : len(v)-1]
		if q == '\'' {
			return inner, nil
		}
		var b strings.Builder
		for i := 0; i < len(inner); i++ {
			c := inner[i]
			if c == '\\' && i+1 < len(inner) {
				i++
				c = inner[i]
			}
			b.WriteByte(c)
		}
		return b.String(), nil
	}
	return v, nil
}

var (
	parenCodename = regexp.MustCompile(`\(([A-Za-z]+)\)`)
	commaCodename = regexp.MustCompile(`,\s*([A-Za-z]+)`)
	alpineVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+(\.[0-9]+)?([._][A-Za-z0-9_]+)?$`)
	redHatRelease = regexp.MustCompile(`^(.*?)\s+release\s+([0-9][0-9.]*)`)
)

func codenameFromVersion(v string) string {
	if m := parenCodename.FindStringSubmatch(v); m != nil {
		return strings.ToLower(m[1])
	}
	if m := commaCodename.FindStringSubmatch(v); m != nil {
		return strings.ToLower(m[1])
	}
	return ""
}

// debianCodenames maps Debian major versions to their release names, so that
// an image with only etc/debian_version still gets a codename.
var debianCodenames = map[int]string{
	7: "wheezy", 8: "jessie", 9: "stretch", 10: "buster", 11: "bullseye",
	12: "bookworm", 13: "trixie", 14: "forky", 15: "duke",
}

// parseDebianVersion reads "12.5" (a stable point release: version "12") or
// "trixie/sid" (testing: codename only).
func parseDebianVersion(data []byte) (version, codename string, err error) {
	s := firstLine(data)
	if s == "" {
		return "", "", fmt.Errorf("empty")
	}
	if name, _, ok := strings.Cut(s, "/"); ok {
		if name == "" || !isLetters(name) {
			return "", "", fmt.Errorf("unexpected content %q", truncate(s))
		}
		return "", name, nil
	}
	major, _, _ := strings.Cut(s, ".")
	n, err := strconv.Atoi(major)
	if err != nil || n <= 0 {
		return "", "", fmt.Errorf("unexpected content %q", truncate(s))
	}
	return major, debianCodenames[n], nil
}

func parseRedHatRelease(s string) (*catalog.OS, bool) {
	m := redHatRelease.FindStringSubmatch(s)
	if m == nil {
		return nil, false
	}
	name := strings.ToLower(m[1])
	var id string
	switch {
	case strings.HasPrefix(name, "red hat enterprise linux"):
		id = "rhel"
	case strings.HasPrefix(name, "centos"):
		id = "centos"
	case strings.HasPrefix(name, "rocky linux"):
		id = "rocky"
	case strings.HasPrefix(name, "almalinux"):
		id = "almalinux"
	case strings.HasPrefix(name, "fedora"):
		id = "fedora"
	case strings.HasPrefix(name, "oracle linux"):
		id = "ol"
	default:
		return nil, false
	}
	return &catalog.OS{ID: id, VersionID: m[2], PrettyName: s}, true
}

func firstLine(data []byte) string {
	s, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSpace(s)
}

func isLetters(s string) bool {
	for _, r := range s {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
