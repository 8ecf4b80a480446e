package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	cutoverv1alpha1 "github.com/cutover-dev/cutover/api/v1alpha1"
)

const (
	digestA = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	digestB = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// goldenTemplates are fixed pod templates whose hashes are part of the public contract: a change
// of any expected hash below re-rolls every Rollout on upgrade. Never update a value here to make
// a test pass; fix the hash function instead.
func goldenTemplates() []struct {
	name string
	tmpl corev1.PodTemplateSpec
	hash string
} {
	return []struct {
		name string
		tmpl corev1.PodTemplateSpec
		hash string
	}{
		{
			name: "minimal",
			tmpl: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "checkout"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{
					{Name: "app", Image: "registry.example/checkout@" + digestA},
				}},
			},
			hash: "52b8067de2",
		},
		{
			name: "env ports and annotations",
			tmpl: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      map[string]string{"app": "checkout", "tier": "web"},
					Annotations: map[string]string{"prometheus.io/scrape": "true"},
				},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:  "app",
					Image: "registry.example/checkout@" + digestA,
					Args:  []string{"--port=8080", "--log-level=info"},
					Env: []corev1.EnvVar{
						{Name: "MODE", Value: "production"},
						{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"},
						}},
					},
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				}}},
			},
			hash: "fc7c874d48",
		},
		{
			name: "init container and volumes",
			tmpl: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "worker"}},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{
						Name: "migrate", Image: "registry.example/migrate@" + digestB,
						Command:      []string{"/migrate", "up"},
						VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}},
					}},
					Containers: []corev1.Container{{
						Name: "worker", Image: "registry.example/worker@" + digestA,
						VolumeMounts: []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app", ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
						ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "worker-config"}},
					}}},
					ImagePullSecrets: []corev1.LocalObjectReference{{Name: "registry-creds"}},
				},
			},
			hash: "9db9dccdc6",
		},
		{
			name: "resources probes and security context",
			tmpl: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "api"}},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), RunAsUser: ptr(int64(1000))},
					Containers: []corev1.Container{{
						Name: "api", Image: "registry.example/api@" + digestA,
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{
								corev1.ResourceCPU:    resource.MustParse("250m"),
								corev1.ResourceMemory: resource.MustParse("128Mi"),
							},
							Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
						},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
								Path: "/healthz", Port: intstr.FromString("http"),
							}},
							PeriodSeconds: 5,
						},
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false)},
					}},
				},
			},
			hash: "73208c999a",
		},
		{
			name: "sidecar tolerations and node selector",
			tmpl: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "edge"}},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{
						{Name: "edge", Image: "registry.example/edge@" + digestA},
						{Name: "proxy", Image: "registry.example/proxy@" + digestB},
					},
					NodeSelector:                  map[string]string{"kubernetes.io/os": "linux", "pool": "edge"},
					Tolerations:                   []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "edge", Effect: corev1.TaintEffectNoSchedule}},
					TerminationGracePeriodSeconds: ptr(int64(45)),
					ServiceAccountName:            "edge",
				},
			},
			hash: "0b341f2a3a",
		},
		{
			// Locks down how strings are encoded: encoding/json escapes <, > and & as \u003c,
			// \u003e and \u0026 and writes non-ASCII characters as UTF-8.
			name: "special characters in strings",
			tmpl: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "search"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "search", Image: "registry.example/search@" + digestA,
					Args: []string{"--filter=a&b", "--html=<b>café</b>"},
				}}},
			},
			hash: "6d95fa8214",
		},
	}
}

func TestTemplateHashGolden(t *testing.T) {
	seen := map[string]string{}
	for _, tc := range goldenTemplates() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TemplateHash(&tc.tmpl)
			if err != nil {
				t.Fatalf("TemplateHash: %v", err)
			}
			if got != tc.hash {
				t.Errorf("TemplateHash = %q, want %q: the revision hash algorithm changed, which re-rolls every Rollout", got, tc.hash)
			}
			if !revisionPattern.MatchString(got) {
				t.Errorf("TemplateHash = %q is not %d lowercase hex digits", got, HashLength)
			}
			if other, ok := seen[got]; ok {
				t.Errorf("templates %q and %q hash alike", other, tc.name)
			}
			seen[got] = tc.name
		})
	}
}

// TestTemplateHashCanonicalForm checks the documented algorithm from the outside: the hash is
// the first 10 hex digits of the SHA-256 of the pruned, key-sorted JSON.
func TestTemplateHashCanonicalForm(t *testing.T) {
	canonical := `{"metadata":{"labels":{"app":"checkout"}},"spec":{"containers":[{"image":"registry.example/checkout@` + digestA + `","name":"app"}]}}`
	sum := sha256.Sum256([]byte(canonical))
	want := hex.EncodeToString(sum[:])[:HashLength]
	tmpl := goldenTemplates()[0].tmpl
	got, err := TemplateHash(&tmpl)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("TemplateHash = %s, want %s (sha256 of %s)", got, want, canonical)
	}
}

func TestTemplateHashProperties(t *testing.T) {
	base := func() *corev1.PodTemplateSpec { t := goldenTemplates()[0].tmpl; return t.DeepCopy() }
	hash := func(t *testing.T, tmpl *corev1.PodTemplateSpec) string {
		t.Helper()
		h, err := TemplateHash(tmpl)
		if err != nil {
			t.Fatalf("TemplateHash: %v", err)
		}
		return h
	}

	tests := []struct {
		name   string
		mutate func(*corev1.PodTemplateSpec)
		same   bool
	}{
		{
			name: "revision label is ignored",
			mutate: func(p *corev1.PodTemplateSpec) {
				p.Labels[cutoverv1alpha1.LabelRevision] = "0123456789"
			},
			same: true,
		},
		{
			name: "revision label as the only label is ignored",
			mutate: func(p *corev1.PodTemplateSpec) {
				p.Labels = map[string]string{cutoverv1alpha1.LabelRevision: "0123456789"}
			},
			// Compared against a template without labels below.
			same: true,
		},
		{
			name: "empty resources equal unset resources",
			mutate: func(p *corev1.PodTemplateSpec) {
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
			},
			same: true,
		},
		{
			name: "empty resource lists equal unset",
			mutate: func(p *corev1.PodTemplateSpec) {
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{Limits: corev1.ResourceList{}, Requests: corev1.ResourceList{}}
			},
			same: true,
		},
		{
			name: "empty pod security context equals nil",
			mutate: func(p *corev1.PodTemplateSpec) {
				p.Spec.SecurityContext = &corev1.PodSecurityContext{}
			},
			same: true,
		},
		{
			name: "empty container security context equals nil",
			mutate: func(p *corev1.PodTemplateSpec) {
				p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{}
			},
			same: true,
		},
		{
			name: "empty slices and maps equal nil",
			mutate: func(p *corev1.PodTemplateSpec) {
				p.Annotations = map[string]string{}
				p.Spec.Containers[0].Env = []corev1.EnvVar{}
				p.Spec.Containers[0].Args = []string{}
				p.Spec.Volumes = []corev1.Volume{}
				p.Spec.NodeSelector = map[string]string{}
			},
			same: true,
		},
		{
			name: "image digest change",
			mutate: func(p *corev1.PodTemplateSpec) {
				p.Spec.Containers[0].Image = "registry.example/checkout@" + digestB
			},
			same: false,
		},
		{
			name: "a set false pointer is not unset",
			mutate: func(p *corev1.PodTemplateSpec) {
				p.Spec.AutomountServiceAccountToken = ptr(false)
			},
			same: false,
		},
		{
			name: "another label",
			mutate: func(p *corev1.PodTemplateSpec) {
				p.Labels["track"] = "canary"
			},
			same: false,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := base()
			if tc.name == "revision label as the only label is ignored" {
				before.Labels = nil
			}
			after := base()
			tc.mutate(after)
			h1, h2 := hash(t, before), hash(t, after)
			if (h1 == h2) != tc.same {
				t.Errorf("hash before %s, after %s; want same=%v", h1, h2, tc.same)
			}
		})
	}
}

func TestTemplateHashDoesNotMutateInput(t *testing.T) {
	tmpl := goldenTemplates()[0].tmpl.DeepCopy()
	tmpl.Labels[cutoverv1alpha1.LabelRevision] = "0123456789"
	orig := tmpl.DeepCopy()
	if _, err := TemplateHash(tmpl); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tmpl, orig) {
		t.Errorf("TemplateHash changed its input")
	}
}

func TestTemplateHashMapOrder(t *testing.T) {
	keys := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}
	build := func(order []string) *corev1.PodTemplateSpec {
		p := goldenTemplates()[0].tmpl.DeepCopy()
		p.Annotations = map[string]string{}
		p.Spec.NodeSelector = map[string]string{}
		for _, k := range order {
			p.Annotations["example.com/"+k] = k
			p.Spec.NodeSelector["node.example.com/"+k] = k
		}
		return p
	}
	reversed := make([]string, len(keys))
	for i, k := range keys {
		reversed[len(keys)-1-i] = k
	}
	want, err := TemplateHash(build(keys))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ { // Go randomises map iteration: repeat to exercise different orders.
		order := keys
		if i%2 == 1 {
			order = reversed
		}
		if got, _ := TemplateHash(build(order)); got != want {
			t.Fatalf("hash depends on map order: %s vs %s", got, want)
		}
	}
}

// TestPruneNewOptionalField simulates a dependency bump that adds an optional field: an unset
// field encodes as null or {}, and pruning makes the canonical form equal to the old one.
func TestPruneNewOptionalField(t *testing.T) {
	decode := func(s string) any {
		var v any
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	old := `{"spec":{"containers":[{"name":"app","image":"x@` + digestA + `"}]}}`
	for _, bumped := range []string{
		`{"spec":{"containers":[{"name":"app","image":"x@` + digestA + `","newField":null}]}}`,
		`{"spec":{"newStruct":{},"containers":[{"name":"app","image":"x@` + digestA + `"}]}}`,
		`{"spec":{"newStruct":{"inner":{"deeper":null},"list":[]},"containers":[{"image":"x@` + digestA + `","name":"app"}]},"metadata":{}}`,
	} {
		a, _ := json.Marshal(prune(decode(old)))
		b, _ := json.Marshal(prune(decode(bumped)))
		if string(a) != string(b) {
			t.Errorf("prune(%s) = %s, want %s", bumped, b, a)
		}
	}
	// Array elements keep their position even when empty.
	got, _ := json.Marshal(prune(decode(`{"a":[{},{"x":1}]}`)))
	if string(got) != `{"a":[{},{"x":1}]}` {
		t.Errorf("prune dropped an array element: %s", got)
	}
}
