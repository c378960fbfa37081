// Package httpapi is the HTTP edge of Central's REST API: routes with their
// declared permissions, request decoding, response encoding, and the one
// place where errors become HTTP status codes.
//
// Handlers return errors instead of writing failures themselves. Status
// classifies an error once, at the edge: invalid input is 400, missing or
// wrong credentials 401, a role without the route's permission (or a
// session request without its CSRF token) 403, a missing object 404, a
// clash 409, an oversized body 413, a client over its sign-in budget 429,
// a store that does not answer 503, a registry that fails Central on the
// caller's behalf 502 (504 when it is too slow), and anything else 500
// with a message that reveals nothing.
package httpapi
