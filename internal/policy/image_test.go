package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/shareddata"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/scanner/catalog"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
	"github.com/stockade-dev/stockade/internal/workload"
)

var imageNow = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// scannedImage is a debian:12 based application image with a vulnerable
// log4j, curl, and a few Dockerfile habits worth flagging.
func scannedImage() *scan.Image {
	return &scan.Image{
		Name: "registry.example.com/shop/api:1.4", FullName: "registry.example.com/shop/api:1.4",
		Registry: "registry.example.com", Remote: "shop/api", Tag: "1.4", Digest: "sha256:aaa",
		OS: &catalog.OS{ID: "debian", VersionID: "12", VersionCodename: "bookworm"},
		Metadata: scan.Metadata{
			Created: imageNow.Add(-120 * 24 * time.Hour),
			Labels:  map[string]string{"maintainer": "shop-team"},
			Layers: []scan.Layer{
				{Instruction: "ADD", Value: "file:abc in /"},
				{Instruction: "RUN", Value: "/bin/sh -c apt-get update"},
				{Instruction: "RUN", Value: "/bin/sh -c apt-get install -y curl && rm -rf /var/lib/apt/lists/*"},
				{Instruction: "EXPOSE", Value: "22/tcp"},
				{Instruction: "VOLUME", Value: "[/run/secrets]"},
			},
		},
		ScanTime: imageNow.Add(-40 * 24 * time.Hour),
		Components: []scan.Component{
			{Component: catalog.Component{Name: "curl", Version: "7.88.1-10+deb12u5", Ecosystem: catalog.Debian}, Vulns: []scan.Vuln{
				{ID: "CVE-2024-2398", Severity: scan.SeverityModerate, CVSS: 6.5, FixedBy: "7.88.1-10+deb12u6"},
				{ID: "CVE-2024-7264", Severity: scan.SeverityLow, CVSS: 3.1},
			}},
			{Component: catalog.Component{Name: "org.apache.logging.log4j:log4j-core", Version: "2.14.1", Ecosystem: catalog.Maven}, Vulns: []scan.Vuln{
				{ID: "GHSA-jfh8-c2jp-5v3q", Aliases: []string{"CVE-2021-44228"}, Severity: scan.SeverityCritical, CVSS: 10, FixedBy: "2.15.0", Published: imageNow.Add(-1800 * 24 * time.Hour)},
			}},
			{Component: catalog.Component{Name: "apt", Version: "2.6.1", Ecosystem: catalog.Debian}},
		},
	}
}

func TestMatchImage(t *testing.T) {
	cases := []struct {
		name     string
		sections [][]grp
		mutate   func(img *scan.Image)
		want     []string
	}{
		{"log4shell by alias", [][]grp{{{field: "CVE", values: []string{"CVE-2021-44228"}}}}, nil,
			[]string{"GHSA-jfh8-c2jp-5v3q (CVSS 10.0, CRITICAL) in component 'org.apache.logging.log4j:log4j-core' 2.14.1 of image 'registry.example.com/shop/api:1.4', fixed by 2.15.0"}},
		{"fixable cvss >= 7", [][]grp{{{field: "Fixed By", values: []string{".*"}}, {field: "CVSS", values: []string{">= 7.000000"}}}}, nil,
			[]string{"GHSA-jfh8-c2jp-5v3q"}},
		{"fixable excludes unfixed", [][]grp{{{field: "Fixed By", values: []string{".*"}}}}, nil,
			[]string{"CVE-2024-2398", "GHSA-jfh8-c2jp-5v3q"}},
		{"severity comparator", [][]grp{{{field: "Severity", values: []string{">= IMPORTANT"}}}}, nil, []string{"CRITICAL"}},
		{"severity below", [][]grp{{{field: "Severity", values: []string{"< MODERATE"}}}}, nil, []string{"CVE-2024-7264"}},
		{"component name", [][]grp{{{field: "Image Component", values: []string{"apt|dpkg="}}}}, nil,
			[]string{"contains component 'apt' version 2.6.1"}},
		{"component and cve same component", [][]grp{{{field: "Image Component", values: []string{"apt="}}, {field: "CVE", values: []string{"CVE-.*"}}}}, nil, nil},
		{"component version regex", [][]grp{{{field: "Image Component", values: []string{"curl=7\\.88\\..*"}}}}, nil, []string{"'curl'"}},
		{"image age", [][]grp{{{field: "Image Age", values: []string{"90"}}}}, nil, []string{"was created 120 days ago (policy: 90 days)"}},
		{"image young", [][]grp{{{field: "Image Age", values: []string{"180"}}}}, nil, nil},
		{"scan age", [][]grp{{{field: "Image Scan Age", values: []string{"30"}}}}, nil, []string{"last scanned 40 days ago"}},
		{"root by default", [][]grp{{{field: "Image User", values: []string{"0", "root"}}}}, nil, []string{"runs as root: it sets no USER"}},
		{"uid 0", [][]grp{{{field: "Image User", values: []string{"root"}}}}, func(i *scan.Image) { i.Metadata.User = "0:0" }, []string{"runs as user '0:0'"}},
		{"non-root", [][]grp{{{field: "Image User", values: []string{"0", "root"}}}}, func(i *scan.Image) { i.Metadata.User = "app" }, nil},
		{"dockerfile update", [][]grp{{{field: "Dockerfile Line", values: []string{"RUN=.*apt-get update.*"}}}}, nil,
			[]string{"Dockerfile line 'RUN /bin/sh -c apt-get update'"}},
		{"dockerfile acs volume regex", [][]grp{{{field: "Dockerfile Line", values: []string{`VOLUME=(?:(?:[,\[\s]?)|(?:.*[,\s]+))/run/secrets(?:$|[,\]\s]).*`}}}}, nil, []string{"VOLUME [/run/secrets]"}},
		{"dockerfile expose 22", [][]grp{{{field: "Dockerfile Line", values: []string{"EXPOSE=(22/tcp|\\s+22/tcp)"}}}}, nil, []string{"EXPOSE 22/tcp"}},
		{"dockerfile anchored", [][]grp{{{field: "Dockerfile Line", values: []string{"RUN=apt-get install"}}}}, nil, nil},
		{"required image label missing", [][]grp{{{field: "Required Image Label", values: []string{"org.opencontainers.image.source=.+"}}}}, nil, []string{"lacks a required label"}},
		{"required image label present", [][]grp{{{field: "Required Image Label", values: []string{"maintainer=.+"}}}}, nil, nil},
		{"disallowed label", [][]grp{{{field: "Disallowed Image Label", values: []string{"maintainer="}}}}, nil, []string{"disallowed label maintainer=shop-team"}},
		{"image os", [][]grp{{{field: "Image OS", values: []string{"debian:1[12]"}}}}, nil, []string{"is based on 'debian:12'"}},
		{"days since published", [][]grp{{{field: "Days Since CVE Was Published", values: []string{"365"}}}}, nil, []string{"GHSA-jfh8-c2jp-5v3q"}},
		{"registry with image criterion", [][]grp{{{field: "Image Registry", values: []string{"registry.example.com"}}, {field: "Image Age", values: []string{"90"}}}}, nil,
			[]string{"from registry 'registry.example.com'", "was created 120 days ago"}},
		{"unscanned false", [][]grp{{{field: "Unscanned Image", values: []string{"true"}}}}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := scannedImage()
			if c.mutate != nil {
				c.mutate(img)
			}
			p := mkPolicy(c.sections...)
			p.LifecycleStages = []policy.LifecycleStage{policy.StageBuild, policy.StageDeploy}
			comp, err := policy.Compile(p)
			if err != nil {
				t.Fatal(err)
			}
			got := comp.MatchImage(img, imageNow)
			if len(got) != len(c.want) {
				t.Fatalf("got %d violations %v, want %d %q", len(got), got, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(got[i].Message, w) {
					t.Errorf("violation %d = %q, want it to contain %q", i, got[i].Message, w)
				}
			}
		})
	}
}

func TestMatchDeploymentWithImages(t *testing.T) {
	d := web()
	img := scannedImage()
	// Only the nginx container's image has been scanned.
	lookup := func(c *workload.Container) *scan.Image {
		if c.Name == "nginx" {
			return img
		}
		return nil
	}
	critical := mkPolicy([]grp{{field: "Severity", values: []string{"CRITICAL"}}, {field: "Container Name", values: []string{"nginx"}}})
	unscanned := mkPolicy([]grp{{field: "Unscanned Image", values: []string{"true"}}})
	mixed := mkPolicy([]grp{{field: "Privileged Container", values: []string{"true"}}, {field: "CVSS", values: []string{">= 9"}}})
	for _, tc := range []struct {
		p    *policy.Policy
		want []string
	}{
		{critical, []string{"Container is named 'nginx'", "GHSA-jfh8-c2jp-5v3q"}},
		{unscanned, []string{"'docker.io/library/busybox:1.36' in container 'init-db' has not been scanned", "in container 'sidecar' has not been scanned"}},
		// The privileged container's image is unscanned: no CVE can be held against it.
		{mixed, nil},
	} {
		c, err := policy.Compile(tc.p)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.MatchDeployment(d); got != nil {
			t.Errorf("without image data the image sections must be skipped, got %v", got)
		}
		got := c.MatchDeploymentWithImages(d, lookup, imageNow)
		if len(got) != len(tc.want) {
			t.Fatalf("got %v, want %q", got, tc.want)
		}
		for i, w := range tc.want {
			if !strings.Contains(got[i].Message, w) {
				t.Errorf("violation %d = %q, want %q", i, got[i].Message, w)
			}
		}
	}
}

// TestACSImagePoliciesEvaluate runs the StackRox image policies against the
// scanned image: those that the image should trip do.
func TestACSImagePoliciesEvaluate(t *testing.T) {
	fires := map[string]bool{
		"log4shell.json": true, "apt.json": true, "curl.json": true, "image_age_days.json": true,
		"root_user.json": true, "fixable_cves.json": true, "cvss_7.json": true, "severity_important.json": true,
		"update_instructions.json": true, "image_port_22.json": true, "insecure_command.json": false,
		"spring4shell.json": false, "dnf.json": false, "wget.json": false, "required_image_label.json": true,
	}
	img := scannedImage()
	for file, want := range fires {
		data, err := os.ReadFile(filepath.Join(shareddata.Dir(t), "stackrox-policies", file))
		if err != nil {
			t.Fatal(err)
		}
		ps, err := policy.Parse(file, data)
		if err != nil {
			t.Fatal(err)
		}
		c, err := policy.Compile(ps[0])
		if err != nil {
			t.Fatal(err)
		}
		got := c.MatchImage(img, imageNow)
		if (len(got) > 0) != want {
			t.Errorf("%s (%s): violations %v, want firing=%v", file, ps[0].Name, got, want)
		}
	}
}

func TestSetEvaluateImageHonoursImageExclusions(t *testing.T) {
	p := mkPolicy([]grp{{field: "CVE", values: []string{"CVE-2021-44228"}}})
	p.LifecycleStages = []policy.LifecycleStage{policy.StageBuild}
	p.Exclusions = []policy.Exclusion{{Image: &policy.ExclusionImage{Name: "registry.example.com/shop/"}}}
	s, err := policy.NewSet([]*policy.Policy{p})
	if err != nil {
		t.Fatal(err)
	}
	if a := s.EvaluateImage(scannedImage(), imageNow); len(a) != 0 {
		t.Fatalf("excluded image still alerted: %+v", a)
	}
	p.Exclusions[0].Expiration = "2026-01-01T00:00:00Z"
	s, _ = policy.NewSet([]*policy.Policy{p})
	if a := s.EvaluateImage(scannedImage(), imageNow); len(a) != 1 {
		t.Fatalf("expired exclusion: got %d alerts, want 1", len(a))
	}
}
