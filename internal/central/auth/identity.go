package auth

import "context"

// Identity is the authenticated caller of a request.
type Identity struct {
	// Kind is "user" for the admin user, "token" for an API token.
	Kind string
	// Name is the user name or the token's name.
	Name string
	Role Role
	// TokenID is the token's id for token callers.
	TokenID string
}

// Identity kinds.
const (
	KindUser  = "user"
	KindToken = "token"
)

type identityKey struct{}

// WithIdentity returns ctx carrying id.
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// FromContext returns the caller stored by WithIdentity; ok is false for
// unauthenticated (public) requests.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey{}).(Identity)
	return id, ok
}
