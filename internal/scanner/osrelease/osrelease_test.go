package osrelease

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stockade-dev/stockade/internal/scanner/catalog"
)

// readCase loads testdata/<name> as the files a layer would hand to Detect.
func readCase(t *testing.T, name string) map[string][]byte {
	t.Helper()
	root := filepath.Join("testdata", name)
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if !Match(rel) {
			t.Fatalf("fixture %s/%s is not a path Match accepts", name, rel)
		}
		data, err := os.ReadFile(p)
		files[rel] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name    string
		want    *catalog.OS
		wantErr string
	}{
		{"bookworm", &catalog.OS{ID: "debian", VersionID: "12", VersionCodename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"}, ""},
		{"usrlib-only", &catalog.OS{ID: "debian", VersionID: "12", VersionCodename: "bookworm", PrettyName: "Debian GNU/Linux 12 (bookworm)"}, ""},
		{"jessie", &catalog.OS{ID: "debian", VersionID: "8", VersionCodename: "jessie", PrettyName: "Debian GNU/Linux 8 (jessie)"}, ""},
		{"sid", &catalog.OS{ID: "debian", VersionCodename: "trixie", PrettyName: "Debian GNU/Linux trixie/sid"}, ""},
		{"debian-only", &catalog.OS{ID: "debian", VersionID: "11", VersionCodename: "bullseye", PrettyName: "debian 11 (bullseye)"}, ""},
		{"alpine", &catalog.OS{ID: "alpine", VersionID: "3.19.1", PrettyName: "Alpine Linux v3.19"}, ""},
		{"alpine-release-only", &catalog.OS{ID: "alpine", VersionID: "3.4.6", PrettyName: "alpine 3.4.6"}, ""},
		{"ubi8", &catalog.OS{ID: "rhel", VersionID: "8.9", PrettyName: "Red Hat Enterprise Linux 8.9 (Ootpa)"}, ""},
		{"rocky", &catalog.OS{ID: "rocky", VersionID: "9.3", PrettyName: "Rocky Linux release 9.3 (Blue Onyx)"}, ""},
		{"ubuntu-trusty", &catalog.OS{ID: "ubuntu", VersionID: "14.04", VersionCodename: "trusty", PrettyName: "Ubuntu 14.04.6 LTS"}, ""},
		// A broken os-release is reported, and debian_version still names the OS.
		{"broken", &catalog.OS{ID: "debian", VersionID: "10", VersionCodename: "buster", PrettyName: "debian 10 (buster)"}, "parse etc/os-release: line 1: ID: unterminated \" quote"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(readCase(t, tt.name))
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Detect: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Detect error = %v, want it to contain %q", err, tt.wantErr)
			}
			if got == nil || *got != *tt.want {
				t.Fatalf("Detect = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDetectNothing(t *testing.T) {
	got, err := Detect(map[string][]byte{})
	if got != nil || err != nil {
		t.Fatalf("Detect(empty) = %v, %v; want nil, nil", got, err)
	}
	got, err = Detect(map[string][]byte{AlpineRelease: []byte("<html>\n")})
	if got != nil || err == nil || !strings.Contains(err.Error(), "etc/alpine-release") {
		t.Fatalf("Detect(garbage) = %v, %v; want nil and an error naming the file", got, err)
	}
}

func TestEtcOverridesUsrLib(t *testing.T) {
	got, err := Detect(map[string][]byte{
		EtcOSRelease:    []byte("ID=ubuntu\nVERSION_ID=\"22.04\"\nVERSION_CODENAME=jammy\n"),
		UsrLibOSRelease: []byte("ID=debian\nVERSION_ID=12\n"),
		DebianVersion:   []byte("bookworm/sid\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := catalog.OS{ID: "ubuntu", VersionID: "22.04", VersionCodename: "jammy", PrettyName: "ubuntu 22.04 (jammy)"}
	if *got != want {
		t.Fatalf("Detect = %+v, want %+v", got, want)
	}
}

func TestParseOSRelease(t *testing.T) {
	kv, err := ParseOSRelease([]byte("# comment\n\nA=plain\nB=\"with \\\"escaped\\\" quotes\"\nC='single $x'\nD=\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "plain", "B": `with "escaped" quotes`, "C": "single $x", "D": ""}
	for k, v := range want {
		if kv[k] != v {
			t.Errorf("%s = %q, want %q", k, kv[k], v)
		}
	}
	for _, bad := range []string{"no equals sign\n", "BAD KEY=x\n", "A='open\n"} {
		if _, err := ParseOSRelease([]byte(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("ParseOSRelease(%q) error = %v, want one naming line 1", bad, err)
		}
	}
	long := strings.Repeat("x", MaxSize+10)
	if _, err := ParseOSRelease([]byte("A=" + long)); err == nil {
		t.Error("ParseOSRelease accepted a line longer than MaxSize")
	}
}
