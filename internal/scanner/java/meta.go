package java

import (
	"strconv"
	"strings"
)

// ParseProperties reads a Java .properties file (the format of Maven's
// pom.properties): "key=value", "key: value" or "key value" lines, "#" and
// "!" comments, backslash line continuations and escapes. Malformed escapes
// are kept literally; later keys win.
func ParseProperties(b []byte) map[string]string {
	props := map[string]string{}
	lines := splitLines(string(b))
	for i := 0; i < len(lines); i++ {
		line := strings.TrimLeft(lines[i], " \t\f")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		// A line ending in an odd number of backslashes continues on the next.
		for continues(line) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(lines[i], " \t\f")
		}
		key, value := splitProperty(line)
		props[unescape(key)] = unescape(value)
	}
	return props
}

func continues(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

func splitProperty(line string) (key, value string) {
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		if c == '\\' {
			i++
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
	}
	if i >= len(line) {
		return line, ""
	}
	key, rest := line[:i], line[i:]
	rest = strings.TrimLeft(rest, " \t\f")
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = strings.TrimLeft(rest[1:], " \t\f")
	}
	return key, strings.TrimRight(rest, " \t\f")
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			if i+5 <= len(s) {
				if r, err := strconv.ParseUint(s[i+1:i+5], 16, 16); err == nil {
					b.WriteRune(rune(r))
					i += 4
					continue
				}
			}
			b.WriteString(`\u`)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.Split(s, "\n")
}

// ParseManifest reads the main section of a JAR manifest (META-INF/MANIFEST.MF):
// "Name: value" headers up to the first empty line, continuation lines
// starting with one space. Lines that are not headers are ignored.
func ParseManifest(b []byte) map[string]string {
	attrs := map[string]string{}
	last := ""
	for _, line := range splitLines(string(b)) {
		if line == "" {
			if len(attrs) > 0 {
				break
			}
			continue
		}
		if line[0] == ' ' {
			if last != "" {
				attrs[last] += line[1:]
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			last = ""
			continue
		}
		last = strings.TrimSpace(k)
		attrs[last] = strings.TrimSpace(v)
	}
	for k, v := range attrs {
		attrs[k] = strings.TrimSpace(v)
	}
	return attrs
}

// FromManifest names a jar from its manifest attributes: the version from
// Implementation-Version (or Bundle-Version, Specification-Version); the
// artifact from the file name when it has one (fileArtifact), else
// Implementation-Title, Bundle-SymbolicName or Automatic-Module-Name; the
// group, best effort, from Implementation-Vendor-Id or else the OSGi symbolic
// name or module name without its last segment
// ("org.apache.logging.log4j.core" → "org.apache.logging.log4j").
func FromManifest(attrs map[string]string, fileArtifact string) (group, artifact, version string, ok bool) {
	version = first(attrs, "Implementation-Version", "Bundle-Version", "Specification-Version")
	bsn, _, _ := strings.Cut(attrs["Bundle-SymbolicName"], ";")
	bsn = strings.TrimSpace(bsn)
	module := attrs["Automatic-Module-Name"]

	artifact = fileArtifact
	if artifact == "" {
		switch {
		case valid(attrs["Implementation-Title"]):
			artifact = attrs["Implementation-Title"]
		case valid(bsn):
			artifact = lastSegment(bsn)
		case valid(module):
			artifact = lastSegment(module)
		}
	}
	if !valid(artifact) || !valid(version) {
		return "", "", "", false
	}

	return manifestGroup(attrs["Implementation-Vendor-Id"], bsn, module, artifact), artifact, version, true
}

// knownGroup names the Maven group of artifact families built without
// pom.properties, by the prefix of their module or symbolic name; the Spring
// projects (built with Gradle) are the ones vulnerability records name most.
func knownGroup(id string) string {
	switch {
	case strings.HasPrefix(id, "spring.boot"):
		return "org.springframework.boot"
	case strings.HasPrefix(id, "spring.security"):
		return "org.springframework.security"
	case strings.HasPrefix(id, "spring."):
		return "org.springframework"
	}
	return ""
}

func manifestGroup(vendorID, bsn, module, artifact string) string {
	if valid(vendorID) {
		return vendorID
	}
	for _, id := range []string{module, bsn} {
		if g := knownGroup(id); g != "" {
			return g
		}
	}
	// "org.apache.logging.log4j.core" names its group in all but the last
	// segment; names of fewer than three segments say too little.
	for _, id := range []string{bsn, module} {
		if !valid(id) || strings.Count(id, ".") < 2 {
			continue
		}
		if g, ok := strings.CutSuffix(id, "."+artifact); ok {
			return g
		}
		return id[:strings.LastIndexByte(id, '.')]
	}
	return ""
}

func first(attrs map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := attrs[k]; valid(v) {
			return v
		}
	}
	return ""
}

func lastSegment(id string) string {
	return id[strings.LastIndexByte(id, '.')+1:]
}
