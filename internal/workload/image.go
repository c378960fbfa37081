package workload

import (
	"errors"
	"fmt"
	"strings"
)

// Docker's defaults for image references.
const (
	DefaultRegistry = "docker.io"
	DefaultTag      = "latest"

	legacyDockerHub  = "index.docker.io"
	officialPrefix   = "library/"
	maxImageNameLen  = 255 // Docker's limit on REGISTRY/REMOTE
	maxImageTagLen   = 128
	minDigestHexLen  = 32
	maxImageRefBytes = 4096 // refuse absurd input before looking at it
)

// ParseImage parses an image reference the way Docker does and applies its
// defaults: no registry means docker.io, a one-segment name on Docker Hub
// gets the "library/" prefix, and no tag and no digest means "latest".
//
// The first path segment is a registry when it contains '.' or ':' or is
// "localhost". The parser is strict — repository path components must be
// lower-case — and returns an error rather than guessing.
func ParseImage(raw string) (Image, error) {
	img := Image{Raw: raw}
	if raw == "" {
		return img, errors.New("image reference is empty")
	}
	if len(raw) > maxImageRefBytes {
		return img, fmt.Errorf("image reference is %d bytes long, more than %d", len(raw), maxImageRefBytes)
	}
	name := raw
	if at := strings.IndexByte(raw, '@'); at >= 0 {
		name, img.Digest = raw[:at], raw[at+1:]
		if err := checkDigest(img.Digest); err != nil {
			return Image{Raw: raw}, fmt.Errorf("image %q: %w", raw, err)
		}
	}
	if colon := strings.LastIndexByte(name, ':'); colon > strings.LastIndexByte(name, '/') {
		name, img.Tag = name[:colon], name[colon+1:]
		if err := checkTag(img.Tag); err != nil {
			return Image{Raw: raw}, fmt.Errorf("image %q: %w", raw, err)
		}
	}
	if name == "" {
		return Image{Raw: raw}, fmt.Errorf("image %q: repository name is empty", raw)
	}

	img.Registry, img.Remote = DefaultRegistry, name
	if slash := strings.IndexByte(name, '/'); slash >= 0 {
		first := name[:slash]
		if strings.ContainsAny(first, ".:") || first == "localhost" {
			if err := checkRegistry(first); err != nil {
				return Image{Raw: raw}, fmt.Errorf("image %q: %w", raw, err)
			}
			img.Registry, img.Remote = first, name[slash+1:]
		}
	}
	if img.Registry == legacyDockerHub {
		img.Registry = DefaultRegistry
	}
	if img.Registry == DefaultRegistry && !strings.Contains(img.Remote, "/") {
		img.Remote = officialPrefix + img.Remote
	}
	if err := checkRemote(img.Remote); err != nil {
		return Image{Raw: raw}, fmt.Errorf("image %q: %w", raw, err)
	}
	if len(img.Registry)+1+len(img.Remote) > maxImageNameLen {
		return Image{Raw: raw}, fmt.Errorf("image %q: name is longer than %d characters", raw, maxImageNameLen)
	}
	if img.Tag == "" && img.Digest == "" {
		img.Tag = DefaultTag
	}

	var b strings.Builder
	b.Grow(len(img.Registry) + len(img.Remote) + len(img.Tag) + len(img.Digest) + 3)
	b.WriteString(img.Registry)
	b.WriteByte('/')
	b.WriteString(img.Remote)
	if img.Tag != "" {
		b.WriteByte(':')
		b.WriteString(img.Tag)
	}
	if img.Digest != "" {
		b.WriteByte('@')
		b.WriteString(img.Digest)
	}
	img.FullName = b.String()
	return img, nil
}

// checkRegistry accepts HOST[:PORT] where HOST is dot-separated DNS labels
// (letters, digits, '-' inside) or a bracketed IPv6 literal.
func checkRegistry(reg string) error {
	host, port := reg, ""
	if strings.HasPrefix(reg, "[") {
		end := strings.IndexByte(reg, ']')
		if end < 0 {
			return fmt.Errorf("registry %q: unterminated IPv6 address", reg)
		}
		host, port = reg[:end+1], strings.TrimPrefix(reg[end+1:], ":")
		if reg[end+1:] != "" && !strings.HasPrefix(reg[end+1:], ":") {
			return fmt.Errorf("registry %q: unexpected text after IPv6 address", reg)
		}
		for _, c := range host[1 : len(host)-1] {
			if !isHex(byte(c)) && c != ':' && c != '.' {
				return fmt.Errorf("registry %q: invalid IPv6 address", reg)
			}
		}
	} else {
		if colon := strings.IndexByte(reg, ':'); colon >= 0 {
			host, port = reg[:colon], reg[colon+1:]
			if port == "" {
				return fmt.Errorf("registry %q: empty port", reg)
			}
		}
		if host == "" {
			return fmt.Errorf("registry %q: empty host", reg)
		}
		for _, label := range strings.Split(host, ".") {
			if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
				return fmt.Errorf("registry %q: invalid host name", reg)
			}
			for i := 0; i < len(label); i++ {
				if c := label[i]; !isAlnum(c) && !isUpper(c) && c != '-' {
					return fmt.Errorf("registry %q: invalid character %q in host name", reg, c)
				}
			}
		}
	}
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return fmt.Errorf("registry %q: port is not a number", reg)
		}
	}
	return nil
}

// checkRemote accepts slash-separated path components of lower-case letters
// and digits joined by '.', '_', "__" or runs of '-'.
func checkRemote(remote string) error {
	for _, comp := range strings.Split(remote, "/") {
		if comp == "" {
			return errors.New("repository has an empty path component")
		}
		if !isAlnum(comp[0]) || !isAlnum(comp[len(comp)-1]) {
			return fmt.Errorf("repository path component %q must start and end with a lower-case letter or digit", comp)
		}
		for i := 1; i < len(comp)-1; i++ {
			c := comp[i]
			switch {
			case isAlnum(c):
			case c == '.' || c == '_':
				// '.' and '_' may not repeat, except the one "__" separator.
				if !separatorOK(comp, i) {
					return fmt.Errorf("repository path component %q has an invalid separator", comp)
				}
				if c == '_' && comp[i+1] == '_' {
					i++
				}
			case c == '-':
			default:
				return fmt.Errorf("repository path component %q has invalid character %q", comp, c)
			}
		}
	}
	return nil
}

// separatorOK reports whether the '.' or '_' at comp[i], inside comp, joins
// two letters or digits, taking "__" as one separator.
func separatorOK(comp string, i int) bool {
	if !isAlnum(comp[i-1]) {
		return false
	}
	if isAlnum(comp[i+1]) {
		return true
	}
	// comp ends with a letter or digit, so a '_' at i+1 has a byte after it.
	return comp[i] == '_' && comp[i+1] == '_' && isAlnum(comp[i+2])
}

// checkTag accepts [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
func checkTag(tag string) error {
	if tag == "" {
		return errors.New("tag is empty")
	}
	if len(tag) > maxImageTagLen {
		return fmt.Errorf("tag is longer than %d characters", maxImageTagLen)
	}
	for i := 0; i < len(tag); i++ {
		c := tag[i]
		if isAlnum(c) || ('A' <= c && c <= 'Z') || c == '_' || (i > 0 && (c == '.' || c == '-')) {
			continue
		}
		return fmt.Errorf("tag %q has invalid character %q", tag, c)
	}
	return nil
}

// checkDigest accepts ALGORITHM:HEX with a hex part of at least 32 digits
// (exactly 64 for sha256, 128 for sha512).
func checkDigest(d string) error {
	colon := strings.IndexByte(d, ':')
	if colon <= 0 || colon == len(d)-1 {
		return fmt.Errorf("digest %q is not ALGORITHM:HEX", d)
	}
	alg, hex := d[:colon], d[colon+1:]
	for i := 0; i < len(alg); i++ {
		c := alg[i]
		if isAlnum(c) || ('A' <= c && c <= 'Z') || (i > 0 && strings.IndexByte("+.-_", c) >= 0) {
			continue
		}
		return fmt.Errorf("digest %q has an invalid algorithm", d)
	}
	for i := 0; i < len(hex); i++ {
		if !isHex(hex[i]) {
			return fmt.Errorf("digest %q is not hexadecimal", d)
		}
	}
	switch {
	case alg == "sha256" && len(hex) != 64:
		return fmt.Errorf("digest %q: sha256 needs 64 hex digits", d)
	case alg == "sha512" && len(hex) != 128:
		return fmt.Errorf("digest %q: sha512 needs 128 hex digits", d)
	case len(hex) < minDigestHexLen:
		return fmt.Errorf("digest %q is too short", d)
	}
	return nil
}

func isAlnum(c byte) bool { return ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}
