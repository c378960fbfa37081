package manifest

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// fastYAML reads the YAML that Kubernetes manifests are written in — block
// mappings and sequences, plain and single-line quoted scalars, literal and
// folded block scalars, flow collections, comments, `---` and `...` — about
// ten times faster than go.yaml.in/yaml/v3, and into the same node trees
// (a test compares the two on the corpus and by fuzzing).
//
// It gives up (ok false) on everything else: anchors, aliases, tags,
// directives, complex keys, multi-line plain or quoted scalars, explicit
// block scalar indentation, tabs, lone carriage returns, control characters, and
// any syntax error. The caller then parses the input with yaml.v3, which
// also words every syntax error. Giving up is always safe; accepting input
// yaml.v3 would read differently is the one thing this code must not do.
//
// The nodes live in scratch, which the next call reuses: decode them
// before parsing again.
func fastYAML(data string, scratch *fastScratch) (roots []*node, ok bool) {
	if !fastEligible(data) {
		return nil, false
	}
	scratch.arena.reset()
	p := &fastParser{data: data, fastScratch: scratch}
	defer func() {
		scratch.lines, scratch.stack = p.lines[:0], p.stack[:0]
		if r := recover(); r != nil {
			if _, giveUp := r.(bailout); !giveUp {
				panic(r)
			}
			roots, ok = nil, false
		}
	}()
	p.split()
	p.stream()
	return p.docs, true
}

// bailout is the panic value that unwinds the parser when it gives up.
type bailout struct{}

func giveUp() { panic(bailout{}) }

// fastEligible refuses bytes the fast parser does not handle: tabs,
// carriage returns and other control characters, and non-ASCII text that
// yaml.v3 would not call printable.
func fastEligible(data string) bool {
	for i := 0; i < len(data); {
		c := data[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\n' && !crlfAt(data, i)) || c == 0x7f {
				return false
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(data[i:])
		if size == 1 || size > 3 || !printableBMP(r) {
			return false
		}
		i += size
	}
	return true
}

// crlfAt reports whether a CR LF line break starts at data[i].
func crlfAt(data string, i int) bool {
	return data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n'
}

// printableBMP reports whether r, a non-ASCII rune of the Basic Multilingual
// Plane, is one yaml.v3 calls printable; the byte order mark is not.
func printableBMP(r rune) bool {
	return r >= 0xA0 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD && r != 0xFEFF
}

type lineKind uint8

const (
	lineContent  lineKind = iota
	lineBlank             // only spaces, or a comment
	lineDocStart          // ---
	lineDocEnd            // ...
)

type fline struct {
	start, end int // byte offsets of the line without its '\n'
	indent     int // leading spaces
	kind       lineKind
}

type fastParser struct {
	*fastScratch
	data  string
	i     int // the current line
	depth int // block collections being read
	docs  []*node
	// lastNewline says whether the input ends with '\n' (block scalars
	// keep or drop their final line break by it).
	lastNewline bool
}

func (p *fastParser) split() {
	n := 1
	for _, c := range p.data {
		if c == '\n' {
			n++
		}
	}
	p.lines = slices.Grow(p.lines[:0], n)
	start := 0
	for start <= len(p.data) {
		end := start
		for end < len(p.data) && p.data[end] != '\n' {
			end++
		}
		if end == len(p.data) && start == end && start > 0 {
			break // the empty remainder after a final '\n'
		}
		next := end + 1
		if end > start && p.data[end-1] == '\r' {
			end-- // CRLF is a line break, as LF
		}
		l := fline{start: start, end: end}
		text := p.data[start:end]
		for l.indent < len(text) && text[l.indent] == ' ' {
			l.indent++
		}
		switch {
		case l.indent == len(text) || text[l.indent] == '#':
			l.kind = lineBlank
		case marker(text, '-'):
			l.kind = lineDocStart
		case marker(text, '.'):
			l.kind = lineDocEnd
		case text[0] == '%':
			giveUp() // a directive
		}
		if l.kind == lineDocStart || l.kind == lineDocEnd {
			// Only a comment may follow the marker here.
			rest := strings.TrimLeft(text[3:], " ")
			if rest != "" && rest[0] != '#' {
				giveUp()
			}
		}
		p.lines = append(p.lines, l)
		start = next
	}
	p.lastNewline = len(p.data) > 0 && p.data[len(p.data)-1] == '\n'
}

// fastScratch is the memory one goroutine's fast parser reuses from one
// input to the next.
type fastScratch struct {
	lines []fline
	stack []*node // children of the collections being read
	arena arena
}

func (p *fastParser) newNode(kind nodeKind, tag nodeTag, style nodeStyle, line int, value string) *node {
	n := p.arena.node()
	*n = node{kind: kind, tag: tag, style: style, line: int32(line), value: value}
	return n
}

// children moves the nodes pushed on the stack since mark into a list.
func (p *fastParser) children(mark int) []*node {
	list := p.arena.list(p.stack[mark:])
	clear(p.stack[mark:])
	p.stack = p.stack[:mark]
	return list
}

// marker reports whether a line is "---" or "..." followed by a blank or
// its end.
func marker(text string, c byte) bool {
	return len(text) >= 3 && text[0] == c && text[1] == c && text[2] == c && (len(text) == 3 || text[3] == ' ')
}

func (p *fastParser) text(i int) string { return p.data[p.lines[i].start:p.lines[i].end] }

// skipBlank moves past blank and comment lines.
func (p *fastParser) skipBlank() {
	for p.i < len(p.lines) && p.lines[p.i].kind == lineBlank {
		p.i++
	}
}

// atEnd reports whether the current line ends the document's content.
func (p *fastParser) atEnd() bool {
	return p.i >= len(p.lines) || p.lines[p.i].kind != lineContent
}

func (p *fastParser) stream() {
	explicit := false // the previous document ended with "..."
	for {
		p.skipBlank()
		if p.i >= len(p.lines) {
			return
		}
		switch p.lines[p.i].kind {
		case lineDocStart:
			p.i++
		case lineDocEnd:
			giveUp() // "..." with no document before it
		default:
			if explicit {
				giveUp() // a bare document after "..."
			}
		}
		explicit = p.document()
	}
}

// document reads one document's content and reports whether it ended
// with "...".
func (p *fastParser) document() bool {
	p.skipBlank()
	if !p.atEnd() {
		root := p.blockNode(p.i, p.lines[p.i].indent, -1)
		p.docs = append(p.docs, root)
		p.skipBlank()
	}
	if p.i < len(p.lines) {
		switch p.lines[p.i].kind {
		case lineDocEnd:
			p.i++
			return true
		case lineDocStart:
			return false
		default:
			giveUp() // more content after the root node
		}
	}
	return false
}

func isSeqEntry(rest string) bool {
	return len(rest) > 0 && rest[0] == '-' && (len(rest) == 1 || rest[1] == ' ')
}

// blockNode reads the node that starts at line i, column c, where a block
// collection may start (the beginning of a line, or after "- ").
// parentIndent is the indentation of the enclosing collection.
func (p *fastParser) blockNode(i, c, parentIndent int) *node {
	rest := p.text(i)[c:]
	switch {
	case isSeqEntry(rest):
		return p.blockSeq(i, c, false)
	case p.keyEnd(rest) >= 0:
		return p.blockMap(i, c)
	default:
		return p.inlineValue(i, c, parentIndent)
	}
}

// keyEnd returns the index of the ':' that makes rest a "key: value" line,
// or -1. Only plain and single-line quoted keys are recognized.
func (p *fastParser) keyEnd(rest string) int {
	if len(rest) == 0 {
		return -1
	}
	if rest[0] == '"' || rest[0] == '\'' {
		_, end, ok := quoted(rest, 0)
		if !ok {
			return -1
		}
		j := end
		for j < len(rest) && rest[j] == ' ' {
			j++
		}
		if j < len(rest) && rest[j] == ':' && (j+1 == len(rest) || rest[j+1] == ' ') {
			return j
		}
		return -1
	}
	if !plainStart(rest, false) {
		return -1
	}
	for j := 0; j < len(rest); j++ {
		switch rest[j] {
		case ':':
			if j+1 == len(rest) || rest[j+1] == ' ' {
				return j
			}
		case '#':
			if j > 0 && rest[j-1] == ' ' {
				return -1
			}
		}
	}
	return -1
}

// plainStart reports whether a plain scalar may start at rest[0].
func plainStart(rest string, flow bool) bool {
	c := rest[0]
	switch c {
	case '-':
		return len(rest) > 1 && rest[1] != ' '
	case '?', ':':
		return !flow && len(rest) > 1 && rest[1] != ' '
	case ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', ' ':
		return false
	}
	return true
}

// blockMap and blockSeq count their nesting, so that hostile input cannot
// recurse without bound ("- - - - …" on one long line).
func (p *fastParser) blockMap(i, m int) *node {
	p.enter()
	n := p.mapBody(i, m)
	p.depth--
	return n
}

func (p *fastParser) blockSeq(i, s int, indentless bool) *node {
	p.enter()
	n := p.seqBody(i, s, indentless)
	p.depth--
	return n
}

func (p *fastParser) enter() {
	p.depth++
	if p.depth > maxDepth {
		giveUp() // yaml.v3 then reads it, or refuses it
	}
}

func (p *fastParser) mapBody(i, m int) *node {
	n := p.newNode(mappingNode, tagMap, 0, i+1, "")
	mark := len(p.stack)
	for {
		text := p.text(i)
		rest := text[m:]
		colon := m + p.keyEnd(rest)
		if colon < m {
			giveUp() // a line in a mapping that is not "key: value"
		}
		var key *node
		if rest[0] == '"' || rest[0] == '\'' {
			key = p.quotedNode(i, m)
		} else {
			raw := strings.TrimRight(text[m:colon], " ")
			if len(raw) > 1024 {
				giveUp() // yaml.v3 refuses such long implicit keys
			}
			key = p.plainNode(raw, i)
		}
		pos := colon + 1
		for pos < len(text) && text[pos] == ' ' {
			pos++
		}
		p.stack = append(p.stack, key)
		var val *node
		if pos == len(text) || text[pos] == '#' {
			p.i = i + 1
			val = p.nextLevel(m, true, i)
		} else {
			val = p.inlineValue(i, pos, m)
		}
		p.stack = append(p.stack, val)

		p.skipBlank()
		if p.atEnd() {
			n.content = p.children(mark)
			return n
		}
		k := p.lines[p.i].indent
		if k < m {
			n.content = p.children(mark)
			return n
		}
		if k > m || isSeqEntry(p.text(p.i)[k:]) {
			giveUp()
		}
		i = p.i
	}
}

// nextLevel reads a value that starts on a later line: a node indented
// more than parentIndent, an indentless sequence (a mapping's value may be
// a sequence at the mapping's own indentation), or nothing — a null at
// line.
func (p *fastParser) nextLevel(parentIndent int, indentless bool, line int) *node {
	p.skipBlank()
	if !p.atEnd() {
		k := p.lines[p.i].indent
		if k > parentIndent {
			return p.blockNode(p.i, k, parentIndent)
		}
		if k == parentIndent && indentless && isSeqEntry(p.text(p.i)[k:]) {
			return p.blockSeq(p.i, k, true)
		}
	}
	return p.newNode(scalarNode, tagNull, 0, line+1, "")
}

func (p *fastParser) seqBody(i, s int, indentless bool) *node {
	n := p.newNode(sequenceNode, tagSeq, 0, i+1, "")
	mark := len(p.stack)
	for {
		text := p.text(i)
		pos := s + 1
		for pos < len(text) && text[pos] == ' ' {
			pos++
		}
		var item *node
		if pos == len(text) || text[pos] == '#' {
			p.i = i + 1
			item = p.nextLevel(s, false, i)
		} else {
			item = p.blockNode(i, pos, s)
		}
		p.stack = append(p.stack, item)

		p.skipBlank()
		if p.atEnd() {
			n.content = p.children(mark)
			return n
		}
		k := p.lines[p.i].indent
		if k < s {
			n.content = p.children(mark)
			return n
		}
		if k > s {
			giveUp()
		}
		if !isSeqEntry(p.text(p.i)[k:]) {
			if indentless {
				n.content = p.children(mark)
				return n // the mapping's next key
			}
			giveUp()
		}
		i = p.i
	}
}

// inlineValue reads a scalar, flow collection or block scalar starting at
// line i, column c, and moves past it. blockIndent is the indentation of
// the enclosing block collection.
func (p *fastParser) inlineValue(i, c, blockIndent int) *node {
	text := p.text(i)
	rest := text[c:]
	var n *node
	end := 0
	switch rest[0] {
	case '"', '\'':
		n = p.quotedNode(i, c)
		_, e, _ := quoted(text, c)
		end = e
	case '[', '{':
		var li int
		n, li, end = p.flow(i, c, blockIndent)
		i, text = li, p.text(li)
	case '|', '>':
		return p.blockScalar(i, c, blockIndent)
	default:
		if !plainStart(rest, false) {
			giveUp()
		}
		end = c
		for end < len(text) {
			ch := text[end]
			if ch == ':' && (end+1 == len(text) || text[end+1] == ' ') {
				giveUp() // "mapping values are not allowed in this context"
			}
			if ch == '#' && text[end-1] == ' ' {
				break
			}
			end++
		}
		n = p.plainNode(strings.TrimRight(text[c:end], " "), i)
	}
	// Only blanks and a comment may follow on the line.
	for end < len(text) && text[end] == ' ' {
		end++
	}
	if end < len(text) && (text[end] != '#' || text[end-1] != ' ') {
		giveUp()
	}
	p.i = i + 1
	return n
}

func (p *fastParser) plainNode(raw string, i int) *node {
	return p.newNode(scalarNode, resolvePlain(raw), 0, i+1, raw)
}

func (p *fastParser) quotedNode(i, c int) *node {
	text := p.text(i)
	val, _, ok := quoted(text, c)
	if !ok {
		giveUp()
	}
	style := styleDoubleQuoted
	if text[c] == '\'' {
		style = styleSingleQuoted
	}
	return p.newNode(scalarNode, tagStr, style, i+1, val)
}

// escapeIn reports whether c starts an escape inside a scalar quoted with
// q: only double-quoted scalars have escapes.
func escapeIn(q, c byte) bool { return q == '"' && c == '\\' }

// quoted reads a single-line quoted scalar starting at text[c] and returns
// its value and the index after the closing quote; ok is false when it does
// not close on the line or holds an escape yaml.v3 would refuse.
func quoted(text string, c int) (string, int, bool) {
	q := text[c]
	j := c + 1
	start := j
	// Fast path: no escapes.
	for j < len(text) && text[j] != q && !escapeIn(q, text[j]) {
		j++
	}
	if j == len(text) {
		return "", 0, false
	}
	if q == '\'' && (j+1 >= len(text) || text[j+1] != '\'') || q == '"' && text[j] == '"' {
		return text[start:j], j + 1, true
	}
	buf := []byte(text[start:j])
	for j < len(text) {
		ch := text[j]
		switch {
		case q == '\'' && ch == '\'':
			if j+1 < len(text) && text[j+1] == '\'' {
				buf = append(buf, '\'')
				j += 2
				continue
			}
			return string(buf), j + 1, true
		case q == '"' && ch == '"':
			return string(buf), j + 1, true
		case q == '"' && ch == '\\':
			if j+1 >= len(text) {
				return "", 0, false // a line continuation
			}
			var ok bool
			buf, j, ok = unescape(buf, text, j+1)
			if !ok {
				return "", 0, false
			}
		default:
			buf = append(buf, ch)
			j++
		}
	}
	return "", 0, false
}

// unescape decodes the escape whose letter is at text[j].
func unescape(buf []byte, text string, j int) ([]byte, int, bool) {
	width := 0
	switch c := text[j]; c {
	case '0':
		return append(buf, 0), j + 1, true
	case 'a':
		return append(buf, '\a'), j + 1, true
	case 'b':
		return append(buf, '\b'), j + 1, true
	case 't':
		return append(buf, '\t'), j + 1, true
	case 'n':
		return append(buf, '\n'), j + 1, true
	case 'v':
		return append(buf, '\v'), j + 1, true
	case 'f':
		return append(buf, '\f'), j + 1, true
	case 'r':
		return append(buf, '\r'), j + 1, true
	case 'e':
		return append(buf, 0x1b), j + 1, true
	case ' ', '"', '/', '\'', '\\':
		return append(buf, c), j + 1, true
	case 'N':
		return utf8.AppendRune(buf, 0x85), j + 1, true
	case '_':
		return utf8.AppendRune(buf, 0xA0), j + 1, true
	case 'L':
		return utf8.AppendRune(buf, 0x2028), j + 1, true
	case 'P':
		return utf8.AppendRune(buf, 0x2029), j + 1, true
	case 'x':
		width = 2
	case 'u':
		width = 4
	case 'U':
		width = 8
	default:
		return buf, j, false
	}
	if j+1+width > len(text) {
		return buf, j, false
	}
	v, err := strconv.ParseUint(text[j+1:j+1+width], 16, 32)
	if err != nil || (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF {
		return buf, j, false
	}
	return utf8.AppendRune(buf, rune(v)), j + 1 + width, true
}

// blockScalar reads a literal (|) or folded (>) scalar whose indicator is
// at line i, column c, following libyaml's rules for folding and chomping.
func (p *fastParser) blockScalar(i, c, blockIndent int) *node {
	text := p.text(i)
	literal := text[c] == '|'
	chomp := 0
	j := c + 1
	if j < len(text) && (text[j] == '+' || text[j] == '-') {
		chomp = 1
		if text[j] == '-' {
			chomp = -1
		}
		j++
	}
	if j < len(text) && text[j] >= '0' && text[j] <= '9' {
		giveUp() // an explicit indentation indicator
	}
	for j < len(text) && text[j] == ' ' {
		j++
	}
	if j < len(text) && (text[j] != '#' || text[j-1] != ' ') {
		giveUp()
	}
	n := p.newNode(scalarNode, tagStr, styleLiteral, i+1, "")
	if !literal {
		n.style = styleFolded
	}

	minIndent := max(blockIndent+1, 1)
	li := i + 1
	// Leading empty lines, and the indentation of the first content line.
	breaks, maxLeading := 0, 0
	for li < len(p.lines) && p.allSpaces(li) {
		maxLeading = max(maxLeading, p.lines[li].end-p.lines[li].start)
		if !p.unterminated(li) {
			breaks++
		}
		li++
	}
	indent := 0
	if li < len(p.lines) {
		indent = p.lines[li].indent
	}
	if li == len(p.lines) || indent < minIndent {
		// No content: the scalar is empty.
		if chomp == 1 && breaks > 0 || maxLeading >= minIndent {
			giveUp()
		}
		p.i = li
		return n
	}
	if maxLeading > indent {
		giveUp()
	}

	var s []byte
	leadingBreak, leadingBlank := false, false
	for li < len(p.lines) {
		line := p.text(li)
		if len(line) <= indent || p.lines[li].indent < indent {
			break
		}
		content := line[indent:]
		trailingBlank := content[0] == ' '
		if !literal && leadingBreak && !leadingBlank && !trailingBlank {
			if breaks == 0 {
				s = append(s, ' ')
			}
		} else if leadingBreak {
			s = append(s, '\n')
		}
		leadingBreak = false
		for ; breaks > 0; breaks-- {
			s = append(s, '\n')
		}
		leadingBlank = trailingBlank
		s = append(s, content...)
		if p.unterminated(li) {
			li++
			break
		}
		li++
		leadingBreak = true
		for li < len(p.lines) && p.allSpaces(li) && p.lines[li].end-p.lines[li].start <= indent {
			if !p.unterminated(li) {
				breaks++
			}
			li++
		}
	}
	if chomp != -1 && leadingBreak {
		s = append(s, '\n')
	}
	if chomp == 1 {
		for ; breaks > 0; breaks-- {
			s = append(s, '\n')
		}
	}
	n.value = string(s)
	p.i = li
	return n
}

// unterminated reports whether line li is the last and has no line break.
func (p *fastParser) unterminated(li int) bool {
	return li == len(p.lines)-1 && !p.lastNewline
}

func (p *fastParser) allSpaces(li int) bool {
	l := p.lines[li]
	return l.indent == l.end-l.start
}

// flow reads a flow collection whose bracket is at line i, column c; it
// returns the node and the line and column after its closing bracket.
// Continuation lines must be indented more than blockIndent.
func (p *fastParser) flow(i, c, blockIndent int) (*node, int, int) {
	f := &flowCursor{p: p, li: i, pos: c, blockIndent: blockIndent}
	n := f.collection(0)
	return n, f.li, f.pos
}

type flowCursor struct {
	p           *fastParser
	li, pos     int
	blockIndent int
}

func (f *flowCursor) text() string { return f.p.text(f.li) }

// commentAt reports whether a comment starts at text[i]: a '#' that opens
// the line or follows a blank.
func commentAt(text string, i int) bool {
	return text[i] == '#' && (i == 0 || text[i-1] == ' ')
}

// space skips blanks, comments and line breaks.
func (f *flowCursor) space() {
	for {
		text := f.text()
		for f.pos < len(text) && text[f.pos] == ' ' {
			f.pos++
		}
		if f.pos < len(text) && !commentAt(text, f.pos) {
			return
		}
		f.li++
		if f.li >= len(f.p.lines) || f.p.lines[f.li].kind == lineDocStart || f.p.lines[f.li].kind == lineDocEnd {
			giveUp()
		}
		if l := f.p.lines[f.li]; l.kind == lineContent && l.indent <= f.blockIndent {
			giveUp()
		}
		f.pos = 0
	}
}

func (f *flowCursor) peek() byte {
	if text := f.text(); f.pos < len(text) {
		return text[f.pos]
	}
	return 0
}

func (f *flowCursor) collection(depth int) *node {
	if depth > maxDepth {
		giveUp()
	}
	open := f.peek()
	n := f.p.newNode(sequenceNode, tagSeq, styleFlow, f.li+1, "")
	closer := byte(']')
	if open == '{' {
		n.kind, n.tag, closer = mappingNode, tagMap, '}'
	}
	f.pos++
	f.space()
	if f.peek() == closer {
		f.pos++
		return n
	}
	mark := len(f.p.stack)
	for {
		if open == '{' {
			key := f.item(depth, true)
			if f.peek() != ':' {
				giveUp()
			}
			f.pos++
			if c := f.peek(); c != ' ' && c != 0 {
				giveUp()
			}
			f.space()
			if c := f.peek(); c == ',' || c == '}' {
				giveUp() // a key without a value
			}
			f.p.stack = append(f.p.stack, key)
			f.p.stack = append(f.p.stack, f.item(depth, false))
		} else {
			f.p.stack = append(f.p.stack, f.item(depth, false))
		}
		f.space()
		switch f.peek() {
		case ',':
			f.pos++
			f.space()
			if f.peek() == closer {
				giveUp() // a trailing comma
			}
		case closer:
			f.pos++
			n.content = f.p.children(mark)
			return n
		default:
			giveUp()
		}
	}
}

// item reads one scalar or nested collection in a flow collection.
func (f *flowCursor) item(depth int, key bool) *node {
	text := f.text()
	c := f.pos
	var n *node
	switch text[c] {
	case '[', '{':
		return f.collection(depth + 1)
	case '"', '\'':
		val, end, ok := quoted(text, c)
		if !ok {
			giveUp()
		}
		style := styleDoubleQuoted
		if text[c] == '\'' {
			style = styleSingleQuoted
		}
		n = f.p.newNode(scalarNode, tagStr, style, f.li+1, val)
		f.pos = end
	default:
		if !plainStart(text[c:], true) {
			giveUp()
		}
		end := c
	scan:
		for end < len(text) {
			switch ch := text[end]; ch {
			case ',', '?', '[', ']', '{', '}':
				break scan
			case ':':
				if end+1 == len(text) || text[end+1] == ' ' {
					if !key {
						giveUp() // a single-pair mapping in a sequence, or "a: b: c"
					}
					break scan
				}
			case '#':
				if text[end-1] == ' ' {
					break scan
				}
			}
			end++
		}
		raw := strings.TrimRight(text[c:end], " ")
		if raw == "" {
			giveUp()
		}
		n = f.p.plainNode(raw, f.li)
		f.pos = end
		// A plain scalar that goes on after the line's end is multi-line.
		rest := text[end:]
		for len(rest) > 0 && rest[0] == ' ' {
			rest = rest[1:]
		}
		if len(rest) == 0 || rest[0] == '#' {
			f.space()
			if ch := f.peek(); ch != ',' && ch != ']' && ch != '}' && ch != ':' {
				giveUp()
			}
		}
	}
	if key {
		// The key's ':' must follow on the same line.
		text = f.text()
		for f.pos < len(text) && text[f.pos] == ' ' {
			f.pos++
		}
	}
	return n
}

// resolvePlain gives a plain scalar its tag as yaml.v3 does: null, bool,
// int, float, timestamp or merge, else str.
func resolvePlain(s string) nodeTag {
	switch s {
	case "", "~", "null", "Null", "NULL":
		return tagNull
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return tagBool
	case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return tagFloat
	case "<<":
		return tagMerge
	}
	switch c := s[0]; {
	case c == '.':
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return tagFloat
		}
	case c == '+' || c == '-' || ('0' <= c && c <= '9'):
		if isTimestamp(s) {
			return tagTimestamp
		}
		plain := strings.ReplaceAll(s, "_", "")
		if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return tagInt
		}
		if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return tagInt
		}
		if yamlStyleFloat(plain) {
			if _, err := strconv.ParseFloat(plain, 64); err == nil {
				return tagFloat
			}
		}
		for _, prefix := range []struct {
			p    string
			base int
			neg  bool
		}{{"0b", 2, false}, {"-0b", 2, true}, {"0o", 8, false}, {"-0o", 8, true}} {
			if digits, ok := strings.CutPrefix(plain, prefix.p); ok {
				if prefix.neg {
					digits = "-" + digits
				}
				if _, err := strconv.ParseInt(digits, prefix.base, 64); err == nil {
					return tagInt
				}
				if !prefix.neg {
					if _, err := strconv.ParseUint(digits, prefix.base, 64); err == nil {
						return tagInt
					}
				}
			}
		}
	}
	return tagStr
}

// yamlStyleFloat matches ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$.
func yamlStyleFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	} else {
		if digits() == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// isTimestamp reports whether yaml.v3 would read s as a timestamp.
func isTimestamp(s string) bool {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, layout := range []string{"2006-1-2T15:4:5.999999999Z07:00", "2006-1-2t15:4:5.999999999Z07:00", "2006-1-2 15:4:5.999999999", "2006-1-2"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}
