package kube

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// The pod carries the plan's limits, no service-account token, a locked
// down security context, the runtime class, the token by secretKeyRef, the
// project's folder from the shared claim and the workspace labels.
func TestPodSpec(t *testing.T) {
	var attached []string // tunnels the runner attached, in order
	attach := func(name string) func(string, net.Listener) {
		return func(id string, l net.Listener) { attached = append(attached, name+" "+id); l.Close() }
	}
	owner := &metav1.OwnerReference{APIVersion: "v1", Kind: "Pod", Name: "ecode-0", UID: "uid-1"}
	r, client, _ := newTestRunner(t, func(o *Options) {
		o.RuntimeClass, o.ServiceAccount, o.Overcommit, o.Owner = "gvisor", "ecode-workspace", 2, owner
		o.Tunnels = []Tunnel{{Addr: "127.0.0.1:3128", Attach: attach("egress")}, {Addr: "127.0.0.1:5432", Attach: attach("db")}}
	}, nil)
	w := podWatch(t, client)
	spec := testSpec
	spec.Data = "/data/deployments/d1"
	ch := open(r, "Proj_1", spec)
	pod := created(t, w, "Proj_1")
	markReady(t, client, pod.Name, "127.0.0.1")
	if res := wait(t, ch); res.err != nil {
		t.Fatal(res.err)
	}
	if !slices.Equal(attached, []string{"egress Proj_1", "db Proj_1"}) {
		t.Errorf("tunnels attached: %q", attached)
	}
	ps := pod.Spec
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken || ps.EnableServiceLinks == nil || *ps.EnableServiceLinks {
		t.Error("service-account token or service links enabled")
	}
	if ps.RuntimeClassName == nil || *ps.RuntimeClassName != "gvisor" || ps.ServiceAccountName != "ecode-workspace" || ps.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("runtime class %v, service account %q, restart %q", ps.RuntimeClassName, ps.ServiceAccountName, ps.RestartPolicy)
	}
	psc := ps.SecurityContext
	// The agent runs as root, user commands as the workspace's uid
	// (--run-as): no fsGroup, which would make the token file readable by
	// that group.
	if psc == nil || psc.RunAsUser != nil || psc.RunAsGroup != nil || psc.FSGroup != nil || psc.SupplementalGroups != nil ||
		psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod security context %+v", psc)
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers", len(ps.Containers))
	}
	c := ps.Containers[0]
	if got := strings.Join(c.Command, " "); got != "ecode sandbox-agent --listen :7070 --root /workspace --token-file /var/run/ecode/token --run-as 20001"+
		" --tunnel 127.0.0.1:3128 --tunnel 127.0.0.1:5432" || c.Image != "registry.example/ecode:1" {
		t.Errorf("command %q image %q", got, c.Image)
	}
	sc := c.SecurityContext
	if sc == nil || *sc.AllowPrivilegeEscalation || !*sc.ReadOnlyRootFilesystem || *sc.Privileged || *sc.RunAsUser != 0 || *sc.RunAsGroup != 0 ||
		*sc.RunAsNonRoot || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
		!slices.Equal(sc.Capabilities.Add, []corev1.Capability{"SETUID", "SETGID", "KILL"}) {
		t.Errorf("container security context %+v", sc)
	}
	lim, req := c.Resources.Limits, c.Resources.Requests
	if lim.Memory().Value() != 512<<20 || lim.Cpu().MilliValue() != 500 || req.Memory().Value() != 256<<20 || req.Cpu().MilliValue() != 250 {
		t.Errorf("limits %v requests %v", lim, req)
	}
	if lim.StorageEphemeral().Value() != 2<<30 || req.StorageEphemeral().Value() != 1<<30 {
		t.Errorf("ephemeral storage: limit %v request %v, want the plan's disk (2 GiB) and half of it", lim.StorageEphemeral(), req.StorageEphemeral())
	}
	secret, err := client.CoreV1().Secrets(testNS).Get(context.Background(), pod.Name, metav1.GetOptions{})
	if err != nil || secret.Labels[LabelNode] != "node-a" || len(secret.OwnerReferences) != 1 {
		t.Fatalf("secret %v: %+v", err, secret)
	}
	// The token reaches the agent as a read-only file from the Secret,
	// never through the environment.
	var port bool
	for _, e := range c.Env {
		if e.ValueFrom != nil || strings.Contains(e.Name, "TOKEN") || strings.Contains(e.Value, string(secret.Data[tokenKey])) {
			t.Errorf("env var %s carries the token: %+v", e.Name, e)
		}
		port = port || e.Name == "PORT" && e.Value == "3000"
	}
	if !port || len(c.EnvFrom) != 0 {
		t.Errorf("env %+v envFrom %+v", c.Env, c.EnvFrom)
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	if m := mounts["/workspace"]; m.Name != "files" || m.SubPath != "projects/p1" {
		t.Errorf("/workspace mount %+v", m)
	}
	if m := mounts["/workspace/.ecode"]; m.Name != "files" || m.SubPath != "deployments/d1" {
		t.Errorf("/workspace/.ecode mount %+v", m)
	}
	if m := mounts["/var/run/ecode"]; m.Name != "token" || !m.ReadOnly {
		t.Errorf("token mount %+v", m)
	}
	if _, ok := mounts["/tmp"]; !ok {
		t.Error("no /tmp")
	}
	for _, v := range ps.Volumes {
		switch v.Name {
		case "files":
			if v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "ecode-data" {
				t.Errorf("files volume %+v", v.VolumeSource)
			}
		case "tmp":
			if v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumMemory || v.EmptyDir.SizeLimit.Value() != 128<<20 {
				t.Errorf("tmp volume %+v", v.VolumeSource)
			}
		case "token":
			sv := v.Secret
			if sv == nil || sv.SecretName != pod.Name || sv.DefaultMode == nil || *sv.DefaultMode != 0o400 ||
				len(sv.Items) != 1 || sv.Items[0].Key != "token" || sv.Items[0].Path != "token" {
				t.Errorf("token volume %+v", v.VolumeSource)
			}
		}
	}
	want := map[string]string{LabelPartOf: "ecode", LabelComponent: "workspace", LabelWorkspace: "Proj_1", LabelNode: "node-a"}
	for k, v := range want {
		if pod.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, pod.Labels[k], v)
		}
	}
	if pod.Annotations[AnnotationID] != "Proj_1" || len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].UID != "uid-1" {
		t.Errorf("annotations %v owners %v", pod.Annotations, pod.OwnerReferences)
	}
}

// Check applies the NetworkPolicy: ingress from server pods on the agent
// port only, egress to DNS and the configured CIDRs only.
func TestCheckAppliesNetworkPolicy(t *testing.T) {
	r, client, _ := newTestRunner(t, func(o *Options) { o.EgressCIDRs = []string{"10.96.5.5/32"} }, nil)
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
	np, err := client.NetworkingV1().NetworkPolicies(testNS).Get(context.Background(), PolicyName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := np.Spec
	if s.PodSelector.MatchLabels[LabelComponent] != "workspace" || !slices.Equal(s.PolicyTypes, []networkingv1.PolicyType{"Ingress", "Egress"}) {
		t.Errorf("selector %v types %v", s.PodSelector, s.PolicyTypes)
	}
	if len(s.Ingress) != 1 || len(s.Ingress[0].From) != 1 || len(s.Ingress[0].Ports) != 1 || s.Ingress[0].Ports[0].Port.IntValue() != 7070 ||
		s.Ingress[0].From[0].PodSelector.MatchLabels["app.kubernetes.io/component"] != "server" ||
		s.Ingress[0].From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != testNS {
		t.Errorf("ingress %+v", s.Ingress)
	}
	if len(s.Egress) != 2 || s.Egress[0].Ports[0].Port.IntValue() != 53 || s.Egress[0].To[0].PodSelector.MatchLabels["k8s-app"] != "kube-dns" ||
		s.Egress[1].To[0].IPBlock.CIDR != "10.96.5.5/32" || len(s.Egress[1].To) != 1 {
		t.Errorf("egress %+v", s.Egress)
	}

	// A changed policy is updated in place.
	r2, err := New(func() Options { o := r.opts; o.EgressCIDRs = nil; return o }())
	if err != nil {
		t.Fatal(err)
	}
	if err := r2.Check(); err != nil {
		t.Fatal(err)
	}
	np, _ = client.NetworkingV1().NetworkPolicies(testNS).Get(context.Background(), PolicyName, metav1.GetOptions{})
	if len(np.Spec.Egress) != 1 {
		t.Errorf("after the update, egress %+v", np.Spec.Egress)
	}
	r.opts.EgressCIDRs = []string{"not-a-cidr"}
	r.policyOK = false
	if err := r.Check(); err == nil {
		t.Error("a bad CIDR was accepted")
	}
}

// Check names the permissions the service account lacks.
func TestCheckReportsMissingPermissions(t *testing.T) {
	r, _, _ := newTestRunner(t, nil, func(a authorizationv1.ResourceAttributes) bool {
		return a.Resource == "secrets" && a.Verb == "delete" || a.Resource == "pods" && a.Verb == "watch"
	})
	err := r.Check()
	if err == nil || !strings.Contains(err.Error(), "watch pods, delete secrets") {
		t.Fatalf("err = %v", err)
	}
}

// Pod names are DNS-1123 labels, stable for an id and distinct between ids.
func TestPodName(t *testing.T) {
	if PodName("abc") != PodName("abc") || PodName("Abc") == PodName("abc") || PodName("a.b") == PodName("a-b") {
		t.Error("names not deterministic or not distinct")
	}
	for _, id := range []string{"", "p1", "b-0f3c", "UPPER", "---", strings.Repeat("x", 300), "émoji🙂"} {
		if errs := validation.IsDNS1123Label(PodName(id)); len(errs) > 0 {
			t.Errorf("PodName(%q) = %q: %v", id, PodName(id), errs)
		}
	}
	if labelValue("p1") != "p1" || labelValue("a/b") == "a/b" {
		t.Error("labelValue")
	}
}

func FuzzPodName(f *testing.F) {
	for _, s := range []string{"p1", "b-0f3c9", "Proj_1", "-x-", strings.Repeat("a", 70), "a..b", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if errs := validation.IsDNS1123Label(PodName(id)); len(errs) > 0 {
			t.Errorf("PodName(%q) = %q: %v", id, PodName(id), errs)
		}
		if errs := validation.IsValidLabelValue(labelValue(id)); len(errs) > 0 {
			t.Errorf("labelValue(%q) = %q: %v", id, labelValue(id), errs)
		}
	})
}
