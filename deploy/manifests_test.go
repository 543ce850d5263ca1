// Package deploy holds Kehu's Kubernetes manifests. Its test renders every
// overlay with the kustomize library, decodes every object strictly into
// the typed Kubernetes API (an unknown or misspelt field fails), and
// checks the invariants that keep the deployment safe and running.
package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
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
	certificates []*certificate
	issuers      map[string]*issuer
}

// certificate is the part of cert-manager's Certificate that Kehu's
// manifests use; decoding strictly into it catches misspelt fields as the
// typed Kubernetes API does for the built-in kinds.
type certificate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SecretName  string   `json:"secretName"`
		IsCA        bool     `json:"isCA,omitempty"`
		CommonName  string   `json:"commonName,omitempty"`
		Duration    string   `json:"duration,omitempty"`
		RenewBefore string   `json:"renewBefore,omitempty"`
		DNSNames    []string `json:"dnsNames,omitempty"`
		Usages      []string `json:"usages,omitempty"`
		PrivateKey  *struct {
			Algorithm      string `json:"algorithm"`
			Size           int    `json:"size"`
			RotationPolicy string `json:"rotationPolicy,omitempty"`
		} `json:"privateKey,omitempty"`
		IssuerRef struct {
			Name string `json:"name"`
			Kind string `json:"kind"`
		} `json:"issuerRef"`
	} `json:"spec"`
}

// issuer is the part of cert-manager's Issuer that Kehu's manifests use.
type issuer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		SelfSigned *struct{} `json:"selfSigned,omitempty"`
		CA         *struct {
			SecretName string `json:"secretName"`
		} `json:"ca,omitempty"`
	} `json:"spec"`
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
	r := &rendered{configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{}, pvcs: map[string]bool{}, issuers: map[string]*issuer{}}
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
		case "Certificate":
			var v certificate
			strict(t, raw, &v)
			r.certificates = append(r.certificates, &v)
		case "Issuer":
			var v issuer
			strict(t, raw, &v)
			r.issuers[v.Name] = &v
		default:
			t.Fatalf("%s: no typed check for kind %s; add one", overlay, kind)
		}
	}
	return r
}

// operatorSecrets are created by the operator in production, never
// committed; their keys are documented in deploy/README.md.
var operatorSecrets = map[string][]string{"kehu-secrets": {"database-url", "redis-url", "jwt-secret", "page-token-key", "pii-keks"}}

func TestOverlays(t *testing.T) {
	for _, overlay := range []string{"overlays/dev", "overlays/prod", "overlays/prod-tls"} {
		t.Run(overlay, func(t *testing.T) {
			r := render(t, overlay)
			if len(r.deployments) != 5 {
				t.Fatalf("%d deployments, want customer, interaction, servicedesk, analytics and gateway", len(r.deployments))
			}
			checkContainers(t, r)
			checkServices(t, r)
			checkReferences(t, r, overlay != "overlays/dev")
			checkShutdown(t, r)
			checkAutoscaling(t, r)
			checkTLS(t, r)
			if overlay != "overlays/dev" {
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
			// gRPC servers are probed through grpc.health.v1 natively, except
			// over TLS, which the kubelet's gRPC probe does not speak: then
			// on the admin port's /readyz.
			for _, p := range c.Ports {
				if p.Name != "grpc" || isInit {
					continue
				}
				if r.env(c)["KEHU_TLS_CERT_FILE"] != "" {
					if pr := c.ReadinessProbe; pr == nil || pr.HTTPGet == nil || pr.HTTPGet.Path != "/readyz" || pr.HTTPGet.Port.StrVal != "admin" {
						t.Errorf("%s: TLS server without a readiness probe on the admin port's /readyz", where)
					}
					for _, pr := range []*corev1.Probe{c.ReadinessProbe, c.LivenessProbe, c.StartupProbe} {
						if pr != nil && pr.GRPC != nil {
							t.Errorf("%s: the kubelet's gRPC probe cannot reach a TLS server", where)
						}
					}
				} else if c.ReadinessProbe == nil || c.ReadinessProbe.GRPC == nil || c.ReadinessProbe.GRPC.Port != p.ContainerPort {
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

// env is what a container's environment holds as literal values: the keys
// of its ConfigMaps, then its own variables (Secret references left out).
func (r *rendered) env(c corev1.Container) map[string]string {
	out := map[string]string{}
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil && r.configMaps[e.ConfigMapRef.Name] != nil {
			maps.Copy(out, r.configMaps[e.ConfigMapRef.Name].Data)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			out[e.Name] = e.Value
		}
	}
	return out
}

// tlsSettings name a program's TLS files (README: configuration).
var tlsSettings = []string{"KEHU_TLS_CERT_FILE", "KEHU_TLS_KEY_FILE", "KEHU_TLS_CLIENT_CA_FILE", "KEHU_TLS_CA_FILE"}

// certManagerKeys are the keys cert-manager writes into a Certificate's Secret.
var certManagerKeys = []string{"tls.crt", "tls.key", "ca.crt"}

// TLS between the programs must be whole, or calls fail or rotations never
// arrive: every file a program names is in a Secret it mounts whole (a
// subPath mount never sees a renewal) and that has the file's key; gRPC
// servers serve TLS exactly when the programs verify servers
// (KEHU_TLS_CA_FILE); when a server requires client certificates, every
// program has one; certificates name the host clients dial and allow the
// use they are put to; every Certificate's issuer exists.
func checkTLS(t *testing.T, r *rendered) {
	type program struct {
		name, secret string
		env          map[string]string
		grpcPort     int32
	}
	var programs []program
	for _, d := range r.deployments {
		spec := d.Spec.Template.Spec
		c := spec.Containers[0]
		p := program{name: d.Name, env: r.env(c)}
		for _, port := range c.Ports {
			if port.Name == "grpc" {
				p.grpcPort = port.ContainerPort
			}
		}
		for _, setting := range tlsSettings {
			path := p.env[setting]
			if path == "" {
				continue
			}
			secret, key, err := mountedSecret(spec, c, path)
			if err != nil {
				t.Errorf("Deployment %s: %s=%s: %v", d.Name, setting, path, err)
				continue
			}
			p.secret = secret
			if s := r.secrets[secret]; s != nil {
				if _, ok := s.Data[key]; !ok {
					t.Errorf("Deployment %s: %s reads key %s, which Secret %s lacks", d.Name, setting, key, secret)
				}
			} else if r.certificate(secret) == nil {
				t.Errorf("Deployment %s: %s reads Secret %s, which no Certificate writes", d.Name, setting, secret)
			} else if !slices.Contains(certManagerKeys, key) {
				t.Errorf("Deployment %s: %s reads key %s, which cert-manager does not write", d.Name, setting, key)
			}
		}
		programs = append(programs, p)
	}

	var servers, plainServers, clients, plainClients []string
	mutual := false
	for _, p := range programs {
		if p.env["KEHU_TLS_CA_FILE"] != "" {
			clients = append(clients, p.name)
		} else {
			plainClients = append(plainClients, p.name)
		}
		if p.grpcPort == 0 {
			continue
		}
		if p.env["KEHU_TLS_CERT_FILE"] == "" {
			plainServers = append(plainServers, p.name)
			continue
		}
		servers = append(servers, p.name)
		mutual = mutual || p.env["KEHU_TLS_CLIENT_CA_FILE"] != ""
		// The hosts clients dial (dns:///customer:9101) must be in the
		// server's certificate.
		cert := r.certificate(p.secret)
		if cert == nil {
			continue
		}
		if !slices.Contains(cert.Spec.Usages, "server auth") {
			t.Errorf("Certificate %s of gRPC server %s lacks the server auth usage", cert.Name, p.name)
		}
		for key, addr := range r.configMaps["kehu-config"].Data {
			hostPort, ok := strings.CutPrefix(addr, "dns:///")
			if !strings.HasSuffix(key, "_ADDR") || !ok {
				continue
			}
			host, port, _ := strings.Cut(hostPort, ":")
			if port == fmt.Sprint(p.grpcPort) && !slices.Contains(cert.Spec.DNSNames, host) {
				t.Errorf("Certificate %s does not name %s, which clients dial (%s)", cert.Name, host, key)
			}
		}
	}
	if len(servers) > 0 && len(plainClients) > 0 {
		t.Errorf("%v serve only TLS, but %v call without KEHU_TLS_CA_FILE", servers, plainClients)
	}
	if len(plainServers) > 0 && len(clients) > 0 {
		t.Errorf("%v call with TLS, but %v serve plaintext", clients, plainServers)
	}
	for _, p := range programs {
		if !mutual {
			break
		}
		if p.env["KEHU_TLS_CERT_FILE"] == "" {
			t.Errorf("servers require client certificates, but %s has none", p.name)
		} else if cert := r.certificate(p.secret); cert != nil && !slices.Contains(cert.Spec.Usages, "client auth") {
			t.Errorf("Certificate %s of %s lacks the client auth usage", cert.Name, p.name)
		}
	}

	for _, c := range r.certificates {
		iss := r.issuers[c.Spec.IssuerRef.Name]
		switch {
		case c.Spec.IssuerRef.Kind != "Issuer":
			// A ClusterIssuer lives outside the overlay.
		case iss == nil:
			t.Errorf("Certificate %s: no Issuer %s", c.Name, c.Spec.IssuerRef.Name)
		case iss.Spec.CA != nil:
			if ca := r.certificate(iss.Spec.CA.SecretName); ca == nil || !ca.Spec.IsCA {
				t.Errorf("Issuer %s: its CA Secret %s is not written by a CA Certificate", iss.Name, iss.Spec.CA.SecretName)
			}
		}
	}
}

// mountedSecret finds which key of which Secret volume the container sees
// at path.
func mountedSecret(spec corev1.PodSpec, c corev1.Container, path string) (secret, key string, err error) {
	for _, m := range c.VolumeMounts {
		rest, ok := strings.CutPrefix(path, m.MountPath+"/")
		if m.SubPath != "" && (ok || path == m.MountPath) {
			return "", "", fmt.Errorf("mounted with subPath, which never sees the Secret renewed")
		}
		if !ok {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name == m.Name && v.Secret != nil {
				return v.Secret.SecretName, rest, nil
			}
		}
		return "", "", fmt.Errorf("the pod has no Secret volume %s", m.Name)
	}
	return "", "", fmt.Errorf("not in any volume the container mounts")
}

// certificate is the Certificate that writes Secret name, or nil.
func (r *rendered) certificate(secret string) *certificate {
	for _, c := range r.certificates {
		if c.Spec.SecretName == secret {
			return c
		}
	}
	return nil
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
