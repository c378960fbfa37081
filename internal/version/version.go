// Package version holds the build identity of Stockade's binaries. The values
// are set by the linker, for example:
//
//	go build -ldflags "-X github.com/stockade-dev/stockade/internal/version.Version=v0.1.0 \
//	  -X github.com/stockade-dev/stockade/internal/version.Commit=$(git rev-parse HEAD) \
//	  -X github.com/stockade-dev/stockade/internal/version.Date=$(date -u +%FT%TZ)" ./cmd/stockade
//
// They are variables only because -X can set nothing else; no code assigns them.
package version

// Build identity, "dev" in builds made without -ldflags.
var (
	Version = "dev"
	Commit  = "dev"
	Date    = "dev"
)
