package watch

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	"github.com/stockade-dev/stockade/internal/workload"
)

// deploymentConfigsGVR is the OpenShift resource of DeploymentConfigs,
// watched when served.
func deploymentConfigsGVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: workload.OpenShiftAppsGroup, Version: "v1", Resource: "deploymentconfigs"}
}

// routesGVR is the OpenShift resource of Routes, watched when served.
func routesGVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: workload.OpenShiftRouteGroup, Version: "v1", Resource: "routes"}
}

// controllerIndex indexes the workload objects that can be owned (Pods,
// ReplicaSets, Jobs, ReplicationControllers) by the key of their controller,
// so that a top-level workload finds its pods.
const controllerIndex = "controller"

// kindInfo is a workload kind's informer.
type kindInfo struct {
	kind     string
	informer cache.SharedIndexInformer
	// ownable kinds are indexed by controller and may link a pod to its
	// top-level workload.
	ownable bool
}

// factory is the part of the three informer factories Run needs.
type factory struct {
	start    func(stop <-chan struct{})
	shutdown func()
}

// setup discovers the optional OpenShift APIs, makes the informers with
// their transforms, indexes and handlers, and returns the factories to start
// and the functions that report sync.
func (w *Watcher) setup(ctx context.Context) ([]factory, []cache.InformerSynced, error) {
	servesDC, servesRoutes, err := w.servesOpenShift()
	if err != nil {
		return nil, nil, err
	}
	w.log.InfoContext(ctx, "watching cluster", "deploymentConfigs", servesDC, "routes", servesRoutes)

	typed := informers.NewSharedInformerFactoryWithOptions(w.kube, 0, informers.WithTransform(strip))
	metaF := metadatainformer.NewSharedInformerFactoryWithOptions(w.meta, 0, metadatainformer.WithTransform(strip))
	dynF := dynamicinformer.NewDynamicSharedInformerFactory(w.dyn, 0)

	w.kinds = map[string]*kindInfo{
		workload.KindDeployment:            {informer: typed.Apps().V1().Deployments().Informer()},
		workload.KindDaemonSet:             {informer: typed.Apps().V1().DaemonSets().Informer()},
		workload.KindStatefulSet:           {informer: typed.Apps().V1().StatefulSets().Informer()},
		workload.KindReplicaSet:            {informer: typed.Apps().V1().ReplicaSets().Informer(), ownable: true},
		workload.KindReplicationController: {informer: typed.Core().V1().ReplicationControllers().Informer(), ownable: true},
		workload.KindJob:                   {informer: typed.Batch().V1().Jobs().Informer(), ownable: true},
		workload.KindCronJob:               {informer: typed.Batch().V1().CronJobs().Informer()},
		workload.KindPod:                   {informer: typed.Core().V1().Pods().Informer(), ownable: true},
	}
	if servesDC {
		inf := dynF.ForResource(deploymentConfigsGVR()).Informer()
		if err := inf.SetTransform(toDeploymentConfig(w.log)); err != nil {
			return nil, nil, fmt.Errorf("set deploymentconfigs transform: %w", err)
		}
		w.kinds[workload.KindDeploymentConfig] = &kindInfo{informer: inf}
	}
	contextInformers := []cache.SharedIndexInformer{
		typed.Core().V1().Services().Informer(),
		typed.Networking().V1().Ingresses().Informer(),
		typed.Networking().V1().NetworkPolicies().Informer(),
		typed.Core().V1().ServiceAccounts().Informer(),
		typed.Rbac().V1().Roles().Informer(),
		typed.Rbac().V1().ClusterRoles().Informer(),
		typed.Rbac().V1().RoleBindings().Informer(),
		typed.Rbac().V1().ClusterRoleBindings().Informer(),
	}
	if servesRoutes {
		inf := dynF.ForResource(routesGVR()).Informer()
		if err := inf.SetTransform(toRoute(w.log)); err != nil {
			return nil, nil, fmt.Errorf("set routes transform: %w", err)
		}
		contextInformers = append(contextInformers, inf)
	}
	w.namespaces = typed.Core().V1().Namespaces().Informer()
	w.nodes = typed.Core().V1().Nodes().Informer()
	w.secrets = metaF.ForResource(corev1.SchemeGroupVersion.WithResource("secrets")).Informer()

	var synced []cache.InformerSynced
	for kind, k := range w.kinds {
		k.kind = kind
		if k.ownable {
			if err := k.informer.AddIndexers(cache.Indexers{controllerIndex: indexByController}); err != nil {
				return nil, nil, fmt.Errorf("index %s by controller: %w", kind, err)
			}
		}
		reg, err := k.informer.AddEventHandler(w.workloadHandler(k))
		if err != nil {
			return nil, nil, fmt.Errorf("watch %s: %w", kind, err)
		}
		synced = append(synced, reg.HasSynced)
		w.onWatchError(k.informer, kind)
	}
	for _, inf := range contextInformers {
		reg, err := inf.AddEventHandler(w.contextHandler())
		if err != nil {
			return nil, nil, fmt.Errorf("watch context objects: %w", err)
		}
		synced = append(synced, reg.HasSynced)
		w.onWatchError(inf, "context")
	}
	for name, inf := range map[string]cache.SharedIndexInformer{"Namespace": w.namespaces, "Node": w.nodes, "Secret": w.secrets} {
		synced = append(synced, inf.HasSynced)
		w.onWatchError(inf, name)
	}
	close(w.started)

	return []factory{
		{start: typed.Start, shutdown: typed.Shutdown},
		{start: metaF.Start, shutdown: metaF.Shutdown},
		{start: dynF.Start, shutdown: dynF.Shutdown},
	}, synced, nil
}

// servesOpenShift asks discovery whether the server serves DeploymentConfigs
// and Routes. A group version the server does not know is "no"; any other
// failure is an error.
func (w *Watcher) servesOpenShift() (deploymentConfigs, routes bool, err error) {
	serves := func(gvr schema.GroupVersionResource) (bool, error) {
		list, err := w.discovery.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("discover %s: %w", gvr.GroupVersion(), err)
		}
		for _, r := range list.APIResources {
			if r.Name == gvr.Resource {
				return true, nil
			}
		}
		return false, nil
	}
	if deploymentConfigs, err = serves(deploymentConfigsGVR()); err != nil {
		return false, false, err
	}
	if routes, err = serves(routesGVR()); err != nil {
		return false, false, err
	}
	return deploymentConfigs, routes, nil
}

// onWatchError logs list and watch failures (the reflector retries them
// with backoff) through the Watcher's logger instead of klog.
func (w *Watcher) onWatchError(inf cache.SharedIndexInformer, what string) {
	// The handler can only be set before the informer starts, which is
	// the case here; an error would mean a programming mistake in setup.
	if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		w.log.Warn("watch failed; retrying", "resource", what, "err", err)
	}); err != nil {
		w.log.Warn("set watch error handler", "resource", what, "err", err)
	}
}

// indexByController indexes an object by the key of its controller owner.
func indexByController(obj any) ([]string, error) {
	m, err := accessor(obj)
	if err != nil {
		return nil, nil
	}
	if owner, ok := controllerOf(m); ok {
		return []string{owner.String()}, nil
	}
	return nil, nil
}

// ownedByWorkload reports whether obj is a Pod, ReplicaSet, Job or
// ReplicationController controlled by a workload kind the Watcher knows, so
// that neither its pod spec nor most of its status is needed.
func ownedByWorkload(obj any) bool {
	switch obj.(type) {
	case *corev1.Pod, *appsv1.ReplicaSet, *batchv1.Job, *corev1.ReplicationController:
	default:
		return false
	}
	m, err := accessor(obj)
	if err != nil {
		return false
	}
	_, ok := controllerOf(m)
	return ok
}
