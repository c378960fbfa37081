package central

import "testing"

// TestVulnsEndToEnd drives vulnerability management in Debian's Chromium
// (ui/e2e/vulns.spec.ts) against a Central that scanned two real Alpine
// images from a real registry against the real Alpine secdb and recorded
// deployments running them through deploy-time detection: the CVE list
// from those scans, a drill from a CVE to its image and to the deployment
// running it, the image detail with components and their CVEs, the images
// and deployments lists, CSV exports downloaded and checked, and an axe pass
// and a screenshot of every page.
func TestVulnsEndToEnd(t *testing.T) {
	p := needBrowser(t)
	c := start(t, t.TempDir())
	seedVulns(t, c)
	runPlaywright(t, p, c, "vulns")
}
