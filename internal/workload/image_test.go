package workload

import (
	"strings"
	"testing"
)

func TestParseImage(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		raw  string
		want Image
	}{
		{"nginx", Image{FullName: "docker.io/library/nginx:latest", Registry: "docker.io", Remote: "library/nginx", Tag: "latest"}},
		{"nginx:1.25-alpine", Image{FullName: "docker.io/library/nginx:1.25-alpine", Registry: "docker.io", Remote: "library/nginx", Tag: "1.25-alpine"}},
		{"stackrox/main:4.0", Image{FullName: "docker.io/stackrox/main:4.0", Registry: "docker.io", Remote: "stackrox/main", Tag: "4.0"}},
		{"quay.io/stackrox-io/main:4.4.0", Image{FullName: "quay.io/stackrox-io/main:4.4.0", Registry: "quay.io", Remote: "stackrox-io/main", Tag: "4.4.0"}},
		{"localhost/app", Image{FullName: "localhost/app:latest", Registry: "localhost", Remote: "app", Tag: "latest"}},
		{"localhost:5000/team/app:v1", Image{FullName: "localhost:5000/team/app:v1", Registry: "localhost:5000", Remote: "team/app", Tag: "v1"}},
		{"registry.k8s.io:5000/pause", Image{FullName: "registry.k8s.io:5000/pause:latest", Registry: "registry.k8s.io:5000", Remote: "pause", Tag: "latest"}},
		{"index.docker.io/redis", Image{FullName: "docker.io/library/redis:latest", Registry: "docker.io", Remote: "library/redis", Tag: "latest"}},
		{"gcr.io/google-samples/microservices-demo/frontend@" + digest, Image{
			FullName: "gcr.io/google-samples/microservices-demo/frontend@" + digest, Registry: "gcr.io",
			Remote: "google-samples/microservices-demo/frontend", Digest: digest}},
		{"busybox:1.36@" + digest, Image{FullName: "docker.io/library/busybox:1.36@" + digest, Registry: "docker.io", Remote: "library/busybox", Tag: "1.36", Digest: digest}},
		{"my_org/a__b.c-d--e:TAG_1.x", Image{FullName: "docker.io/my_org/a__b.c-d--e:TAG_1.x", Registry: "docker.io", Remote: "my_org/a__b.c-d--e", Tag: "TAG_1.x"}},
		{"[::1]:5000/app:1", Image{FullName: "[::1]:5000/app:1", Registry: "[::1]:5000", Remote: "app", Tag: "1"}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			got, err := ParseImage(tt.raw)
			if err != nil {
				t.Fatalf("ParseImage(%q): %v", tt.raw, err)
			}
			tt.want.Raw = tt.raw
			if got != tt.want {
				t.Errorf("ParseImage(%q)\n got %+v\nwant %+v", tt.raw, got, tt.want)
			}
		})
	}
}

func TestParseImageRejects(t *testing.T) {
	for _, raw := range []string{
		"", "nginx:", ":tag", "Nginx", "docker.io/Library/nginx", "a//b", "a b", "-a", "a-", "nginx@",
		"nginx@sha256:abc", "nginx@sha256:" + strings.Repeat("z", 64), "nginx:-bad", "nginx:" + strings.Repeat("t", 129),
		"quay.io:/a", "qu_ay.io/a", "a..b", "a._b", "${IMAGE}", "frontend\n", "ünicode", "[::1/app",
		strings.Repeat("a/", 200) + "a", strings.Repeat("x", maxImageRefBytes+1),
	} {
		got, err := ParseImage(raw)
		if err == nil {
			t.Errorf("ParseImage(%q) = %+v, want an error", raw, got)
			continue
		}
		if got != (Image{Raw: raw}) {
			t.Errorf("ParseImage(%q) on error = %+v, want only Raw", raw, got)
		}
	}
}

func FuzzParseImage(f *testing.F) {
	for _, s := range []string{"nginx", "a/b:c@sha256:0", "[::1]:1/x", "localhost", "x@y:z", "a__b", ":", "@", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		img, err := ParseImage(raw)
		if err != nil {
			return
		}
		if img.Registry == "" || img.Remote == "" || (img.Tag == "" && img.Digest == "") {
			t.Fatalf("ParseImage(%q) = %+v: incomplete", raw, img)
		}
		again, err := ParseImage(img.FullName)
		if err != nil || again.FullName != img.FullName {
			t.Fatalf("ParseImage(%q).FullName %q does not parse to itself: %+v, %v", raw, img.FullName, again, err)
		}
	})
}
