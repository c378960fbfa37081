package java

import "strings"

// PURL is the package URL of a Maven artifact:
// pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1. An artifact whose
// group is unknown has no namespace.
func PURL(group, artifact, version string) string {
	var b strings.Builder
	b.WriteString("pkg:maven/")
	if group != "" {
		b.WriteString(escape(group))
		b.WriteByte('/')
	}
	b.WriteString(escape(artifact))
	if version != "" {
		b.WriteByte('@')
		b.WriteString(escape(version))
	}
	return b.String()
}

// escape percent-encodes everything but the unreserved characters of
// RFC 3986, as purl-spec asks of each segment.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}
