package watch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/stockade-dev/stockade/internal/workload"
)

// Action says what happened to a deployment.
type Action string

// Actions, with the names Central's protocol uses.
const (
	ActionCreate Action = "CREATE"
	ActionUpdate Action = "UPDATE"
	ActionRemove Action = "REMOVE"
)

// Event is one change of a normalized deployment. Hash is the content hash
// of Deployment (hex SHA-256 of its JSON): two events with the same Hash
// describe the same thing. The Deployment is shared and never modified after
// it is emitted; receivers must not modify it either. A REMOVE carries the
// last Deployment emitted for the workload.
type Event struct {
	Action     Action
	Deployment *workload.Deployment
	Hash       string
}

// Sink receives the Watcher's events. Calls are serialized, in the order the
// changes were seen, and hold the Watcher's state lock: Deployment must return
// quickly (queue the event, do not send it over the network) and must not call
// back into the Watcher.
type Sink interface {
	Deployment(ev Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ev Event)

// Deployment calls f.
func (f SinkFunc) Deployment(ev Event) { f(ev) }

// Config configures a Watcher.
type Config struct {
	// ClusterName fills Deployment.ClusterName.
	ClusterName string
	// Sink receives the events; required.
	Sink Sink
	// Log receives warnings (watch errors, objects that do not normalize);
	// nil discards them.
	Log *slog.Logger
	// Workers is the number of goroutines normalizing deployments; 0 means 2.
	Workers int
}

// Watcher watches one cluster and emits deployment events. Build it with New
// and start it with Run.
type Watcher struct {
	cluster string
	sink    Sink
	log     *slog.Logger
	workers int

	kube      kubernetes.Interface
	meta      metadata.Interface
	dyn       dynamic.Interface
	discovery discovery.DiscoveryInterface

	queue *workqueue.Typed[ref]

	// informers, set up by Run.
	kinds      map[string]*kindInfo // workload kind → its informer
	namespaces cache.SharedIndexInformer
	nodes      cache.SharedIndexInformer
	secrets    cache.SharedIndexInformer
	started    chan struct{} // closed when the informers above are set

	// ctxMu guards wctx: informer callbacks change it under the write lock,
	// workers read it under the read lock (see process).
	ctxMu sync.RWMutex
	wctx  *workload.Context

	// mu guards the emitted state and serializes Sink calls.
	mu          sync.Mutex
	state       map[ref]*entry
	byNamespace map[string]map[ref]struct{}

	sync syncTracker
	ran  atomic.Bool
}

// entry is the last event emitted for a workload.
type entry struct {
	dep  *workload.Deployment
	hash string
}

// New returns a Watcher that will read the cluster cfg points at. It makes
// the clients but does not contact the server; Run does.
func New(cfg *rest.Config, c Config) (*Watcher, error) {
	if cfg == nil {
		return nil, errors.New("new watcher: rest config is nil")
	}
	if c.Sink == nil {
		return nil, errors.New("new watcher: sink is nil")
	}
	if c.Workers < 0 {
		return nil, fmt.Errorf("new watcher: workers = %d, want 0 or more", c.Workers)
	}
	base := rest.CopyConfig(cfg)
	if base.UserAgent == "" {
		base.UserAgent = "stockade-sensor"
	}
	// Built-in kinds travel as protobuf: less CPU and garbage than JSON for
	// the initial lists.
	proto := rest.CopyConfig(base)
	proto.ContentType = "application/vnd.kubernetes.protobuf"
	proto.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	kube, err := kubernetes.NewForConfig(proto)
	if err != nil {
		return nil, fmt.Errorf("new watcher: kubernetes client: %w", err)
	}
	meta, err := metadata.NewForConfig(base)
	if err != nil {
		return nil, fmt.Errorf("new watcher: metadata client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(base)
	if err != nil {
		return nil, fmt.Errorf("new watcher: dynamic client: %w", err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(base)
	if err != nil {
		return nil, fmt.Errorf("new watcher: discovery client: %w", err)
	}
	log := c.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	workers := c.Workers
	if workers == 0 {
		workers = 2
	}
	return &Watcher{
		cluster:     c.ClusterName,
		sink:        c.Sink,
		log:         log,
		workers:     workers,
		kube:        kube,
		meta:        meta,
		dyn:         dyn,
		discovery:   disc,
		queue:       workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[ref]{}),
		started:     make(chan struct{}),
		wctx:        workload.NewContext(),
		state:       map[ref]*entry{},
		byNamespace: map[string]map[ref]struct{}{},
		sync:        syncTracker{initial: map[ref]struct{}{}, done: make(chan struct{})},
	}, nil
}

// Run discovers which optional APIs the server serves, starts the informers,
// waits until every cache holds the server's state, then normalizes and
// emits every workload (CREATE events) and closes Synced. It keeps emitting
// changes until ctx ends, and then returns nil. It returns an error when
// discovery fails or ctx ends before the caches sync; a resource Sensor may
// not list keeps it waiting, each failed attempt logged. Run may be called
// once.
func (w *Watcher) Run(ctx context.Context) error {
	if w.ran.Swap(true) {
		return errors.New("run watcher: already running")
	}
	factories, synced, err := w.setup(ctx)
	if err != nil {
		return err
	}
	defer w.queue.ShutDown()
	for _, f := range factories {
		f.start(ctx.Done())
	}
	defer func() {
		for _, f := range factories {
			f.shutdown()
		}
	}()
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("wait for informers to sync: %w", context.Cause(ctx))
	}
	w.sync.close()
	w.log.InfoContext(ctx, "informers synced", "workloads", w.sync.pending())

	var wg sync.WaitGroup
	for range w.workers {
		wg.Go(w.work)
	}
	<-ctx.Done()
	w.queue.ShutDown()
	wg.Wait()
	return nil
}

func (w *Watcher) work() {
	for {
		r, shutdown := w.queue.Get()
		if shutdown {
			return
		}
		initial := w.sync.take(r)
		w.process(r)
		w.queue.Done(r)
		if initial {
			w.sync.finish()
		}
	}
}

// Synced is closed once every informer has synced and an event has been
// emitted for every workload the caches held then. Sensor sends its
// "synced" marker to Central after it.
func (w *Watcher) Synced() <-chan struct{} { return w.sync.done }

// Snapshot returns a CREATE event for every deployment as last emitted,
// sorted by namespace, kind and name: the full state to send after
// (re)connecting to Central. Events emitted after Snapshot returns are
// changes to this state.
func (w *Watcher) Snapshot() []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make([]Event, 0, len(w.state))
	for _, e := range w.state {
		out = append(out, Event{Action: ActionCreate, Deployment: e.dep, Hash: e.hash})
	}
	slices.SortFunc(out, func(a, b Event) int {
		x, y := a.Deployment, b.Deployment
		return cmp.Or(cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Name, y.Name))
	})
	return out
}

// NamespaceLabels returns the labels of namespace name, for policy scopes.
// ok is false when the namespace is unknown or Run has not set up the
// informers yet.
func (w *Watcher) NamespaceLabels(name string) (labels map[string]string, ok bool) {
	obj, ok := w.lookup(w.namespacesInformer(), name)
	if !ok {
		return nil, false
	}
	ns, ok := obj.(*corev1.Namespace)
	if !ok {
		return nil, false
	}
	return maps.Clone(ns.Labels), true
}

// Node returns the node called name, without its image list.
func (w *Watcher) Node(name string) (*corev1.Node, bool) {
	obj, ok := w.lookup(w.nodesInformer(), name)
	if !ok {
		return nil, false
	}
	n, ok := obj.(*corev1.Node)
	return n, ok
}

// SecretMetadata returns the metadata of a Secret, which is all the Watcher
// ever holds of one.
func (w *Watcher) SecretMetadata(namespace, name string) (*metav1.PartialObjectMetadata, bool) {
	obj, ok := w.lookup(w.secretsInformer(), namespace+"/"+name)
	if !ok {
		return nil, false
	}
	m, ok := obj.(*metav1.PartialObjectMetadata)
	return m, ok
}

func (w *Watcher) namespacesInformer() cache.SharedIndexInformer {
	if !w.isStarted() {
		return nil
	}
	return w.namespaces
}

func (w *Watcher) nodesInformer() cache.SharedIndexInformer {
	if !w.isStarted() {
		return nil
	}
	return w.nodes
}

func (w *Watcher) secretsInformer() cache.SharedIndexInformer {
	if !w.isStarted() {
		return nil
	}
	return w.secrets
}

func (w *Watcher) isStarted() bool {
	select {
	case <-w.started:
		return true
	default:
		return false
	}
}

func (w *Watcher) lookup(inf cache.SharedIndexInformer, key string) (any, bool) {
	if inf == nil {
		return nil, false
	}
	obj, ok, err := inf.GetStore().GetByKey(key)
	if err != nil || !ok {
		return nil, false
	}
	return obj, true
}

// syncTracker tells when the workloads known at sync time have all been
// processed. Informer callbacks record keys until close; workers take them
// out as they start on them and finish them when done.
type syncTracker struct {
	mu       sync.Mutex
	initial  map[ref]struct{} // recorded and not yet taken by a worker
	inFlight int
	closed   bool
	done     chan struct{}
	doneOnce sync.Once
}

// record notes r as part of the initial state, until close.
func (s *syncTracker) record(r ref) {
	s.mu.Lock()
	if !s.closed {
		s.initial[r] = struct{}{}
	}
	s.mu.Unlock()
}

// close ends recording; Synced fires once the recorded keys are processed.
func (s *syncTracker) close() {
	s.mu.Lock()
	s.closed = true
	s.check()
	s.mu.Unlock()
}

func (s *syncTracker) pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.initial) + s.inFlight
}

// take reports whether r is an initial key, and marks it in flight.
func (s *syncTracker) take(r ref) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.initial[r]; !ok {
		return false
	}
	delete(s.initial, r)
	s.inFlight++
	return true
}

func (s *syncTracker) finish() {
	s.mu.Lock()
	s.inFlight--
	s.check()
	s.mu.Unlock()
}

func (s *syncTracker) check() {
	if s.closed && len(s.initial) == 0 && s.inFlight == 0 {
		s.doneOnce.Do(func() {
			s.initial = nil // release the map's memory; take finds nothing in nil
			close(s.done)
		})
	}
}
