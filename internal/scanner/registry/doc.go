// Package registry reads images from container registries for the scanner:
// it resolves a reference to a manifest digest (choosing a platform from a
// multi-arch index), reads the image config as scan.Metadata with the
// history turned into Dockerfile lines, and streams layers, verified
// against their digests, to the layer walker.
//
// Credentials come from image integrations (Integration, one per registry
// or repository prefix, of a type that says how its secrets become registry
// auth: basic, Quay OAuth tokens, IBM API keys, Google service-account
// keys, Azure service principals, or ECR tokens fetched with AWS SigV4),
// then from the docker CLI's config.json, else anonymous access. A Resolver
// makes that choice; plain HTTP is used only for integrations marked
// insecure.
//
// Every failure is an *Error that names the registry host and the image,
// says what happened in plain words, and has a Kind (unreachable,
// unauthorized, forbidden, not found, timeout, corrupt, …) the API edge
// maps to a status code. Secrets are Secret values, which print, log and
// marshal redacted.
//
// Built on github.com/google/go-containerregistry.
package registry
