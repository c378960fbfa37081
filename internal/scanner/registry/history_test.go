package registry

import (
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func TestDockerfileLine(t *testing.T) {
	tests := []struct {
		createdBy, instr, value string
	}{
		// docker's classic builder
		{`/bin/sh -c #(nop)  EXPOSE 22/tcp`, "EXPOSE", "22/tcp"},
		{`/bin/sh -c #(nop) ADD file:0a1b2c3d4e5f in / `, "ADD", "file:0a1b2c3d4e5f in /"},
		{`/bin/sh -c #(nop) COPY dir:abc in /app `, "COPY", "dir:abc in /app"},
		{`/bin/sh -c #(nop)  CMD ["nginx" "-g" "daemon off;"]`, "CMD", `["nginx" "-g" "daemon off;"]`},
		{`/bin/sh -c #(nop)  ENV PATH=/usr/local/bin:/usr/bin`, "ENV", "PATH=/usr/local/bin:/usr/bin"},
		{`/bin/sh -c #(nop)  USER nobody`, "USER", "nobody"},
		{`/bin/sh -c #(nop)  LABEL maintainer=me@example.com`, "LABEL", "maintainer=me@example.com"},
		{`/bin/sh -c #(nop) WORKDIR /srv`, "WORKDIR", "/srv"},
		{`/bin/sh -c #(nop)  HEALTHCHECK &{["CMD-SHELL" "curl -f localhost"] "30s" "0s" "0s" '\x00'}`, "HEALTHCHECK", `&{["CMD-SHELL" "curl -f localhost"] "30s" "0s" "0s" '\x00'}`},
		{`/bin/sh -c apt-get update && apt-get install -y curl`, "RUN", "apt-get update && apt-get install -y curl"},
		{`/bin/bash -o pipefail -c curl -sSL x | sh`, "RUN", "curl -sSL x | sh"},
		{`/bin/sh -ec set -x; make`, "RUN", "set -x; make"},
		{`sh -c echo hi`, "RUN", "echo hi"},
		// build args
		{`|2 A=1 B=2 /bin/sh -c make install`, "RUN", "make install"},
		{`|1 MSG=hello world /bin/sh -c echo $MSG`, "RUN", "echo $MSG"},
		{`|1 X=1 make`, "", "make"},
		// BuildKit
		{`RUN /bin/sh -c apt-get update # buildkit`, "RUN", "apt-get update"},
		{`RUN |2 A=1 B=2 /bin/sh -c make # buildkit`, "RUN", "make"},
		{`RUN echo exec form # buildkit`, "RUN", "echo exec form"},
		{`COPY /src /app # buildkit`, "COPY", "/src /app"},
		{`ADD https://example.com/x.tgz /opt/ # buildkit`, "ADD", "https://example.com/x.tgz /opt/"},
		{`EXPOSE map[22/tcp:{} 80/tcp:{}]`, "EXPOSE", "22/tcp 80/tcp"},
		{`ENV A=b`, "ENV", "A=b"},
		{`USER 1000:1000`, "USER", "1000:1000"},
		// other builders
		{`COPY file:abc in /x`, "COPY", "file:abc in /x"},
		{`cmd /S /C powershell -Command Install-Thing`, "RUN", "powershell -Command Install-Thing"},
		{`apko`, "", "apko"},
		{``, "", ""},
		{`  `, "", ""},
	}
	for _, tt := range tests {
		instr, value := dockerfileLine(tt.createdBy)
		if instr != tt.instr || value != tt.value {
			t.Errorf("dockerfileLine(%q) = %q %q, want %q %q", tt.createdBy, instr, value, tt.instr, tt.value)
		}
	}
}

func TestHistoryLayers(t *testing.T) {
	d := func(n int64) v1.Descriptor {
		return v1.Descriptor{Digest: v1.Hash{Algorithm: "sha256", Hex: strings.Repeat(string(rune('a'+n)), 64)}, Size: n * 100}
	}
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	history := []v1.History{
		{CreatedBy: `/bin/sh -c #(nop) ADD file:x in / `, Created: v1.Time{Time: created}},
		{CreatedBy: `/bin/sh -c #(nop)  CMD ["bash"]`, EmptyLayer: true},
		{CreatedBy: `/bin/sh -c apt-get update`},
	}
	got, notes := historyLayers(history, []v1.Descriptor{d(1), d(2)})
	if len(notes) != 0 || len(got) != 3 {
		t.Fatalf("got %+v notes %v", got, notes)
	}
	if got[0].Digest != d(1).Digest.String() || got[0].Size != 100 || !got[0].Created.Equal(created) || got[0].Instruction != "ADD" {
		t.Errorf("first = %+v", got[0])
	}
	if !got[1].Empty || got[1].Digest != "" || got[1].Instruction != "CMD" {
		t.Errorf("second = %+v", got[1])
	}
	if got[2].Digest != d(2).Digest.String() || got[2].Instruction != "RUN" || got[2].Value != "apt-get update" {
		t.Errorf("third = %+v", got[2])
	}

	// More layers than history: the rest are listed without a line.
	got, notes = historyLayers(history[:1], []v1.Descriptor{d(1), d(2), d(3)})
	if len(got) != 3 || got[2].Digest != d(3).Digest.String() || got[2].Instruction != "" || len(notes) != 1 {
		t.Errorf("short history: %+v %v", got, notes)
	}
	// No history at all: one entry per layer, no note.
	got, notes = historyLayers(nil, []v1.Descriptor{d(1)})
	if len(got) != 1 || got[0].Digest != d(1).Digest.String() || len(notes) != 0 {
		t.Errorf("no history: %+v %v", got, notes)
	}
	// More history than layers: noted.
	_, notes = historyLayers(history, []v1.Descriptor{d(1)})
	if len(notes) != 1 || !strings.Contains(notes[0], "2 non-empty entries for 1 layers") {
		t.Errorf("long history notes %v", notes)
	}
}

func TestPortOrder(t *testing.T) {
	cf := &v1.ConfigFile{Config: v1.Config{ExposedPorts: map[string]struct{}{
		"8080/tcp": {}, "22/tcp": {}, "443/tcp": {}, "53/udp": {}, "53/tcp": {},
	}}}
	got := strings.Join(metadataOf(cf).ExposedPorts, " ")
	if got != "22/tcp 53/tcp 53/udp 443/tcp 8080/tcp" {
		t.Fatalf("ports = %s", got)
	}
}
