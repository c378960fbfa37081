package admission

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// RESTGetter is a Getter that reads objects from kube-apiserver with a REST
// client, for example a clientset's CoreV1().RESTClient(): any client of the
// server works, the path is built from the resource.
type RESTGetter struct {
	Client rest.Interface
}

// Get reads one namespaced object's JSON. A missing object is an error
// apierrors.IsNotFound recognizes.
func (g RESTGetter) Get(ctx context.Context, resource schema.GroupVersionResource, namespace, name string) ([]byte, error) {
	if name == "" || namespace == "" || resource.Resource == "" || resource.Version == "" {
		return nil, fmt.Errorf("get %s %s/%s: incomplete reference", resource, namespace, name)
	}
	segments := []string{"/apis", resource.Group, resource.Version}
	if resource.Group == "" {
		segments = []string{"/api", resource.Version}
	}
	segments = append(segments, "namespaces", namespace, resource.Resource, name)
	raw, err := g.Client.Get().AbsPath(segments...).DoRaw(ctx)
	if err != nil {
		return nil, fmt.Errorf("get %s %s/%s: %w", resource.GroupResource(), namespace, name, err)
	}
	return raw, nil
}
