package jira

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxAnswer bounds how much of Jira's answer Send reads.
const maxAnswer = 64 << 10

// notifier.Do quotes only the start of a refusal; keepRefusal keeps its whole
// body (bounded) for the request whose context carries a *refusal, so Send
// can read the remote's own reason from the JSON.
type refusalKey struct{}

type refusal struct{ body []byte }

func withRefusal(ctx context.Context) (context.Context, *refusal) {
	r := &refusal{}
	return context.WithValue(ctx, refusalKey{}, r), r
}

type keepRefusal struct{ next http.RoundTripper }

func (k keepRefusal) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := k.next.RoundTrip(req)
	if err != nil || resp.StatusCode < 300 {
		return resp, err
	}
	r, _ := req.Context().Value(refusalKey{}).(*refusal)
	if r == nil {
		return resp, nil
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if closeErr := resp.Body.Close(); readErr == nil {
		readErr = closeErr
	}
	if readErr != nil {
		body = nil
	}
	r.body = body
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}

// remoteError is a refusal in Jira's own words. It wraps notifier.Do's
// *notifier.Error, so notifier.Permanent and notifier.RetryAfter still
// classify it.
type remoteError struct {
	msg string
	err error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.err }

// plain is a remote's text as one bounded, printable line.
func plain(s string) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "?")), " ")
	return cut(s, 512)
}

// cut shortens s to at most n bytes on a rune boundary, ending in "…".
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	end := max(n-len(ellipsis), 0)
	for end > 0 && !utf8.RuneStart(s[end]) {
		end--
	}
	return s[:end] + ellipsis
}
