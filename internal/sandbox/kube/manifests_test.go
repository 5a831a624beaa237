package kube

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

const manifestDir = "../../../deploy/kubernetes"

// manifests decodes every object of deploy/kubernetes (strictly: unknown
// fields and kinds fail) and checks kustomization.yaml lists every file.
func manifests(t *testing.T) []runtime.Object {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(manifestDir, "*.yaml"))
	if err != nil || len(files) < 5 {
		t.Fatalf("manifests: %v %v", files, err)
	}
	var kust struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Namespace  string   `json:"namespace"`
		Resources  []string `json:"resources"`
	}
	b, err := os.ReadFile(filepath.Join(manifestDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, &kust); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	decoder := scheme.Codecs.UniversalDeserializer()
	var objs []runtime.Object
	var names []string
	for _, f := range files {
		name := filepath.Base(f)
		if name == "kustomization.yaml" {
			continue
		}
		names = append(names, name)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range bytes.Split(b, []byte("\n---\n")) {
			js, err := yaml.YAMLToJSONStrict(doc)
			if err != nil {
				t.Fatalf("%s document %d: %v", name, i, err)
			}
			obj, _, err := decoder.Decode(js, nil, nil)
			if err != nil {
				t.Fatalf("%s document %d: %v", name, i, err)
			}
			// Decode again into the typed object, refusing unknown fields.
			if err := yaml.UnmarshalStrict(doc, obj); err != nil {
				t.Fatalf("%s document %d: %v", name, i, err)
			}
			objs = append(objs, obj)
		}
	}
	sort.Strings(kust.Resources)
	if !slices.Equal(names, kust.Resources) {
		t.Errorf("kustomization.yaml lists %v, the folder has %v", kust.Resources, names)
	}
	return objs
}

// The manifests parse, and hold what a multi-node install with the
// Kubernetes backend relies on.
func TestManifests(t *testing.T) {
	objs := manifests(t)
	r, _, _ := newTestRunner(t, nil, nil)
	var server *appsv1.Deployment
	var role *rbacv1.Role
	kinds := map[string]int{}
	for _, o := range objs {
		kinds[reflect.TypeOf(o).Elem().Name()]++
		switch o := o.(type) {
		case *appsv1.Deployment:
			if o.Name == "ecode" {
				server = o
			}
		case *rbacv1.Role:
			role = o
		case *corev1.ServiceAccount:
			if o.Name == "ecode-workspace" && (o.AutomountServiceAccountToken == nil || *o.AutomountServiceAccountToken) {
				t.Error("the workspace service account mounts its token")
			}
		case *corev1.PersistentVolumeClaim:
			if o.Name == "ecode-data" && !slices.Contains(o.Spec.AccessModes, corev1.ReadWriteMany) {
				t.Error("the data claim is not ReadWriteMany")
			}
		}
	}
	for _, k := range []string{"Namespace", "Secret", "ServiceAccount", "Role", "RoleBinding", "PersistentVolumeClaim", "StatefulSet", "Deployment", "Service", "RuntimeClass"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in the manifests (have %v)", k, kinds)
		}
	}
	if server == nil || role == nil {
		t.Fatal("no ecode Deployment or Role")
	}
	if server.Spec.Replicas == nil || *server.Spec.Replicas < 2 {
		t.Error("the ecode Deployment runs fewer than 2 replicas")
	}
	for k, v := range r.opts.ServerLabels {
		if server.Spec.Template.Labels[k] != v {
			t.Errorf("server pods lack the label %s=%s the workspaces' NetworkPolicy admits", k, v)
		}
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range server.Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	if env["ECODE_SANDBOX"].Value != "kubernetes" || env["ECODE_INTERNAL_ADDR"].Value != "$(POD_IP):7071" ||
		env["POD_IP"].ValueFrom.FieldRef.FieldPath != "status.podIP" || env["ECODE_KUBE_POD_UID"].ValueFrom.FieldRef.FieldPath != "metadata.uid" {
		t.Errorf("server env %v", env)
	}
	for _, name := range []string{"ECODE_DATABASE_URL", "ECODE_REDIS_URL", "ECODE_CLUSTER_SECRET", "ECODE_MASTER_KEY"} {
		if e := env[name]; e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
			t.Errorf("%s does not come from a Secret", name)
		}
	}

	// The Role grants exactly what the runner checks for.
	var granted, want []string
	for _, rule := range role.Rules {
		for _, res := range rule.Resources {
			for _, verb := range rule.Verbs {
				granted = append(granted, rule.APIGroups[0]+"/"+res+"/"+verb)
			}
		}
	}
	for _, a := range needed {
		want = append(want, a.Group+"/"+a.Resource+"/"+a.Verb)
	}
	sort.Strings(granted)
	sort.Strings(want)
	if !slices.Equal(granted, want) {
		t.Errorf("Role grants %v, the runner needs %v", granted, want)
	}
}
