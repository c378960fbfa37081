package k8stest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// UserSpec describes a user for CreateUser.
type UserSpec struct {
	// Name is the user name the API server sees; unique per cluster, not
	// AdminUser and not in the reserved system: prefix.
	Name   string
	Groups []string
	// Grants are bound to the user (not to its groups) with RBAC.
	Grants []Grant
}

// Grant is one RBAC binding: either Rules, made into a Role (or ClusterRole)
// of their own, or an existing ClusterRole. Without a
// kube-controller-manager the aggregated roles (admin, edit, view) have no
// rules; cluster-admin and the system: roles work.
type Grant struct {
	// Namespace scopes the grant with a RoleBinding; "" binds cluster-wide
	// with a ClusterRoleBinding.
	Namespace   string
	Rules       []rbacv1.PolicyRule
	ClusterRole string
}

// User is an identity the cluster authenticates by bearer token (through
// the token webhook) and by client certificate (from the client CA).
type User struct {
	Name   string
	Groups []string
	// Token is the user's bearer token.
	Token string

	c          *Cluster
	cert       *keyPair
	kubeconfig string
}

// CreateUser makes a user with a fresh token and client certificate, binds
// its grants, and returns once the API server's authorizer honours them.
func (c *Cluster) CreateUser(ctx context.Context, spec UserSpec) (*User, error) {
	n, err := c.claimUser(spec)
	if err != nil {
		return nil, err
	}
	token, err := randomToken()
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", spec.Name, err)
	}
	cert, err := newClientCert(c.clientCA, spec.Name, spec.Groups)
	if err != nil {
		return nil, fmt.Errorf("create user %s: %w", spec.Name, err)
	}
	u := &User{Name: spec.Name, Groups: append([]string(nil), spec.Groups...), Token: token, c: c, cert: cert}
	c.authn.add(token, authenticationv1.UserInfo{Username: u.Name, UID: "k8stest-" + u.Name, Groups: u.Groups})

	cs, err := kubernetes.NewForConfig(c.RestConfig())
	if err != nil {
		return nil, fmt.Errorf("create user %s: admin client: %w", spec.Name, err)
	}
	for i, g := range spec.Grants {
		check, err := bind(ctx, cs, u, i, g)
		if err != nil {
			return nil, fmt.Errorf("create user %s: grant %d: %w", spec.Name, i, err)
		}
		if check == nil {
			continue
		}
		if err := waitAllowed(ctx, cs, u, g.Namespace, *check); err != nil {
			return nil, fmt.Errorf("create user %s: grant %d: %w", spec.Name, i, err)
		}
	}
	u.kubeconfig = c.path("user-" + strconv.Itoa(n) + ".kubeconfig")
	if err := writeKubeconfig(u.kubeconfig, c.url, c.path("ca.crt"), &clientcmdapi.AuthInfo{Token: token}); err != nil {
		return nil, fmt.Errorf("create user %s: %w", spec.Name, err)
	}
	return u, nil
}

// claimUser validates spec and reserves its name; it returns the user's
// number in the cluster.
func (c *Cluster) claimUser(spec UserSpec) (int, error) {
	switch {
	case spec.Name == "":
		return 0, errors.New("create user: empty name")
	case spec.Name == AdminUser || strings.HasPrefix(spec.Name, "system:"):
		return 0, fmt.Errorf("create user %s: reserved name", spec.Name)
	}
	for i, g := range spec.Grants {
		if (len(g.Rules) == 0) == (g.ClusterRole == "") {
			return 0, fmt.Errorf("create user %s: grant %d: give either rules or a cluster role", spec.Name, i)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.users[spec.Name] {
		return 0, fmt.Errorf("create user %s: exists already", spec.Name)
	}
	c.users[spec.Name] = true
	return len(c.users), nil
}

// bind creates the role (for rules) and the binding of grant i, and returns
// an access the grant allows, to wait for (nil when it allows nothing known).
func bind(ctx context.Context, cs kubernetes.Interface, u *User, i int, g Grant) (*rbacv1.PolicyRule, error) {
	name := "k8stest:" + u.Name + ":" + strconv.Itoa(i)
	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: u.Name}}
	roleRef := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: g.ClusterRole}
	rules := g.Rules
	meta := metav1.ObjectMeta{Name: name, Namespace: g.Namespace}
	switch {
	case g.ClusterRole != "":
		role, err := cs.RbacV1().ClusterRoles().Get(ctx, g.ClusterRole, metav1.GetOptions{})
		if err != nil {
			return nil, fmt.Errorf("read cluster role: %w", err)
		}
		rules = role.Rules
	case g.Namespace == "":
		roleRef.Name = name
		if _, err := cs.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: meta, Rules: rules}, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create cluster role %s: %w", name, err)
		}
	default:
		roleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}
		if _, err := cs.RbacV1().Roles(g.Namespace).Create(ctx, &rbacv1.Role{ObjectMeta: meta, Rules: rules}, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create role %s/%s: %w", g.Namespace, name, err)
		}
	}
	if g.Namespace == "" {
		if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: meta, Subjects: subjects, RoleRef: roleRef}, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create cluster role binding %s: %w", name, err)
		}
	} else {
		if _, err := cs.RbacV1().RoleBindings(g.Namespace).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: meta, Subjects: subjects, RoleRef: roleRef}, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("create role binding %s/%s: %w", g.Namespace, name, err)
		}
	}
	for _, r := range rules {
		if len(r.Verbs) > 0 && (len(r.Resources) > 0 || len(r.NonResourceURLs) > 0) {
			return &r, nil
		}
	}
	return nil, nil
}

// grantTimeout bounds the wait for the authorizer's caches to see a new
// binding (milliseconds, normally).
const grantTimeout = 30 * time.Second

// waitAllowed asks the API server, as the admin, whether u may do the first
// access rule r describes, until it says yes.
func waitAllowed(ctx context.Context, cs kubernetes.Interface, u *User, namespace string, r rbacv1.PolicyRule) error {
	spec := authorizationv1.SubjectAccessReviewSpec{User: u.Name, Groups: u.Groups}
	if len(r.Resources) > 0 {
		attrs := &authorizationv1.ResourceAttributes{Namespace: namespace, Verb: r.Verbs[0], Resource: r.Resources[0]}
		if len(r.APIGroups) > 0 {
			attrs.Group = r.APIGroups[0]
		}
		if len(r.ResourceNames) > 0 {
			attrs.Name = r.ResourceNames[0]
		}
		resource, sub, _ := strings.Cut(attrs.Resource, "/")
		attrs.Resource, attrs.Subresource = resource, sub
		spec.ResourceAttributes = attrs
	} else {
		spec.NonResourceAttributes = &authorizationv1.NonResourceAttributes{Path: r.NonResourceURLs[0], Verb: r.Verbs[0]}
	}
	ctx, cancel := context.WithTimeout(ctx, grantTimeout)
	defer cancel()
	for {
		sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
		if err == nil && sar.Status.Allowed {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("denied: %s", sar.Status.Reason)
			}
			return fmt.Errorf("wait for RBAC to allow %+v: %w", spec, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// RestConfig returns a new client configuration authenticating as the user
// with its bearer token.
func (u *User) RestConfig() *rest.Config {
	cfg := u.c.RestConfig()
	cfg.BearerToken = u.Token
	return cfg
}

// CertRestConfig returns a new client configuration authenticating as the
// user with its client certificate.
func (u *User) CertRestConfig() *rest.Config {
	cfg := u.c.RestConfig()
	cfg.BearerToken = ""
	cfg.CertData = u.cert.certPEM
	cfg.KeyData = u.cert.keyPEM
	return cfg
}

// Kubeconfig is the path of a kubeconfig file with the user's token.
func (u *User) Kubeconfig() string { return u.kubeconfig }

// Kubectl returns a kubectl command with args acting as the user.
func (u *User) Kubectl(ctx context.Context, args ...string) (*exec.Cmd, error) {
	return u.c.kubectl(ctx, u.kubeconfig, args)
}

var unsafeNameChars = regexp.MustCompile(`[^a-z0-9]+`)

// NewNamespace creates a namespace named after the test (with a random
// suffix) and its default ServiceAccount, which the ServiceAccount admission
// plugin requires of every Pod and which kube-controller-manager would
// otherwise make, and deletes the namespace when the test ends. Without a
// kube-controller-manager a deleted namespace stays Terminating with its
// objects, closed to new ones.
func (c *Cluster) NewNamespace(t testing.TB) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.RestConfig())
	if err != nil {
		t.Fatalf("k8stest: admin client: %v", err)
	}
	prefix := strings.Trim(unsafeNameChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(prefix) > 40 {
		prefix = strings.Trim(prefix[len(prefix)-40:], "-")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("k8stest: create namespace: %v", err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}
	if _, err := cs.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("k8stest: create the default service account of %s: %v", ns.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			t.Errorf("k8stest: delete namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// tokenWebhook is the authentication webhook kube-apiserver asks about
// bearer tokens it does not know from its token file: the users CreateUser
// made. It serves TokenReview (authentication.k8s.io/v1) over TLS.
type tokenWebhook struct {
	addr string
	srv  *http.Server
	done chan error

	mu    sync.Mutex
	users map[string]authenticationv1.UserInfo // by token
}

// maxReviewBytes bounds a TokenReview request body.
const maxReviewBytes = 1 << 20

func startTokenWebhook(ctx context.Context, ca *keyPair) (*tokenWebhook, error) {
	serving, err := newServerCert(ca, "k8stest token webhook")
	if err != nil {
		return nil, err
	}
	cert, err := tlsCertificate(serving)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("token webhook: %w", err)
	}
	w := &tokenWebhook{addr: l.Addr().String(), done: make(chan error, 1), users: map[string]authenticationv1.UserInfo{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /authenticate", w.authenticate)
	w.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         serverTLS(cert),
	}
	go func() { w.done <- w.srv.ServeTLS(l, "", "") }()
	return w, nil
}

func (w *tokenWebhook) add(token string, u authenticationv1.UserInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.users[token] = u
}

func (w *tokenWebhook) authenticate(rw http.ResponseWriter, r *http.Request) {
	var review authenticationv1.TokenReview
	if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, maxReviewBytes)).Decode(&review); err != nil {
		http.Error(rw, "decode TokenReview: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	u, ok := w.users[review.Spec.Token]
	w.mu.Unlock()
	resp := authenticationv1.TokenReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "authentication.k8s.io/v1", Kind: "TokenReview"},
		Status:   authenticationv1.TokenReviewStatus{Authenticated: ok},
	}
	if ok {
		resp.Status.User = u
	}
	rw.Header().Set("Content-Type", "application/json")
	// A failed write means kube-apiserver hung up; it retries or denies.
	_ = json.NewEncoder(rw).Encode(&resp)
}

func (w *tokenWebhook) close() error {
	if err := w.srv.Close(); err != nil {
		return fmt.Errorf("stop token webhook: %w", err)
	}
	if err := <-w.done; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("token webhook: %w", err)
	}
	return nil
}
