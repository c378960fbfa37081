package java

import "github.com/stockade-dev/stockade/internal/scanner/purl"

// PURL is the package URL of a Maven artifact (see purl.Maven):
// pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1. An artifact whose
// group is unknown has no namespace.
func PURL(group, artifact, version string) string { return purl.Maven(group, artifact, version) }
