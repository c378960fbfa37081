package watch

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"

	"github.com/stockade-dev/stockade/internal/workload"
)

// ref names a workload object: the key of the work queue.
type ref struct {
	kind, namespace, name string
}

func (r ref) String() string { return r.kind + "/" + r.namespace + "/" + r.name }

// maxOwnerDepth bounds walks along owner references; real chains are at
// most three long (Pod → Job → CronJob), and a cycle must not hang a worker.
const maxOwnerDepth = 4

// workloadGroups returns the API groups an owner reference to a workload
// kind that can control another names (extensions for objects written by
// old controllers); nil for any other kind.
func workloadGroups(kind string) []string {
	switch kind {
	case workload.KindDeployment, workload.KindDaemonSet, workload.KindReplicaSet:
		return []string{"apps", "extensions"}
	case workload.KindStatefulSet:
		return []string{"apps"}
	case workload.KindReplicationController:
		return []string{""}
	case workload.KindJob, workload.KindCronJob:
		return []string{"batch"}
	case workload.KindDeploymentConfig:
		return []string{workload.OpenShiftAppsGroup}
	}
	return nil
}

// controllerOf returns the workload that controls m: the owner reference
// marked controller, when it names a workload kind. An object controlled by
// anything else (a custom resource, a Node for a static pod) has none and is
// a top-level workload itself.
func controllerOf(m metav1.Object) (ref, bool) {
	for _, o := range m.GetOwnerReferences() {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		groups := workloadGroups(o.Kind)
		if groups == nil {
			return ref{}, false
		}
		gv, err := schema.ParseGroupVersion(o.APIVersion)
		if err != nil || !slices.Contains(groups, gv.Group) {
			return ref{}, false
		}
		return ref{kind: o.Kind, namespace: m.GetNamespace(), name: o.Name}, true
	}
	return ref{}, false
}

func (w *Watcher) workloadHandler(k *kindInfo) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.workloadChanged(k, nil, obj) },
		UpdateFunc: func(oldObj, newObj any) { w.workloadChanged(k, oldObj, newObj) },
		DeleteFunc: func(obj any) { w.workloadChanged(k, obj, nil) },
	}
}

// workloadChanged queues the top-level workloads an added, updated or
// deleted workload object belongs to. Updates to a controlled object that
// keep its controller matter only when they are a pod's image statuses.
func (w *Watcher) workloadChanged(k *kindInfo, oldObj, newObj any) {
	var metas []metav1.Object
	for _, obj := range [...]any{oldObj, newObj} {
		if obj == nil {
			continue
		}
		m, err := accessor(obj)
		if err != nil {
			w.log.Warn("workload object without metadata", "kind", k.kind, "type", fmt.Sprintf("%T", obj))
			continue
		}
		metas = append(metas, m)
	}
	if len(metas) == 2 && k.ownable {
		oldOwner, oldOwned := controllerOf(metas[0])
		newOwner, newOwned := controllerOf(metas[1])
		if oldOwned && newOwned && oldOwner == newOwner && (k.kind != workload.KindPod || sameImages(oldObj, newObj)) {
			return
		}
	}
	for _, m := range metas {
		w.enqueue(w.topOf(k.kind, m))
	}
}

// sameImages reports whether two versions of a pod report the same images.
func sameImages(a, b any) bool {
	pa, okA := a.(*corev1.Pod)
	pb, okB := b.(*corev1.Pod)
	if !okA || !okB {
		return false
	}
	eq := func(x, y corev1.ContainerStatus) bool {
		return x.Name == y.Name && x.Image == y.Image && x.ImageID == y.ImageID
	}
	return slices.EqualFunc(pa.Status.ContainerStatuses, pb.Status.ContainerStatuses, eq) &&
		slices.EqualFunc(pa.Status.InitContainerStatuses, pb.Status.InitContainerStatuses, eq)
}

func (w *Watcher) enqueue(r ref) {
	w.sync.record(r)
	w.queue.Add(r)
}

// topOf returns the top-level workload of object m of kind.
func (w *Watcher) topOf(kind string, m metav1.Object) ref {
	if owner, ok := controllerOf(m); ok {
		return w.top(owner)
	}
	return ref{kind: kind, namespace: m.GetNamespace(), name: m.GetName()}
}

// top follows controller references from r through the caches up to the
// workload no watched workload controls. It stops at an object the caches
// do not hold: that is the top as far as Sensor can tell, and processing it
// emits nothing.
func (w *Watcher) top(r ref) ref {
	for range maxOwnerDepth {
		obj, ok := w.get(r)
		if !ok {
			return r
		}
		m, err := accessor(obj)
		if err != nil {
			return r
		}
		owner, ok := controllerOf(m)
		if !ok {
			return r
		}
		r = owner
	}
	return r
}

func (w *Watcher) get(r ref) (any, bool) {
	k := w.kinds[r.kind]
	if k == nil {
		return nil, false
	}
	obj, ok, err := k.informer.GetIndexer().GetByKey(r.namespace + "/" + r.name)
	if err != nil || !ok {
		return nil, false
	}
	return obj, true
}

// process brings the emitted state of r in line with the caches. It holds
// the Context's read lock from normalization to commit, so that a Context
// change either happens before it (and is seen) or after the commit (and
// then finds r in byNamespace and queues it again).
func (w *Watcher) process(r ref) {
	w.ctxMu.RLock()
	defer w.ctxMu.RUnlock()
	var d *workload.Deployment
	if obj, ok := w.get(r); ok {
		d = w.normalize(r, obj)
	}
	var hash string
	if d != nil {
		var err error
		if hash, err = hashOf(d); err != nil {
			w.log.Warn("hash deployment", "kind", r.kind, "namespace", r.namespace, "name", r.name, "err", err)
			return
		}
	}
	w.commit(r, d, hash)
}

// normalize returns the deployment obj is now, or nil when obj is not a
// top-level workload or does not normalize.
func (w *Watcher) normalize(r ref, obj any) *workload.Deployment {
	m, err := accessor(obj)
	if err != nil {
		return nil
	}
	if _, owned := controllerOf(m); owned {
		return nil
	}
	ro, ok := obj.(runtime.Object)
	if !ok {
		return nil
	}
	d, ok, err := workload.FromObject(ro, w.cluster)
	if err != nil || !ok {
		w.log.Warn("workload does not normalize", "kind", r.kind, "namespace", r.namespace, "name", r.name, "err", err)
		return nil
	}
	var prev *workload.Deployment
	w.mu.Lock()
	if e := w.state[r]; e != nil && e.dep.ID == d.ID {
		prev = e.dep
	}
	w.mu.Unlock()
	fillDigests(d, w.podsOf(r, obj), prev)
	w.wctx.Enrich(d)
	return d
}

// podsOf returns the pods of the top-level workload r: the pod itself, or
// the pods its controlled objects lead to.
func (w *Watcher) podsOf(r ref, obj any) []*corev1.Pod {
	if p, ok := obj.(*corev1.Pod); ok {
		return []*corev1.Pod{p}
	}
	var pods []*corev1.Pod
	frontier := []ref{r}
	for depth := 0; depth < maxOwnerDepth && len(frontier) > 0; depth++ {
		var next []ref
		for _, parent := range frontier {
			key := parent.String()
			for _, k := range w.kinds {
				if !k.ownable {
					continue
				}
				items, err := k.informer.GetIndexer().ByIndex(controllerIndex, key)
				if err != nil {
					continue
				}
				for _, it := range items {
					if p, ok := it.(*corev1.Pod); ok {
						pods = append(pods, p)
						continue
					}
					if m, err := accessor(it); err == nil {
						next = append(next, ref{kind: k.kind, namespace: m.GetNamespace(), name: m.GetName()})
					}
				}
			}
		}
		frontier = next
	}
	return pods
}

// fillDigests pins each container image written without a digest to the
// digest its pods report. The newest pod that runs the container's image
// wins, except that a digest already emitted stays while some pod still
// reports it or none reports any, so that pods coming and going do not make
// the digest flap.
func fillDigests(d *workload.Deployment, pods []*corev1.Pod, prev *workload.Deployment) {
	slices.SortFunc(pods, func(a, b *corev1.Pod) int {
		return cmp.Or(b.CreationTimestamp.Compare(a.CreationTimestamp.Time), cmp.Compare(a.Name, b.Name))
	})
	for i := range d.Containers {
		c := &d.Containers[i]
		if c.Image.Digest != "" || c.Image.FullName == "" {
			continue
		}
		var found []string
		for _, p := range pods {
			for _, list := range [...][]corev1.ContainerStatus{p.Status.InitContainerStatuses, p.Status.ContainerStatuses} {
				for j := range list {
					if list[j].Name != c.Name {
						continue
					}
					if dg := reportedDigest(&list[j], c.Image); dg != "" {
						found = append(found, dg)
					}
				}
			}
		}
		remembered := ""
		if prev != nil {
			for _, pc := range prev.Containers {
				if pc.Name == c.Name && pc.Init == c.Init && pc.Image.FullName == c.Image.FullName {
					remembered = pc.Image.Digest
				}
			}
		}
		switch {
		case remembered != "" && (len(found) == 0 || slices.Contains(found, remembered)):
			c.Image.Digest = remembered
		case len(found) > 0:
			c.Image.Digest = found[0]
		}
	}
}

// reportedDigest returns the repository digest in a container status when
// the status is for img: imageID is REPOSITORY@DIGEST (containerd) or
// docker-pullable://REPOSITORY@DIGEST (dockershim), and either it or the
// status image names img's repository. A bare "sha256:…" imageID is the
// local image id, not a digest a registry knows, and gives nothing; so does
// a pod still running another tag of the repository.
func reportedDigest(st *corev1.ContainerStatus, img workload.Image) string {
	id := st.ImageID
	if i := strings.Index(id, "://"); i >= 0 {
		id = id[i+3:]
	}
	if !strings.Contains(id, "@") {
		return ""
	}
	byID, err := workload.ParseImage(id)
	if err != nil || byID.Digest == "" {
		return ""
	}
	sameRepo := func(a workload.Image) bool { return a.Registry == img.Registry && a.Remote == img.Remote }
	byStatus, err := workload.ParseImage(st.Image)
	statusOK := err == nil
	if statusOK && sameRepo(byStatus) && byStatus.Digest == "" && byStatus.Tag != img.Tag {
		return ""
	}
	if sameRepo(byID) || (statusOK && sameRepo(byStatus)) {
		return byID.Digest
	}
	return ""
}

// hashOf is the content hash of d: hex SHA-256 of its JSON, which is stable
// (struct fields in order, map keys sorted, exposures sorted by Enrich).
func hashOf(d *workload.Deployment) (string, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return "", fmt.Errorf("encode deployment %s/%s: %w", d.Namespace, d.Name, err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// commit records d (nil: r is no deployment now) and emits what changed.
func (w *Watcher) commit(r ref, d *workload.Deployment, hash string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	prev := w.state[r]
	switch {
	case d == nil:
		if prev == nil {
			return
		}
		w.forget(r)
		w.sink.Deployment(Event{Action: ActionRemove, Deployment: prev.dep, Hash: prev.hash})
	case prev == nil:
		w.remember(r, d, hash)
		w.sink.Deployment(Event{Action: ActionCreate, Deployment: d, Hash: hash})
	case prev.dep.ID != d.ID:
		// Deleted and created again under the same name between two passes.
		w.sink.Deployment(Event{Action: ActionRemove, Deployment: prev.dep, Hash: prev.hash})
		w.remember(r, d, hash)
		w.sink.Deployment(Event{Action: ActionCreate, Deployment: d, Hash: hash})
	case prev.hash == hash:
	default:
		w.remember(r, d, hash)
		w.sink.Deployment(Event{Action: ActionUpdate, Deployment: d, Hash: hash})
	}
}

func (w *Watcher) remember(r ref, d *workload.Deployment, hash string) {
	w.state[r] = &entry{dep: d, hash: hash}
	set := w.byNamespace[r.namespace]
	if set == nil {
		set = map[ref]struct{}{}
		w.byNamespace[r.namespace] = set
	}
	set[r] = struct{}{}
}

func (w *Watcher) forget(r ref) {
	delete(w.state, r)
	if set := w.byNamespace[r.namespace]; set != nil {
		delete(set, r)
		if len(set) == 0 {
			delete(w.byNamespace, r.namespace)
		}
	}
}

func (w *Watcher) contextHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.contextChanged(nil, obj) },
		UpdateFunc: func(oldObj, newObj any) { w.contextChanged(oldObj, newObj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			w.contextChanged(obj, nil)
		},
	}
}

// contextChanged applies a change to a Service, Ingress, Route,
// NetworkPolicy, ServiceAccount or RBAC object to the Context and queues the
// deployments it can affect: those of its namespace, or of the namespaces a
// ClusterRoleBinding's subjects live in, or all of them for a ClusterRole
// (any binding may name it, any aggregation may pick it).
func (w *Watcher) contextChanged(oldObj, newObj any) {
	w.ctxMu.Lock()
	if o, ok := newObj.(runtime.Object); ok {
		w.wctx.Add(o)
	} else if o, ok := oldObj.(runtime.Object); ok {
		w.wctx.Remove(o)
	}
	w.ctxMu.Unlock()

	all := false
	namespaces := map[string]struct{}{}
	for _, obj := range [...]any{oldObj, newObj} {
		if obj != nil && scopeOf(obj, namespaces) {
			all = true
		}
	}
	var refs []ref
	w.mu.Lock()
	if all {
		for r := range w.state {
			refs = append(refs, r)
		}
	} else {
		for ns := range namespaces {
			for r := range w.byNamespace[ns] {
				refs = append(refs, r)
			}
		}
	}
	w.mu.Unlock()
	for _, r := range refs {
		w.queue.Add(r)
	}
}

// scopeOf adds to namespaces those whose deployments obj can affect, and
// reports true when it can affect every namespace.
func scopeOf(obj any, namespaces map[string]struct{}) (all bool) {
	switch o := obj.(type) {
	case *rbacv1.ClusterRole:
		return true
	case *rbacv1.ClusterRoleBinding:
		for _, s := range o.Subjects {
			switch s.Kind {
			case rbacv1.ServiceAccountKind:
				if s.Namespace != "" {
					namespaces[s.Namespace] = struct{}{}
				}
			case rbacv1.GroupKind:
				switch {
				case s.Name == "system:serviceaccounts" || s.Name == "system:authenticated":
					return true
				case strings.HasPrefix(s.Name, "system:serviceaccounts:"):
					namespaces[strings.TrimPrefix(s.Name, "system:serviceaccounts:")] = struct{}{}
				}
			case rbacv1.UserKind:
				if rest, ok := strings.CutPrefix(s.Name, "system:serviceaccount:"); ok {
					if ns, _, ok := strings.Cut(rest, ":"); ok {
						namespaces[ns] = struct{}{}
					}
				}
			}
		}
		return false
	default:
		m, err := accessor(obj)
		if err != nil {
			return false
		}
		ns := m.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		namespaces[ns] = struct{}{}
		return false
	}
}
