// Package notifytest is test support for notifiers, imported only by their
// tests: a local HTTP peer that records each request and answers as told,
// strict decoding of the JSON a notifier sent, the check that an error
// keeps a secret out of every text it carries, and a self-signed
// certificate for TLS peers.
package notifytest

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/notify/notifier"
)

// DecodeStrict decodes raw into v, failing t when raw holds a field v does
// not name (decode into a struct that mirrors the service's documented
// payload, and anything undocumented fails the test) or more than one
// JSON value.
func DecodeStrict(t testing.TB, raw []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("decode %T: %v\n%.2000s", v, err, raw)
	}
	if d.More() {
		t.Fatalf("trailing data after %T:\n%.2000s", v, raw)
	}
}

// NoSecret fails t when err is nil, or when a secret shows in its text or
// in the message or refusal body of the *notifier.Error it wraps.
func NoSecret(t testing.TB, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got none")
	}
	var de *notifier.Error
	wrapped := errors.As(err, &de)
	for _, s := range secrets {
		switch {
		case s == "":
		case strings.Contains(err.Error(), s):
			t.Errorf("error holds a secret: %q", err)
		case wrapped && strings.Contains(de.Message, s):
			t.Errorf("wrapped error holds a secret: %q", de.Message)
		case wrapped && bytes.Contains(de.Body, []byte(s)):
			t.Errorf("wrapped error's refusal body holds a secret: %q", de.Body)
		}
	}
}
