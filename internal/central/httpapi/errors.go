package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/stockade-dev/stockade/internal/central/auth"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/manifest"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
)

// Detail locates one problem in a request, by field path.
type Detail struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ErrorBody is the JSON body of every error response.
type ErrorBody struct {
	Error   string   `json:"error"`
	Details []Detail `json:"details,omitempty"`
}

// Error is an error with its HTTP status decided by the handler.
type Error struct {
	Status  int
	Message string
	Details []Detail
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid is a 400 error with details.
func Invalid(msg string, details ...Detail) error {
	return &Error{Status: http.StatusBadRequest, Message: msg, Details: details}
}

// Invalidf is a 400 error with a formatted message.
func Invalidf(format string, args ...any) error {
	return &Error{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// Forbidden is a 403 error.
func Forbidden(msg string) error { return &Error{Status: http.StatusForbidden, Message: msg} }

// NotFound is a 404 error.
func NotFound(msg string) error { return &Error{Status: http.StatusNotFound, Message: msg} }

// Classify returns the status and body for err: the single mapping from
// errors to HTTP responses. Internal errors (500) get a generic message; the
// caller logs the real one.
func Classify(err error) (int, ErrorBody) {
	var (
		he  *Error
		mbe *http.MaxBytesError
		ve  *policy.ValidationError
		pe  *policy.ParseError
		me  *manifest.Error
		re  *registry.Error
	)
	switch {
	case errors.As(err, &he):
		return he.Status, ErrorBody{Error: he.Message, Details: he.Details}
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, ErrorBody{Error: fmt.Sprintf("request body is larger than the %d bytes allowed", mbe.Limit)}
	case errors.As(err, &ve):
		body := ErrorBody{Error: ve.Error()}
		for _, fe := range ve.Errors {
			body.Details = append(body.Details, Detail{Path: fe.Path, Message: fe.Message})
		}
		return http.StatusBadRequest, body
	case errors.As(err, &pe):
		body := ErrorBody{Error: pe.Error()}
		if pe.Line > 0 {
			body.Details = []Detail{{Path: fmt.Sprintf("line %d", pe.Line), Message: pe.Err.Error()}}
		}
		return http.StatusBadRequest, body
	case errors.As(err, &me):
		body := ErrorBody{Error: "invalid Kubernetes YAML: " + me.Error()}
		if me.Line > 0 {
			body.Details = []Detail{{Path: fmt.Sprintf("yaml line %d", me.Line), Message: me.Err.Error()}}
		}
		return http.StatusBadRequest, body
	case errors.As(err, &re):
		return registryStatus(re.Kind), ErrorBody{Error: re.Error()}
	case errors.Is(err, auth.ErrCSRF):
		return http.StatusForbidden, ErrorBody{Error: err.Error()}
	case errors.Is(err, auth.ErrRateLimited):
		return http.StatusTooManyRequests, ErrorBody{Error: "too many failed sign-in attempts; try again later"}
	case errors.Is(err, auth.ErrUnauthenticated):
		return http.StatusUnauthorized, ErrorBody{Error: "authentication required: " + err.Error()}
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, ErrorBody{Error: err.Error()}
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, ErrorBody{Error: err.Error()}
	case errors.Is(err, store.ErrInvalid):
		return http.StatusBadRequest, ErrorBody{Error: err.Error()}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, ErrorBody{Error: "the request did not complete in time"}
	}
	return http.StatusInternalServerError, ErrorBody{Error: "internal error"}
}

// registryStatus maps a registry failure Central met on the caller's
// behalf: the caller's reference is at fault for invalid (400) and unknown
// (404) images; a registry that refuses Central's credentials, fails or
// serves corrupt content is a bad gateway (502), a slow one a gateway
// timeout (504). The message is the registry package's plain words, which
// name the registry and the image and never a secret.
func registryStatus(k registry.Kind) int {
	switch k {
	case registry.KindInvalid:
		return http.StatusBadRequest
	case registry.KindNotFound:
		return http.StatusNotFound
	case registry.KindTimeout:
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}
