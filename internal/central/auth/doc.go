// Package auth decides who a request comes from and what it may do.
//
// Central knows two kinds of callers: the admin user, who signs in with HTTP
// Basic and the password created at first start, and API tokens
// ("stk_<id>_<secret>", sent as a Bearer token), each bound to one role.
// The dashboard signs in with either and gets a session: a random id in an
// HttpOnly cookie (only its hash is stored), bound to the credential it was
// opened with, ending after an idle hour or twelve hours; requests that
// change something and are authenticated by that cookie must also carry
// the session's CSRF token in a header, which other origins cannot read.
// Authorization is expressed as Permissions (a resource and an access level)
// that every route declares next to its handler; a Role grants a fixed set of
// them. The one idea: a route's permission is data, checked in one place
// before the handler runs, so a route that declares nothing is refused.
package auth
