package watch

import (
	"github.com/stockade-dev/stockade/internal/workload"
)

// Enrich fills in what the cluster says about d's neighbourhood (exposure
// through Services, Ingresses and Routes, network policy coverage, the
// service account's RBAC level) from the Watcher's Context, as the Watcher
// does for the deployments it emits. Admission control calls it to judge a
// workload that is not stored yet as it will be once it is. It is safe to
// call concurrently and before Run (the Context is empty then).
func (w *Watcher) Enrich(d *workload.Deployment) {
	w.ctxMu.RLock()
	defer w.ctxMu.RUnlock()
	w.wctx.Enrich(d)
}

// PodDeployment returns the id of the deployment pod namespace/name belongs
// to: the pod's top-level owner as the caches know it, or the pod itself
// when it has none. ok is false when the pod or its deployment is not known
// (not emitted yet, or Run has not set up the informers).
func (w *Watcher) PodDeployment(namespace, name string) (id string, ok bool) {
	if !w.isStarted() {
		return "", false
	}
	obj, ok := w.get(ref{kind: workload.KindPod, namespace: namespace, name: name})
	if !ok {
		return "", false
	}
	m, err := accessor(obj)
	if err != nil {
		return "", false
	}
	top := w.topOf(workload.KindPod, m)
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.state[top]
	if e == nil {
		return "", false
	}
	return e.dep.ID, true
}
