//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestSmokeDeployment checks the local control plane itself: a Deployment is turned into a
// ReplicaSet (kube-controller-manager), its pods are scheduled (kube-scheduler) onto the fake
// nodes and marked Ready (kwok).
func TestSmokeDeployment(t *testing.T) {
	g := gomega.NewWithT(t)
	ctx := context.Background()
	ns := newNamespace(t)

	labels := map[string]string{"app": "smoke"}
	replicas := int32(3)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "smoke"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{{
						Name:  "app",
						Image: "registry.example/app@sha256:" + strings.Repeat("0123456789abcdef", 4),
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
					}},
				},
			},
		},
	}
	onFakeNodes(&dep.Spec.Template.Spec)
	g.Expect(k8sClient.Create(ctx, dep)).To(gomega.Succeed())

	g.Eventually(func(g gomega.Gomega) {
		var pods corev1.PodList
		g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels(labels))).To(gomega.Succeed())
		ready := 0
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && podReady(&p) {
				g.Expect(p.Spec.NodeName).To(gomega.HavePrefix("kwok-node-"), "pod %s", p.Name)
				g.Expect(p.Status.PodIP).NotTo(gomega.BeEmpty(), "pod %s", p.Name)
				ready++
			}
		}
		g.Expect(ready).To(gomega.Equal(3), "Ready pods")
	}).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())

	g.Eventually(func(g gomega.Gomega) {
		var got appsv1.Deployment
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(dep), &got)).To(gomega.Succeed())
		g.Expect(got.Status.ReadyReplicas).To(gomega.Equal(int32(3)), "deployment.status.readyReplicas")
	}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).Should(gomega.Succeed())
}

// podReady reports whether the pod's Ready condition is True.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
