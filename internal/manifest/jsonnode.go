package manifest

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonParser reads a stream of JSON values (one, or several separated by
// white space) into the same node trees the YAML parser makes, with lines,
// so that JSON and YAML input share one decoder. It is faster than reading
// JSON as YAML and accepts JSON that YAML does not (tabs, for one).
type jsonParser struct {
	data string
	pos  int
	line int
}

type jsonError struct {
	line int
	err  error
}

func (e *jsonError) Error() string { return e.err.Error() }
func (e *jsonError) Unwrap() error { return e.err }

func (p *jsonParser) fail(format string, args ...any) error {
	return &jsonError{line: p.line, err: fmt.Errorf(format, args...)}
}

// next returns the next top-level value, or nil at the end of the input.
func (p *jsonParser) next() (*node, error) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, nil
	}
	return p.value(0)
}

func (p *jsonParser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case '\n':
			p.line++
		case ' ', '\t', '\r':
		default:
			return
		}
		p.pos++
	}
}

func (p *jsonParser) value(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, p.fail("%w", ErrTooDeep)
	}
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, p.fail("unexpected end of JSON input")
	}
	line := p.line
	switch c := p.data[p.pos]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		s, err := p.str()
		if err != nil {
			return nil, err
		}
		return &node{kind: scalarNode, tag: tagStr, value: s, line: int32(line), style: styleDoubleQuoted}, nil
	case c == '-' || ('0' <= c && c <= '9'):
		return p.number()
	case p.literal("true"):
		return &node{kind: scalarNode, tag: tagBool, value: "true", line: int32(line)}, nil
	case p.literal("false"):
		return &node{kind: scalarNode, tag: tagBool, value: "false", line: int32(line)}, nil
	case p.literal("null"):
		return &node{kind: scalarNode, tag: tagNull, value: "null", line: int32(line)}, nil
	default:
		return nil, p.fail("invalid character %q looking for a JSON value", rune(c))
	}
}

func (p *jsonParser) literal(word string) bool {
	if len(p.data)-p.pos >= len(word) && p.data[p.pos:p.pos+len(word)] == word {
		p.pos += len(word)
		return true
	}
	return false
}

func (p *jsonParser) object(depth int) (*node, error) {
	n := &node{kind: mappingNode, tag: tagMap, line: int32(p.line), style: styleFlow}
	p.pos++ // {
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == '}' {
		p.pos++
		return n, nil
	}
	for {
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != '"' {
			return nil, p.fail("expected a string key in JSON object")
		}
		line := p.line
		key, err := p.str()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.data) || p.data[p.pos] != ':' {
			return nil, p.fail("expected ':' after JSON object key %q", truncate(key))
		}
		p.pos++
		val, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.content = append(n.content, &node{kind: scalarNode, tag: tagStr, value: key, line: int32(line)}, val)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.fail("unexpected end of JSON input in object")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return n, nil
		default:
			return nil, p.fail("expected ',' or '}' in JSON object, got %q", rune(p.data[p.pos]))
		}
	}
}

func (p *jsonParser) array(depth int) (*node, error) {
	n := &node{kind: sequenceNode, tag: tagSeq, line: int32(p.line), style: styleFlow}
	p.pos++ // [
	p.skipSpace()
	if p.pos < len(p.data) && p.data[p.pos] == ']' {
		p.pos++
		return n, nil
	}
	for {
		val, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		n.content = append(n.content, val)
		p.skipSpace()
		if p.pos >= len(p.data) {
			return nil, p.fail("unexpected end of JSON input in array")
		}
		switch p.data[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return n, nil
		default:
			return nil, p.fail("expected ',' or ']' in JSON array, got %q", rune(p.data[p.pos]))
		}
	}
}

func (p *jsonParser) number() (*node, error) {
	start, tag := p.pos, tagInt
	digits := func() int {
		n := 0
		for p.pos < len(p.data) && '0' <= p.data[p.pos] && p.data[p.pos] <= '9' {
			p.pos++
			n++
		}
		return n
	}
	if p.data[p.pos] == '-' {
		p.pos++
	}
	intStart := p.pos
	if digits() == 0 || (p.data[intStart] == '0' && p.pos-intStart > 1) {
		return nil, p.fail("invalid JSON number %q", p.data[start:p.pos])
	}
	if p.pos < len(p.data) && p.data[p.pos] == '.' {
		p.pos++
		tag = tagFloat
		if digits() == 0 {
			return nil, p.fail("invalid JSON number %q", p.data[start:p.pos])
		}
	}
	if p.pos < len(p.data) && (p.data[p.pos] == 'e' || p.data[p.pos] == 'E') {
		p.pos++
		tag = tagFloat
		if p.pos < len(p.data) && (p.data[p.pos] == '+' || p.data[p.pos] == '-') {
			p.pos++
		}
		if digits() == 0 {
			return nil, p.fail("invalid JSON number %q", p.data[start:p.pos])
		}
	}
	return &node{kind: scalarNode, tag: tag, value: p.data[start:p.pos], line: int32(p.line)}, nil
}

// str reads a JSON string at p.pos, which holds the opening quote.
func (p *jsonParser) str() (string, error) {
	p.pos++
	start := p.pos
	// Fast path: no escapes.
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			s := p.data[start:p.pos]
			p.pos++
			return s, nil
		}
		if c == '\\' {
			break
		}
		if c < 0x20 {
			return "", p.fail("control character in JSON string")
		}
		p.pos++
	}
	buf := []byte(p.data[start:p.pos])
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch {
		case c == '"':
			p.pos++
			return string(buf), nil
		case c < 0x20:
			return "", p.fail("control character in JSON string")
		case c != '\\':
			buf = append(buf, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.data) {
			break
		}
		esc := p.data[p.pos+1]
		p.pos += 2
		switch esc {
		case '"', '\\', '/':
			buf = append(buf, esc)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return "", p.fail("invalid \\u escape in JSON string")
			}
			if utf16.IsSurrogate(r) {
				if r2, ok2 := p.lowSurrogate(); ok2 {
					r = utf16.DecodeRune(r, r2)
				} else {
					r = utf8.RuneError
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", p.fail("invalid escape \\%c in JSON string", esc)
		}
	}
	return "", p.fail("unterminated JSON string")
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	v, err := strconv.ParseUint(p.data[p.pos:p.pos+4], 16, 32)
	if err != nil {
		return 0, false
	}
	p.pos += 4
	return rune(v), true
}

func (p *jsonParser) lowSurrogate() (rune, bool) {
	if len(p.data)-p.pos < 6 || p.data[p.pos] != '\\' || p.data[p.pos+1] != 'u' {
		return 0, false
	}
	save := p.pos
	p.pos += 2
	r, ok := p.hex4()
	if !ok || r < 0xDC00 || r > 0xDFFF {
		p.pos = save
		return 0, false
	}
	return r, true
}
