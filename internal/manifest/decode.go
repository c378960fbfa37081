package manifest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// decoder fills typed Kubernetes objects straight from YAML nodes, as
// encoding/json would fill them from the JSON form but in one pass and with
// a line for every error. Field names match case-sensitively, as in
// Kubernetes' own decoder; unknown fields are ignored. A decoder is used
// by one goroutine: it caches what it learns about Go types.
type decoder struct {
	types  map[reflect.Type]*typeInfo
	budget int    // node visits left in the current document
	buf    []byte // scratch JSON for json.Unmarshaler values
	// warnings are the wrong-typed values of lenient fields in the
	// current document: dropped, and reported.
	warnings []*fieldError
	// path leads to the value being decoded, for warnings (errors build
	// theirs as they return).
	path []pathSeg
	// lenient counts the lenient fields being decoded: inside one, every
	// field is lenient, so that only the innermost wrong value is dropped.
	lenient int
}

type pathSeg struct {
	key     string
	index   int
	isIndex bool
}

// warn records a dropped value, with the full path to it.
func (d *decoder) warn(fe *fieldError, key string) {
	segs := append([]string(nil), fe.path...)
	segs = append(segs, key)
	for i := len(d.path) - 1; i >= 0; i-- {
		if d.path[i].isIndex {
			segs = append(segs, "["+strconv.Itoa(d.path[i].index)+"]")
		} else {
			segs = append(segs, d.path[i].key)
		}
	}
	d.warnings = append(d.warnings, &fieldError{line: fe.line, path: segs, err: fe.err})
}

func newDecoder() *decoder {
	return &decoder{types: map[reflect.Type]*typeInfo{}}
}

type special int

const (
	plain special = iota
	quantity
	intOrString
	unmarshaler
)

type typeInfo struct {
	special special
	fields  map[string]field // struct fields by JSON name, with embedded structs inlined
}

type field struct {
	index []int
	// lenient fields, and everything inside them, take a wrong type as a
	// warning and drop the value: the fields of a volume source
	// (storage-plugin settings, where placeholders such as
	// `lun: "<ADD LUN ID Here>"` live; normalization reads at most a name
	// or path from them) and an object's status.
	lenient bool
}

var (
	_ json.Unmarshaler = (*resource.Quantity)(nil)
	_ json.Unmarshaler = (*intstr.IntOrString)(nil)
)

func (d *decoder) info(t reflect.Type) *typeInfo {
	if ti, ok := d.types[t]; ok {
		return ti
	}
	ti := &typeInfo{}
	switch {
	case t == reflect.TypeFor[resource.Quantity]():
		ti.special = quantity
	case t == reflect.TypeFor[intstr.IntOrString]():
		ti.special = intOrString
	case reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()):
		ti.special = unmarshaler
	case t.Kind() == reflect.Struct:
		ti.fields = map[string]field{}
		depthOf := map[string]int{}
		collectFields(t, nil, false, ti.fields, depthOf)
	}
	d.types[t] = ti
	return ti
}

// collectFields maps JSON names to field indexes the way encoding/json
// does: a `json:"-"` field is skipped, an embedded struct without a name
// is inlined, and a shallower field wins over a deeper one of the same name.
func collectFields(t reflect.Type, prefix []int, lenient bool, out map[string]field, depthOf map[string]int) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		index := append(append([]int(nil), prefix...), i)
		if name == "" && f.Anonymous && f.Type.Kind() == reflect.Struct {
			collectFields(f.Type, index, lenient || f.Type == reflect.TypeFor[corev1.VolumeSource](), out, depthOf)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if d, seen := depthOf[name]; seen && d <= len(index) {
			continue
		}
		depthOf[name] = len(index)
		out[name] = field{index: index, lenient: lenient || name == "status"}
	}
}

// fieldError is a decoding error with its line and the path of fields
// that led to it, innermost first.
type fieldError struct {
	line int
	path []string
	err  error
}

func (e *fieldError) Unwrap() error { return e.err }

func (e *fieldError) Error() string {
	if len(e.path) == 0 {
		return e.err.Error()
	}
	var b strings.Builder
	for i := len(e.path) - 1; i >= 0; i-- {
		seg := e.path[i]
		if i != len(e.path)-1 && !strings.HasPrefix(seg, "[") {
			b.WriteByte('.')
		}
		b.WriteString(seg)
	}
	b.WriteString(": ")
	b.WriteString(e.err.Error())
	return b.String()
}

func errAt(n *node, format string, args ...any) *fieldError {
	return &fieldError{line: int(n.line), err: fmt.Errorf(format, args...)}
}

func within(err error, seg string) error {
	var fe *fieldError
	if errors.As(err, &fe) {
		fe.path = append(fe.path, seg)
	}
	return err
}

// describe names a node's kind for messages.
func describe(n *node) string {
	switch n.kind {
	case mappingNode:
		return "a mapping"
	case sequenceNode:
		return "a list"
	case scalarNode:
		switch n.tag {
		case tagInt:
			return "the number " + n.value
		case tagFloat:
			return "the number " + n.value
		case tagBool:
			return "the boolean " + n.value
		case tagNull:
			return "null"
		default:
			return strconv.Quote(truncate(n.value))
		}
	default:
		return "a node"
	}
}

func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isNull(n *node) bool { return n.kind == scalarNode && n.tag == tagNull }

// decode fills v from n. depth counts nesting, aliases included.
func (d *decoder) decode(n *node, v reflect.Value, depth int) error {
	if depth > maxDepth {
		return errAt(n, "%w", ErrTooDeep)
	}
	d.budget--
	if d.budget < 0 {
		return errAt(n, "%w", ErrExpansion)
	}
	for n.kind == aliasNode {
		if n.alias == nil {
			return errAt(n, "unknown alias %q", n.value)
		}
		n, depth = n.alias, depth+1
		if depth > maxDepth {
			return errAt(n, "%w", ErrTooDeep)
		}
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if isNull(n) {
			v.SetZero()
			return nil
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		return d.decode(n, v.Elem(), depth)
	}
	ti := d.info(t)
	switch ti.special {
	case quantity:
		return d.decodeQuantity(n, v)
	case intOrString:
		return d.decodeIntOrString(n, v)
	case unmarshaler:
		d.buf = d.buf[:0]
		var err error
		if d.buf, err = d.appendJSON(d.buf, n, depth); err != nil {
			return err
		}
		if err := v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(d.buf); err != nil {
			return errAt(n, "%v", err)
		}
		return nil
	}
	if isNull(n) {
		switch t.Kind() {
		case reflect.Map, reflect.Slice, reflect.Interface:
			v.SetZero()
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return d.decodeStruct(n, v, ti, depth)
	case reflect.Map:
		return d.decodeMap(n, v, depth)
	case reflect.Slice:
		return d.decodeSlice(n, v, depth)
	case reflect.String:
		return decodeString(n, v)
	case reflect.Bool:
		return decodeBool(n, v)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return decodeInt(n, v)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return decodeUint(n, v)
	case reflect.Float32, reflect.Float64:
		return decodeFloat(n, v)
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return errAt(n, "cannot decode into %s", t)
		}
		x, err := d.generic(n, depth)
		if err != nil {
			return err
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
		return nil
	default:
		return errAt(n, "cannot decode into %s", t)
	}
}

func (d *decoder) decodeStruct(n *node, v reflect.Value, ti *typeInfo, depth int) error {
	if n.kind != mappingNode {
		return errAt(n, "expected a mapping, got %s", describe(n))
	}
	return d.eachPair(n, depth, func(key string, val *node) error {
		fi, ok := ti.fields[key]
		if !ok {
			return nil
		}
		f := v.FieldByIndex(fi.index)
		f.SetZero() // a repeated or merged key replaces, never deep-merges
		d.path = append(d.path, pathSeg{key: key})
		lenient := fi.lenient || d.lenient > 0
		if lenient {
			d.lenient++
		}
		err := d.decode(val, f, depth+1)
		if lenient {
			d.lenient--
		}
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			var fe *fieldError
			if lenient && errors.As(err, &fe) && !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrExpansion) {
				f.SetZero()
				d.warn(fe, key)
				return nil
			}
			return within(err, key)
		}
		return nil
	})
}

func (d *decoder) decodeMap(n *node, v reflect.Value, depth int) error {
	if n.kind != mappingNode {
		return errAt(n, "expected a mapping, got %s", describe(n))
	}
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		return errAt(n, "cannot decode into %s", t)
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, len(n.content)/2))
	}
	elem := reflect.New(t.Elem()).Elem()
	return d.eachPair(n, depth, func(key string, val *node) error {
		elem.SetZero()
		d.path = append(d.path, pathSeg{key: key})
		err := d.decode(val, elem, depth+1)
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			return within(err, key)
		}
		v.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), elem)
		return nil
	})
}

// eachPair calls fn for every key of a mapping, first the keys merged in
// with "<<" (earlier sources winning over later ones), then its own.
func (d *decoder) eachPair(n *node, depth int, fn func(key string, val *node) error) error {
	var merges []*node
	for i := 0; i+1 < len(n.content); i += 2 {
		if k := n.content[i]; k.kind == scalarNode && k.tag == tagMerge {
			merges = append(merges, n.content[i+1])
		}
	}
	for i := len(merges) - 1; i >= 0; i-- {
		if err := d.merge(merges[i], depth, fn); err != nil {
			return err
		}
	}
	for i := 0; i+1 < len(n.content); i += 2 {
		k := n.content[i]
		for k.kind == aliasNode && k.alias != nil {
			k = k.alias
		}
		if k.kind != scalarNode {
			return errAt(k, "a mapping key must be a scalar, got %s", describe(k))
		}
		if k.tag == tagMerge {
			continue
		}
		if err := fn(k.value, n.content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) merge(src *node, depth int, fn func(string, *node) error) error {
	if depth > maxDepth {
		return errAt(src, "%w", ErrTooDeep)
	}
	for src.kind == aliasNode && src.alias != nil {
		src, depth = src.alias, depth+1
	}
	switch src.kind {
	case mappingNode:
		return d.eachPair(src, depth+1, fn)
	case sequenceNode:
		for i := len(src.content) - 1; i >= 0; i-- {
			if err := d.merge(src.content[i], depth+1, fn); err != nil {
				return err
			}
		}
		return nil
	default:
		return errAt(src, "a merge key (<<) needs a mapping, got %s", describe(src))
	}
}

func (d *decoder) decodeSlice(n *node, v reflect.Value, depth int) error {
	t := v.Type()
	if t.Elem().Kind() == reflect.Uint8 && n.kind == scalarNode {
		// []byte is base64 text, as in JSON.
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(n.value), ""))
		if err != nil {
			return errAt(n, "expected base64 data: %v", err)
		}
		v.SetBytes(b)
		return nil
	}
	if n.kind != sequenceNode {
		return errAt(n, "expected a list, got %s", describe(n))
	}
	s := reflect.MakeSlice(t, len(n.content), len(n.content))
	for i, item := range n.content {
		d.path = append(d.path, pathSeg{index: i, isIndex: true})
		err := d.decode(item, s.Index(i), depth+1)
		d.path = d.path[:len(d.path)-1]
		if err != nil {
			return within(err, "["+strconv.Itoa(i)+"]")
		}
	}
	v.Set(s)
	return nil
}

func decodeString(n *node, v reflect.Value) error {
	if n.kind != scalarNode {
		return errAt(n, "expected a string, got %s", describe(n))
	}
	switch n.tag {
	case tagInt, tagFloat, tagBool:
		// As kubectl: an unquoted number or boolean is not a string.
		return errAt(n, "expected a string, got %s (quote it)", describe(n))
	}
	v.SetString(n.value)
	return nil
}

// decodeBool accepts YAML 1.2 booleans, and the YAML 1.1 spellings
// (yes/no/on/off) that kubectl's YAML reader still resolves as booleans.
func decodeBool(n *node, v reflect.Value) error {
	if n.kind == scalarNode && (n.tag == tagBool || n.tag == tagStr && n.style == 0) {
		switch strings.ToLower(n.value) {
		case "true", "yes", "y", "on":
			v.SetBool(true)
			return nil
		case "false", "no", "n", "off":
			v.SetBool(false)
			return nil
		}
	}
	return errAt(n, "expected true or false, got %s", describe(n))
}

func parseInt(n *node) (int64, error) {
	if n.kind != scalarNode || n.tag != tagInt {
		return 0, errAt(n, "expected an integer, got %s", describe(n))
	}
	i, err := strconv.ParseInt(strings.ReplaceAll(n.value, "_", ""), 0, 64)
	if err != nil {
		return 0, errAt(n, "integer %s is out of range", n.value)
	}
	return i, nil
}

func decodeInt(n *node, v reflect.Value) error {
	i, err := parseInt(n)
	if err != nil {
		return err
	}
	if v.OverflowInt(i) {
		return errAt(n, "integer %s does not fit in %s", n.value, v.Type())
	}
	v.SetInt(i)
	return nil
}

func decodeUint(n *node, v reflect.Value) error {
	i, err := parseInt(n)
	if err != nil {
		return err
	}
	if i < 0 || v.OverflowUint(uint64(i)) {
		return errAt(n, "integer %s does not fit in %s", n.value, v.Type())
	}
	v.SetUint(uint64(i))
	return nil
}

func parseFloat(n *node) (float64, error) {
	if n.kind == scalarNode {
		switch n.tag {
		case tagInt:
			i, err := parseInt(n)
			return float64(i), err
		case tagFloat:
			f, err := strconv.ParseFloat(strings.ReplaceAll(n.value, "_", ""), 64)
			if err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return f, nil
			}
			return 0, errAt(n, "number %s is not a finite float", n.value)
		}
	}
	return 0, errAt(n, "expected a number, got %s", describe(n))
}

func decodeFloat(n *node, v reflect.Value) error {
	f, err := parseFloat(n)
	if err != nil {
		return err
	}
	if v.OverflowFloat(f) {
		return errAt(n, "number %s does not fit in %s", n.value, v.Type())
	}
	v.SetFloat(f)
	return nil
}

// decodeQuantity reads a resource quantity written as a string or a number.
func (d *decoder) decodeQuantity(n *node, v reflect.Value) error {
	if isNull(n) {
		v.SetZero()
		return nil
	}
	if n.kind != scalarNode || n.tag == tagBool {
		return errAt(n, "expected a quantity such as 500m or 128Mi, got %s", describe(n))
	}
	q, err := resource.ParseQuantity(strings.TrimSpace(n.value))
	if err != nil {
		return errAt(n, "invalid quantity %q: %v", truncate(n.value), err)
	}
	v.Set(reflect.ValueOf(q))
	return nil
}

// decodeIntOrString reads a port number or name.
func (d *decoder) decodeIntOrString(n *node, v reflect.Value) error {
	if isNull(n) {
		v.SetZero()
		return nil
	}
	if n.kind == scalarNode && n.tag == tagInt {
		i, err := parseInt(n)
		if err != nil {
			return err
		}
		if i < math.MinInt32 || i > math.MaxInt32 {
			return errAt(n, "integer %s does not fit in int32", n.value)
		}
		v.Set(reflect.ValueOf(intstr.FromInt32(int32(i))))
		return nil
	}
	if n.kind == scalarNode && n.tag != tagFloat && n.tag != tagBool {
		v.Set(reflect.ValueOf(intstr.FromString(n.value)))
		return nil
	}
	return errAt(n, "expected an integer or a string, got %s", describe(n))
}

// generic decodes into an empty interface: maps, lists, strings, int64,
// float64, bool or nil.
func (d *decoder) generic(n *node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, errAt(n, "%w", ErrTooDeep)
	}
	d.budget--
	if d.budget < 0 {
		return nil, errAt(n, "%w", ErrExpansion)
	}
	for n.kind == aliasNode && n.alias != nil {
		n, depth = n.alias, depth+1
	}
	switch n.kind {
	case mappingNode:
		m := make(map[string]any, len(n.content)/2)
		err := d.eachPair(n, depth, func(key string, val *node) error {
			x, err := d.generic(val, depth+1)
			if err != nil {
				return within(err, key)
			}
			m[key] = x
			return nil
		})
		return m, err
	case sequenceNode:
		s := make([]any, len(n.content))
		for i, item := range n.content {
			x, err := d.generic(item, depth+1)
			if err != nil {
				return nil, within(err, "["+strconv.Itoa(i)+"]")
			}
			s[i] = x
		}
		return s, nil
	case scalarNode:
		switch n.tag {
		case tagNull:
			return nil, nil
		case tagBool:
			return strings.EqualFold(n.value, "true"), nil
		case tagInt:
			return parseInt(n)
		case tagFloat:
			return parseFloat(n)
		default:
			return n.value, nil
		}
	default:
		return nil, errAt(n, "unexpected %s", describe(n))
	}
}

// appendJSON writes n as JSON, for types that decode themselves.
func (d *decoder) appendJSON(b []byte, n *node, depth int) ([]byte, error) {
	if depth > maxDepth {
		return b, errAt(n, "%w", ErrTooDeep)
	}
	d.budget--
	if d.budget < 0 {
		return b, errAt(n, "%w", ErrExpansion)
	}
	for n.kind == aliasNode && n.alias != nil {
		n, depth = n.alias, depth+1
	}
	switch n.kind {
	case mappingNode:
		b = append(b, '{')
		first := true
		err := d.eachPair(n, depth, func(key string, val *node) error {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, key)
			b = append(b, ':')
			var err error
			b, err = d.appendJSON(b, val, depth+1)
			return within(err, key)
		})
		return append(b, '}'), err
	case sequenceNode:
		b = append(b, '[')
		for i, item := range n.content {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = d.appendJSON(b, item, depth+1); err != nil {
				return b, within(err, "["+strconv.Itoa(i)+"]")
			}
		}
		return append(b, ']'), nil
	case scalarNode:
		switch n.tag {
		case tagNull:
			return append(b, "null"...), nil
		case tagBool:
			return strconv.AppendBool(b, strings.EqualFold(n.value, "true")), nil
		case tagInt:
			i, err := parseInt(n)
			return strconv.AppendInt(b, i, 10), err
		case tagFloat:
			f, err := parseFloat(n)
			return strconv.AppendFloat(b, f, 'g', -1, 64), err
		default:
			return appendJSONString(b, n.value), nil
		}
	default:
		return b, errAt(n, "unexpected %s", describe(n))
	}
}

func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}
