// Package deploy holds Kehu's Kubernetes manifests. Its test renders every
// overlay with the kustomize library, decodes every object strictly into
// the typed Kubernetes API (an unknown or misspelt field fails), and
// checks the invariants that keep the deployment safe and running.
package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// rendered is one overlay, decoded.
type rendered struct {
	deployments  []*appsv1.Deployment
	statefulSets []*appsv1.StatefulSet
	cronJobs     []*batchv1.CronJob
	services     []*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	pvcs         map[string]bool
	hpas         []*autoscalingv2.HorizontalPodAutoscaler
	pdbs         []*policyv1.PodDisruptionBudget
	policies     []*networkingv1.NetworkPolicy
	ingresses    []*networkingv1.Ingress
}

// workload is a pod template with its owner's name, for the checks.
type workload struct {
	kind, name string
	pod        corev1.PodTemplateSpec
	probed     bool // long-running: must have probes
}

func (r *rendered) workloads() []workload {
	var out []workload
	for _, d := range r.deployments {
		out = append(out, workload{"Deployment", d.Name, d.Spec.Template, true})
	}
	for _, s := range r.statefulSets {
		out = append(out, workload{"StatefulSet", s.Name, s.Spec.Template, true})
	}
	for _, c := range r.cronJobs {
		out = append(out, workload{"CronJob", c.Name, c.Spec.JobTemplate.Spec.Template, false})
	}
	return out
}

func strict(t *testing.T, raw []byte, into any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("decoding %T strictly: %v\n%s", into, err, raw)
	}
}

func render(t *testing.T, overlay string) *rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), overlay)
	if err != nil {
		t.Fatalf("kustomize %s: %v", overlay, err)
	}
	r := &rendered{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}, pvcs: map[string]bool{}}
	for _, res := range resources.Resources() {
		raw, err := res.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		switch kind := res.GetKind(); kind {
		case "Deployment":
			var v appsv1.Deployment
			strict(t, raw, &v)
			r.deployments = append(r.deployments, &v)
		case "StatefulSet":
			var v appsv1.StatefulSet
			strict(t, raw, &v)
			r.statefulSets = append(r.statefulSets, &v)
		case "CronJob":
			var v batchv1.CronJob
			strict(t, raw, &v)
			r.cronJobs = append(r.cronJobs, &v)
		case "Service":
			var v corev1.Service
			strict(t, raw, &v)
			r.services = append(r.services, &v)
		case "ConfigMap":
			var v corev1.ConfigMap
			strict(t, raw, &v)
			r.configMaps[v.Name] = &v
		case "Secret":
			var v corev1.Secret
			strict(t, raw, &v)
			r.secrets[v.Name] = &v
		case "PersistentVolumeClaim":
			var v corev1.PersistentVolumeClaim
			strict(t, raw, &v)
			r.pvcs[v.Name] = true
		case "HorizontalPodAutoscaler":
			var v autoscalingv2.HorizontalPodAutoscaler
			strict(t, raw, &v)
			r.hpas = append(r.hpas, &v)
		case "PodDisruptionBudget":
			var v policyv1.PodDisruptionBudget
			strict(t, raw, &v)
			r.pdbs = append(r.pdbs, &v)
		case "NetworkPolicy":
			var v networkingv1.NetworkPolicy
			strict(t, raw, &v)
			r.policies = append(r.policies, &v)
		case "Ingress":
			var v networkingv1.Ingress
			strict(t, raw, &v)
			r.ingresses = append(r.ingresses, &v)
		default:
			t.Fatalf("%s: no typed check for kind %s; add one", overlay, kind)
		}
	}
	return r
}

// operatorSecrets are created by the operator in production, never
// committed; their keys are documented in deploy/README.md.
var operatorSecrets = map[string][]string{"kehu-secrets": {"database-url", "redis-url", "jwt-secret", "page-token-key"}}

func TestOverlays(t *testing.T) {
	for _, overlay := range []string{"overlays/dev", "overlays/prod"} {
		t.Run(overlay, func(t *testing.T) {
			r := render(t, overlay)
			if len(r.deployments) != 5 {
				t.Fatalf("%d deployments, want customer, interaction, servicedesk, analytics and gateway", len(r.deployments))
			}
			checkContainers(t, r)
			checkServices(t, r)
			checkReferences(t, r, overlay == "overlays/prod")
			checkShutdown(t, r)
			checkAutoscaling(t, r)
			if overlay == "overlays/prod" {
				checkHighAvailability(t, r)
			}
		})
	}
}

// Every container must be bounded (requests and limits, so the scheduler
// and the OOM killer behave), unprivileged and immutable, and pinned to an
// image version; long-running ones must have probes so traffic only
// reaches pods that can serve it and stuck pods get restarted.
func checkContainers(t *testing.T, r *rendered) {
	for _, w := range r.workloads() {
		spec := w.pod.Spec
		all := append(slices.Clone(spec.InitContainers), spec.Containers...)
		for i, c := range all {
			where := fmt.Sprintf("%s/%s container %s", w.kind, w.name, c.Name)
			isInit := i < len(spec.InitContainers)
			ref := c.Image[strings.LastIndex(c.Image, "/")+1:]
			tag := ""
			if i := strings.LastIndex(ref, ":"); i >= 0 {
				tag = ref[i+1:]
			}
			if tag == "" || tag == "latest" {
				t.Errorf("%s: image %q must carry a pinned tag", where, c.Image)
			}
			for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if _, ok := c.Resources.Requests[res]; !ok {
					t.Errorf("%s: no %s request", where, res)
				}
				if _, ok := c.Resources.Limits[res]; !ok {
					t.Errorf("%s: no %s limit", where, res)
				}
			}
			sc := c.SecurityContext
			switch {
			case sc == nil:
				t.Errorf("%s: no security context", where)
			case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot:
				t.Errorf("%s: runAsNonRoot is not set", where)
			case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
				t.Errorf("%s: root filesystem is writable", where)
			case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
				t.Errorf("%s: privilege escalation allowed", where)
			case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL"):
				t.Errorf("%s: capabilities not dropped", where)
			}
			if w.probed && !isInit && (c.ReadinessProbe == nil || c.LivenessProbe == nil) {
				t.Errorf("%s: needs readiness and liveness probes", where)
			}
			// gRPC servers are probed through grpc.health.v1 natively.
			for _, p := range c.Ports {
				if p.Name == "grpc" && !isInit && (c.ReadinessProbe == nil || c.ReadinessProbe.GRPC == nil || c.ReadinessProbe.GRPC.Port != p.ContainerPort) {
					t.Errorf("%s: gRPC server without a native gRPC readiness probe on %d", where, p.ContainerPort)
				}
			}
		}
		for _, v := range spec.Volumes {
			if v.PersistentVolumeClaim != nil && !r.pvcs[v.PersistentVolumeClaim.ClaimName] {
				t.Errorf("%s/%s: volume claim %s does not exist", w.kind, w.name, v.PersistentVolumeClaim.ClaimName)
			}
		}
	}
}

// A Service must select pods that exist and send traffic to ports those
// pods expose; gRPC backends must be headless so clients resolve every pod
// and balance per request instead of pinning one connection to one pod.
func checkServices(t *testing.T, r *rendered) {
	for _, s := range r.services {
		sel := labels.SelectorFromSet(s.Spec.Selector)
		var pods []corev1.PodTemplateSpec
		for _, w := range r.workloads() {
			if len(s.Spec.Selector) > 0 && sel.Matches(labels.Set(w.pod.Labels)) {
				pods = append(pods, w.pod)
			}
		}
		if len(pods) == 0 {
			t.Errorf("Service %s selects no pods", s.Name)
			continue
		}
		for _, port := range s.Spec.Ports {
			found := false
			for _, pod := range pods {
				for _, c := range pod.Spec.Containers {
					for _, cp := range c.Ports {
						if (port.TargetPort.StrVal != "" && cp.Name == port.TargetPort.StrVal) ||
							(port.TargetPort.StrVal == "" && cp.ContainerPort == port.TargetPort.IntVal) ||
							(port.TargetPort.IntVal == 0 && port.TargetPort.StrVal == "" && cp.ContainerPort == port.Port) {
							found = true
						}
					}
				}
			}
			if !found {
				t.Errorf("Service %s port %s targets %s, which no selected container exposes", s.Name, port.Name, port.TargetPort.String())
			}
		}
		for _, p := range s.Spec.Ports {
			if p.Name == "grpc" && s.Spec.ClusterIP != corev1.ClusterIPNone {
				t.Errorf("gRPC Service %s is not headless", s.Name)
			}
		}
	}
	for _, ing := range r.ingresses {
		for _, rule := range ing.Spec.Rules {
			for _, p := range rule.HTTP.Paths {
				if !slices.ContainsFunc(r.services, func(s *corev1.Service) bool { return s.Name == p.Backend.Service.Name }) {
					t.Errorf("Ingress %s routes to missing Service %s", ing.Name, p.Backend.Service.Name)
				}
			}
		}
	}
}

// Every ConfigMap/Secret key a pod reads must exist, or the pod never
// starts (CreateContainerConfigError).
func checkReferences(t *testing.T, r *rendered, prod bool) {
	secretHas := func(name, key string) bool {
		if s, ok := r.secrets[name]; ok {
			_, inData := s.Data[key]
			_, inString := s.StringData[key]
			return inData || inString
		}
		return prod && slices.Contains(operatorSecrets[name], key)
	}
	for _, w := range r.workloads() {
		for _, c := range append(slices.Clone(w.pod.Spec.InitContainers), w.pod.Spec.Containers...) {
			where := fmt.Sprintf("%s/%s container %s", w.kind, w.name, c.Name)
			for _, e := range c.EnvFrom {
				if e.ConfigMapRef != nil && r.configMaps[e.ConfigMapRef.Name] == nil {
					t.Errorf("%s: envFrom ConfigMap %s missing", where, e.ConfigMapRef.Name)
				}
				if e.SecretRef != nil && r.secrets[e.SecretRef.Name] == nil && !(prod && operatorSecrets[e.SecretRef.Name] != nil) {
					t.Errorf("%s: envFrom Secret %s missing", where, e.SecretRef.Name)
				}
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
					cm := r.configMaps[ref.Name]
					if _, ok := cm.Data[ref.Key]; cm == nil || !ok {
						t.Errorf("%s: %s reads missing ConfigMap key %s/%s", where, e.Name, ref.Name, ref.Key)
					}
				}
				if ref := e.ValueFrom.SecretKeyRef; ref != nil && !secretHas(ref.Name, ref.Key) {
					t.Errorf("%s: %s reads missing Secret key %s/%s", where, e.Name, ref.Name, ref.Key)
				}
			}
		}
	}
}

// The drain sequence must fit the grace period, or the kubelet kills pods
// mid-request: preStop sleep, then KEHU_DRAIN_DELAY, then at most
// KEHU_SHUTDOWN_TIMEOUT of graceful stop.
func checkShutdown(t *testing.T, r *rendered) {
	cfg := r.configMaps["kehu-config"]
	if cfg == nil {
		t.Fatal("no kehu-config ConfigMap")
	}
	drain, err1 := time.ParseDuration(cfg.Data["KEHU_DRAIN_DELAY"])
	stop, err2 := time.ParseDuration(cfg.Data["KEHU_SHUTDOWN_TIMEOUT"])
	if err1 != nil || err2 != nil {
		t.Fatalf("drain/shutdown durations: %v %v", err1, err2)
	}
	for _, d := range r.deployments {
		spec := d.Spec.Template.Spec
		var preStop time.Duration
		for _, c := range spec.Containers {
			if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil {
				t.Errorf("Deployment %s container %s: no preStop pause", d.Name, c.Name)
				continue
			}
			preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
		}
		if spec.TerminationGracePeriodSeconds == nil {
			t.Errorf("Deployment %s: no terminationGracePeriodSeconds", d.Name)
			continue
		}
		grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
		if need := preStop + drain + stop; grace <= need {
			t.Errorf("Deployment %s: grace %v does not cover preStop %v + drain %v + shutdown %v", d.Name, grace, preStop, drain, stop)
		}
	}
}

func checkAutoscaling(t *testing.T, r *rendered) {
	for _, h := range r.hpas {
		ref := h.Spec.ScaleTargetRef
		if ref.Kind != "Deployment" || !slices.ContainsFunc(r.deployments, func(d *appsv1.Deployment) bool { return d.Name == ref.Name }) {
			t.Errorf("HPA %s targets missing %s/%s", h.Name, ref.Kind, ref.Name)
		}
		if h.Spec.MinReplicas == nil || *h.Spec.MinReplicas < 2 {
			t.Errorf("HPA %s may scale below 2 replicas", h.Name)
		}
	}
}

// Production survives the loss of a pod, a node or a zone: two replicas
// at least, a PDB so voluntary disruptions keep one, an HPA, and pods
// spread over zones.
func checkHighAvailability(t *testing.T, r *rendered) {
	for _, d := range r.deployments {
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
			t.Errorf("Deployment %s: fewer than 2 replicas", d.Name)
		}
		podLabels := labels.Set(d.Spec.Template.Labels)
		if !slices.ContainsFunc(r.pdbs, func(p *policyv1.PodDisruptionBudget) bool {
			sel, err := metav1LabelSelector(p)
			return err == nil && sel.Matches(podLabels)
		}) {
			t.Errorf("Deployment %s: no PodDisruptionBudget", d.Name)
		}
		if !slices.ContainsFunc(r.hpas, func(h *autoscalingv2.HorizontalPodAutoscaler) bool { return h.Spec.ScaleTargetRef.Name == d.Name }) {
			t.Errorf("Deployment %s: no HorizontalPodAutoscaler", d.Name)
		}
		zones := false
		for _, c := range d.Spec.Template.Spec.TopologySpreadConstraints {
			if c.TopologyKey == "topology.kubernetes.io/zone" && c.LabelSelector != nil && labels.SelectorFromSet(c.LabelSelector.MatchLabels).Matches(podLabels) {
				zones = true
			}
		}
		if !zones {
			t.Errorf("Deployment %s: not spread across zones", d.Name)
		}
	}
}

func metav1LabelSelector(p *policyv1.PodDisruptionBudget) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(p.Spec.Selector)
}
