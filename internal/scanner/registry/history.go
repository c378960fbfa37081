package registry

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// Dockerfile instructions that history entries name.
var instructions = map[string]bool{
	"ADD": true, "ARG": true, "CMD": true, "COPY": true, "ENTRYPOINT": true, "ENV": true, "EXPOSE": true,
	"FROM": true, "HEALTHCHECK": true, "LABEL": true, "MAINTAINER": true, "ONBUILD": true, "RUN": true,
	"SHELL": true, "STOPSIGNAL": true, "USER": true, "VOLUME": true, "WORKDIR": true,
}

var (
	// buildkitSuffix ends every history entry BuildKit writes.
	buildkitSuffix = regexp.MustCompile(`\s*#\s*buildkit\s*$`)
	// shellPrefix is a shell running a command string: "/bin/sh -c ",
	// "/bin/bash -o pipefail -c ", "sh -c ".
	shellPrefix = regexp.MustCompile(`^(?:/\S*/)?(?:sh|bash|ash|dash|zsh|ksh)(?: -o \S+| -[a-zA-Z]+)*? -[a-zA-Z]*c(?: |$)`)
	// windowsShell is the Windows equivalent: "cmd /S /C ", "powershell -Command ".
	windowsShell = regexp.MustCompile(`(?i)^(?:cmd(?:\.exe)? /S /C|powershell(?:\.exe)?(?: -\S+)*? -Command) `)
	// buildArgs is the "|2 A=1 B=2 " docker puts before a RUN that saw build args.
	buildArgs = regexp.MustCompile(`^\|(\d+) `)
	// exposeMap is how BuildKit writes ports: "map[22/tcp:{} 80/tcp:{}]".
	exposeMap = regexp.MustCompile(`^map\[(.*)\]$`)
)

// dockerfileLine turns a history entry's created_by into the Dockerfile
// instruction and its arguments:
//
//	/bin/sh -c #(nop)  EXPOSE 22/tcp        → EXPOSE "22/tcp"
//	/bin/sh -c apt-get update               → RUN "apt-get update"
//	|2 A=1 B=2 /bin/sh -c make              → RUN "make"
//	RUN /bin/sh -c apt-get update # buildkit → RUN "apt-get update"
//	COPY file:abc in /x                     → COPY "file:abc in /x"
//	EXPOSE map[22/tcp:{}] # buildkit        → EXPOSE "22/tcp"
//
// What it does not recognize has no instruction and the text as value.
func dockerfileLine(createdBy string) (instruction, value string) {
	s := strings.TrimSpace(buildkitSuffix.ReplaceAllString(createdBy, ""))
	if s == "" {
		return "", ""
	}
	s = stripBuildArgs(s)
	if loc := shellPrefix.FindStringIndex(s); loc != nil {
		rest := strings.TrimSpace(s[loc[1]:])
		if after, ok := strings.CutPrefix(rest, "#(nop)"); ok {
			return splitInstruction(strings.TrimSpace(after))
		}
		return "RUN", rest
	}
	if loc := windowsShell.FindStringIndex(s); loc != nil {
		return "RUN", strings.TrimSpace(s[loc[1]:])
	}
	return splitInstruction(s)
}

// splitInstruction splits "EXPOSE 22/tcp" into EXPOSE and "22/tcp".
func splitInstruction(s string) (string, string) {
	word, rest, _ := strings.Cut(s, " ")
	if !instructions[word] {
		return "", s
	}
	rest = strings.TrimSpace(rest)
	switch word {
	case "RUN":
		// BuildKit: "RUN /bin/sh -c cmd", "RUN |1 A=b /bin/sh -c cmd".
		rest = stripBuildArgs(rest)
		if loc := shellPrefix.FindStringIndex(rest); loc != nil {
			rest = strings.TrimSpace(rest[loc[1]:])
		}
	case "EXPOSE":
		if m := exposeMap.FindStringSubmatch(rest); m != nil {
			ports := strings.Fields(m[1])
			for i, p := range ports {
				ports[i] = strings.TrimSuffix(p, ":{}")
			}
			rest = strings.Join(ports, " ")
		}
	}
	return word, rest
}

// stripBuildArgs removes the "|N k=v …" prefix of a RUN that saw build
// args. Values may hold spaces, so it cuts at the shell that follows when
// there is one, and after N words otherwise.
func stripBuildArgs(s string) string {
	m := buildArgs.FindStringSubmatch(s)
	if m == nil {
		return s
	}
	rest := s[len(m[0]):]
	for i := 0; i < len(rest); i++ {
		if i == 0 || rest[i-1] == ' ' {
			if shellPrefix.MatchString(rest[i:]) || windowsShell.MatchString(rest[i:]) {
				return rest[i:]
			}
		}
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return rest
	}
	fields := strings.Fields(rest)
	if n > len(fields) {
		return ""
	}
	return strings.Join(fields[n:], " ")
}

// historyLayers lines up the history with the manifest's layers: each
// entry not marked empty_layer made the next layer. It returns a note when
// the two disagree.
func historyLayers(history []v1.History, layers []v1.Descriptor) ([]scan.Layer, []string) {
	out := make([]scan.Layer, 0, max(len(history), len(layers)))
	var notes []string
	li := 0
	for _, h := range history {
		instr, val := dockerfileLine(h.CreatedBy)
		l := scan.Layer{Instruction: instr, Value: val, Created: h.Created.Time, Empty: h.EmptyLayer}
		if !h.EmptyLayer {
			if li < len(layers) {
				l.Digest = layers[li].Digest.String()
				l.Size = layers[li].Size
			}
			li++
		}
		out = append(out, l)
	}
	switch {
	case li > len(layers):
		notes = append(notes, fmt.Sprintf("history has %d non-empty entries for %d layers; the extra entries have no layer", li, len(layers)))
	case li < len(layers):
		if len(history) > 0 {
			notes = append(notes, fmt.Sprintf("history has %d non-empty entries for %d layers; the last layers have no Dockerfile line", li, len(layers)))
		}
		for _, d := range layers[li:] {
			out = append(out, scan.Layer{Digest: d.Digest.String(), Size: d.Size})
		}
	}
	return out, notes
}
