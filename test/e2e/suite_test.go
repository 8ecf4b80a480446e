//go:build e2e

// Package e2e holds the end-to-end tests. They run against the local control plane that
// hack/cluster-up.sh starts (etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
// kwok with fake nodes; see docs/local-control-plane.md):
//
//	make test-e2e
//
// or, against a cluster that is already up:
//
//	make cluster-up
//	CUTOVER_KUBECONFIG=$PWD/bin/cluster/kubeconfig go test -tags=e2e ./test/e2e/ -v
//
// Besides Kubernetes and controller-runtime packages it imports only the API types, the
// test helpers of test/utils (the Prometheus server and exporter of the gate tests) and
// test/install (which renders the kustomize and Helm install forms).
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// fakeNodeLabel is set on every kwok node that hack/cluster-up.sh creates. The nodes are
	// not tainted, so ordinary pods schedule on them; pods that want to be sure select them.
	fakeNodeLabelKey   = "type"
	fakeNodeLabelValue = "kwok"

	// e2eLabel marks the namespaces the tests create.
	e2eLabel = "cutover.dev/e2e"
)

var (
	// restConfig and k8sClient talk to the cluster as the admin (system:masters).
	restConfig *rest.Config
	k8sClient  client.Client
	scheme     = runtime.NewScheme()
)

func TestMain(m *testing.M) {
	kubeconfig := os.Getenv("CUTOVER_KUBECONFIG")
	if kubeconfig == "" {
		fmt.Fprintln(os.Stderr, "e2e: CUTOVER_KUBECONFIG must name the admin kubeconfig of the local control plane "+
			"(run 'make test-e2e', or 'make cluster-up' and CUTOVER_KUBECONFIG=$PWD/bin/cluster/kubeconfig)")
		os.Exit(2)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: loading %s: %v\n", kubeconfig, err)
		os.Exit(2)
	}
	cfg.QPS, cfg.Burst = 100, 200
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the scheme: %v\n", err)
		os.Exit(2)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the client: %v\n", err)
		os.Exit(2)
	}
	restConfig, k8sClient = cfg, c
	os.Exit(m.Run())
}

var notNameChars = regexp.MustCompile(`[^a-z0-9]+`)

// newNamespace creates a namespace named after the test (with GenerateName) and returns its
// name. It waits for the namespace's default ServiceAccount, so pods can be created at once.
// On cleanup it dumps diagnostics if the test failed (see dumpOnFailure) and deletes the
// namespace without waiting for the deletion to finish.
func newNamespace(t *testing.T) string {
	t.Helper()
	g := gomega.NewWithT(t)
	ctx := context.Background()

	prefix := strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(prefix) > 40 {
		prefix = strings.TrimRight(prefix[:40], "-")
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "e2e-" + prefix + "-",
		Labels:       map[string]string{e2eLabel: "true"},
	}}
	g.Expect(k8sClient.Create(ctx, ns)).To(gomega.Succeed())
	name := ns.Name
	t.Logf("namespace %s", name)

	t.Cleanup(func() {
		dumpOnFailure(t, name)
		if os.Getenv("CUTOVER_E2E_KEEP_NAMESPACES") != "" {
			return
		}
		err := k8sClient.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}},
			client.PropagationPolicy(metav1.DeletePropagationBackground))
		if client.IgnoreNotFound(err) != nil {
			t.Logf("deleting namespace %s: %v", name, err)
		}
	})

	g.Eventually(func() error {
		return k8sClient.Get(ctx, client.ObjectKey{Namespace: name, Name: "default"}, &corev1.ServiceAccount{})
	}).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(gomega.Succeed(),
		"the default ServiceAccount of %s was not created (is kube-controller-manager running?)", name)
	return name
}

// onFakeNodes makes a pod spec schedule on the kwok nodes only, and tolerate kwok's usual taint.
func onFakeNodes(spec *corev1.PodSpec) {
	if spec.NodeSelector == nil {
		spec.NodeSelector = map[string]string{}
	}
	spec.NodeSelector[fakeNodeLabelKey] = fakeNodeLabelValue
	spec.Tolerations = append(spec.Tolerations, corev1.Toleration{
		Key: "kwok.x-k8s.io/node", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule,
	})
}

// dumpOnFailure logs, when the test has failed, the namespace's events sorted by time and the
// YAML of its pods, ReplicaSets, Deployments and Rollouts. newNamespace calls it on cleanup.
func dumpOnFailure(t *testing.T, ns string) {
	t.Helper()
	if !t.Failed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var events corev1.EventList
	if err := k8sClient.List(ctx, &events, client.InNamespace(ns)); err != nil {
		t.Logf("dump: listing events in %s: %v", ns, err)
	} else {
		slices.SortStableFunc(events.Items, func(a, b corev1.Event) int {
			return eventTime(a).Compare(eventTime(b))
		})
		var b strings.Builder
		for _, e := range events.Items {
			fmt.Fprintf(&b, "%s %-7s %-22s %s/%s: %s\n", eventTime(e).UTC().Format("15:04:05.000"), e.Type, e.Reason,
				e.InvolvedObject.Kind, e.InvolvedObject.Name, strings.TrimSpace(e.Message))
		}
		t.Logf("dump: %d events in namespace %s:\n%s", len(events.Items), ns, b.String())
	}

	dumpList(ctx, t, ns, &corev1.PodList{}, corev1.SchemeGroupVersion.WithKind("Pod"))
	dumpList(ctx, t, ns, &appsv1.ReplicaSetList{}, appsv1.SchemeGroupVersion.WithKind("ReplicaSet"))
	dumpList(ctx, t, ns, &appsv1.DeploymentList{}, appsv1.SchemeGroupVersion.WithKind("Deployment"))
	// The project's Rollouts, read as unstructured so this package does not import the API.
	rollouts := &unstructured.UnstructuredList{}
	rollouts.SetGroupVersionKind(schema.GroupVersionKind{Group: "cutover.dev", Version: "v1alpha1", Kind: "RolloutList"})
	dumpList(ctx, t, ns, rollouts, schema.GroupVersionKind{Group: "cutover.dev", Version: "v1alpha1", Kind: "Rollout"})
}

func eventTime(e corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}

// dumpList lists the objects of one kind in the namespace and logs them as YAML, without
// managedFields. It logs nothing for an empty list or a kind the cluster does not serve.
func dumpList(ctx context.Context, t *testing.T, ns string, list client.ObjectList, gvk schema.GroupVersionKind) {
	t.Helper()
	if err := k8sClient.List(ctx, list, client.InNamespace(ns)); err != nil {
		if !meta.IsNoMatchError(err) { // a CRD that is not installed: nothing to show
			t.Logf("dump: listing %s in %s: %v", gvk.Kind, ns, err)
		}
		return
	}
	objs, err := metaItems(list)
	if err != nil {
		t.Logf("dump: %s: %v", gvk.Kind, err)
		return
	}
	if len(objs) == 0 {
		return
	}
	enc := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme, json.SerializerOptions{Yaml: true})
	var b bytes.Buffer
	for _, o := range objs {
		o.SetManagedFields(nil)
		o.GetObjectKind().SetGroupVersionKind(gvk)
		b.WriteString("---\n")
		if err := enc.Encode(o, &b); err != nil {
			fmt.Fprintf(&b, "# %s/%s: %v\n", gvk.Kind, o.GetName(), err)
		}
	}
	t.Logf("dump: %d %s in namespace %s:\n%s", len(objs), gvk.Kind, ns, b.String())
}

func metaItems(list client.ObjectList) ([]client.Object, error) {
	var out []client.Object
	switch l := list.(type) {
	case *corev1.PodList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.ReplicaSetList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *appsv1.DeploymentList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	case *unstructured.UnstructuredList:
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	default:
		return nil, fmt.Errorf("unsupported list type %T", list)
	}
	return out, nil
}
