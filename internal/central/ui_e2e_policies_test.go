package central

import (
	"net/http"
	"testing"
)

// TestPoliciesEndToEnd drives the policy pages in Debian's Chromium
// (ui/e2e/policies.spec.ts) against a Central that recorded a privileged pod
// in two namespaces and a hardened deployment: the wizard creates a policy
// step by step, with a value error shown as it is typed and fixed, and a
// dry run that finds the privileged pod; the new policy is in the list;
// policies are exported and imported as files, with a name conflict
// overwritten; a custom policy is deleted; and a violation's deployment is
// excluded from its policy, which resolves the violation. Every wizard step
// passes axe and is screenshotted.
func TestPoliciesEndToEnd(t *testing.T) {
	p := needBrowser(t)
	c := start(t, t.TempDir())
	c.must(http.StatusOK, c.admin(), "POST", "/v1/detect/deploy/yaml", map[string]any{
		"yaml": privilegedPod + "---\n" + hardenedDeployment, "record": true, "cluster": "lab",
	})
	var priv alertList
	c.must(http.StatusOK, c.admin(), "GET", "/v1/alerts?policyId="+privilegedPolicy(t).ID, nil).json(t, &priv)
	if priv.Total != 1 {
		t.Fatalf("alerts of the privileged policy: %+v", priv)
	}
	runPlaywright(t, p, c, "policies")
}
