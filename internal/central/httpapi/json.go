package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// WriteJSON writes v with status.
func WriteJSON(w http.ResponseWriter, status int, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	// A write error means the client went away; nothing more can be said to it.
	_, _ = w.Write(buf.Bytes())
	return nil
}

// ReadBody reads the whole request body, which Mount has already limited.
func ReadBody(r *http.Request) ([]byte, error) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, Invalidf("read request body: %v", err)
	}
	return data, nil
}

// Decode reads a JSON request body into v strictly: unknown fields, trailing
// data and an empty body are 400 errors naming the field or the line.
func Decode(r *http.Request, v any) error {
	data, err := ReadBody(r)
	if err != nil {
		return err
	}
	return DecodeBytes(data, v)
}

// DecodeBytes is Decode on a body already read.
func DecodeBytes(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return Invalid("request body is empty; a JSON object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(data, dec, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		line, col := position(data, dec.InputOffset())
		return Invalid(fmt.Sprintf("malformed JSON at line %d, column %d: unexpected data after the JSON object", line, col),
			Detail{Path: fmt.Sprintf("line %d", line), Message: "unexpected data after the JSON object"})
	}
	return nil
}

func decodeError(data []byte, dec *json.Decoder, err error) error {
	var (
		syn *json.SyntaxError
		typ *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syn):
		line, col := position(data, syn.Offset)
		return Invalid(fmt.Sprintf("malformed JSON at line %d, column %d: %v", line, col, syn),
			Detail{Path: fmt.Sprintf("line %d", line), Message: syn.Error()})
	case errors.As(err, &typ):
		line, _ := position(data, typ.Offset)
		msg := fmt.Sprintf("cannot use a JSON %s here; want %s", typ.Value, typ.Type)
		return Invalid(fmt.Sprintf("field %s at line %d: %s", fieldPath(typ), line, msg),
			Detail{Path: fieldPath(typ), Message: msg})
	case errors.Is(err, io.ErrUnexpectedEOF):
		line, _ := position(data, int64(len(data)))
		return Invalid(fmt.Sprintf("malformed JSON: unexpected end of input at line %d", line))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		line, _ := position(data, dec.InputOffset())
		name = strings.Trim(name, `"`)
		return Invalid(fmt.Sprintf("unknown field %q at line %d", name, line), Detail{Path: name, Message: "unknown field"})
	}
	return Invalidf("malformed JSON: %v", err)
}

func fieldPath(typ *json.UnmarshalTypeError) string {
	if typ.Field != "" {
		return typ.Field
	}
	return "(root)"
}

// position turns a byte offset into a 1-based line and column.
func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
