package store

import (
	"sync"
	"sync/atomic"
)

// vulnCache keeps the two joins every vulnerability list starts from —
// which deployments run which stored digests, and every deployment with
// its images' CVE counts — between writes. A committed transaction that
// touched images, image names or deployments invalidates it (InTx); a
// reader that computed a join stores it under the generation it read
// before its snapshot began, so a write committed meanwhile is never
// hidden: its invalidation moves the generation past the stored one.
type vulnCache struct {
	gen atomic.Uint64

	mu sync.Mutex
	// digests is the deployments-by-digest join of every deployment,
	// current when digestsGen == gen.
	digestsGen uint64
	digests    *deploymentDigestsJoin
	// deployments is every deployment with its counts, current when
	// deploymentsGen == gen.
	deploymentsGen uint64
	deployments    []DeploymentVulns
}

// deploymentDigestsJoin maps each digest to indexes of ids.
type deploymentDigestsJoin struct {
	byDigest map[string][]int32
	ids      []string
}

// invalidate drops everything cached; generations start at 1 so that the
// zero values mean "nothing cached".
func (c *vulnCache) invalidate() { c.gen.Add(1) }

// generation is the generation a reader computes under.
func (c *vulnCache) generation() uint64 { return c.gen.Load() + 1 }

func (c *vulnCache) getDigests(gen uint64) *deploymentDigestsJoin {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.digestsGen == gen {
		return c.digests
	}
	return nil
}

func (c *vulnCache) putDigests(gen uint64, j *deploymentDigestsJoin) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.digestsGen, c.digests = gen, j
}

// getDeployments returns the cached deployments; callers must not modify
// them.
func (c *vulnCache) getDeployments(gen uint64) ([]DeploymentVulns, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.deploymentsGen == gen && c.deployments != nil {
		return c.deployments, true
	}
	return nil, false
}

func (c *vulnCache) putDeployments(gen uint64, ds []DeploymentVulns) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deploymentsGen, c.deployments = gen, ds
}
