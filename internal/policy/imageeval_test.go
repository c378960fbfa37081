package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/scanner/scan"
)

// These tests pin down image-criteria behaviour found while writing the
// built-in image policies.

func vulnImage(vulns ...scan.Vuln) *scan.Image {
	img := &scan.Image{
		Name: "registry.shop.example/shop/app:1.0.0", FullName: "registry.shop.example/shop/app:1.0.0",
		Registry: "registry.shop.example", Remote: "shop/app", Tag: "1.0.0",
		ScanTime:   time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC),
		Components: []scan.Component{{Vulns: vulns}},
	}
	img.Components[0].Name, img.Components[0].Version = "libexpat1", "2.5.0-1"
	return img
}

func buildPolicy(g policy.PolicyGroup) *policy.Policy {
	return &policy.Policy{
		Name: "image test", Severity: policy.SeverityHigh,
		LifecycleStages: []policy.LifecycleStage{policy.StageBuild, policy.StageDeploy},
		PolicySections:  []policy.PolicySection{{SectionName: "s", PolicyGroups: []policy.PolicyGroup{g}}},
	}
}

// A negated group matches exactly the vulnerabilities the same group without
// negation does not match. For "Fixed By", the un-negated ".*" means
// "fixable", so its negation must mean "no fix available"; today a negated
// Fixed By never matches a vulnerability without a fix, and a negated ".*"
// matches nothing at all.
func TestNegatedFixedByIsTheComplement(t *testing.T) {
	unfixed := scan.Vuln{ID: "CVE-2023-52426", Severity: scan.SeverityLow, CVSS: 5.5}
	fixed := scan.Vuln{ID: "CVE-2024-45492", Severity: scan.SeverityCritical, CVSS: 9.8, FixedBy: "2.5.0-1+deb12u1"}
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, value := range []string{".*", `2\.5\.0-1\+deb12u.*`, "3\\..*"} {
		for _, v := range []scan.Vuln{unfixed, fixed} {
			var got [2]bool
			for i, negate := range []bool{false, true} {
				c, err := policy.Compile(buildPolicy(policy.PolicyGroup{
					FieldName: "Fixed By", Negate: negate, Values: []policy.PolicyValue{{Value: value}},
				}))
				if err != nil {
					t.Fatal(err)
				}
				got[i] = len(c.MatchImage(vulnImage(v), now)) > 0
			}
			if got[0] == got[1] {
				t.Errorf("Fixed By %q on %s (fixed by %q): matches %v plain and %v negated; negation must give the complement",
					value, v.ID, v.FixedBy, got[0], got[1])
			}
		}
	}
}

// Violation messages are stored by Central, shown in the UI and printed in
// CI logs. For a Dockerfile ENV line they must name the variables but not
// repeat their values: the built-in policy "Credential baked into an image
// ENV instruction" exists because those values are credentials, and the
// deployment-side env messages already leave values out.
func TestDockerfileEnvMessageLeavesValuesOut(t *testing.T) {
	const secret = "Orders-2026!"
	img := vulnImage()
	img.Metadata.Layers = []scan.Layer{{Instruction: "ENV", Value: "DB_USER=orders DB_PASSWORD=" + secret}}
	c, err := policy.Compile(buildPolicy(policy.PolicyGroup{
		FieldName: "Dockerfile Line", Values: []policy.PolicyValue{{Value: "ENV=(.*\\s)?\\w*PASSWORD=.+"}},
	}))
	if err != nil {
		t.Fatal(err)
	}
	vs := c.MatchImage(img, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	if len(vs) == 0 {
		t.Fatal("no violation")
	}
	for _, v := range vs {
		if strings.Contains(v.Message, secret) {
			t.Errorf("message repeats the ENV value: %s", v.Message)
		}
		if !strings.Contains(v.Message, "DB_PASSWORD") {
			t.Errorf("message does not name the variable: %s", v.Message)
		}
	}
}
