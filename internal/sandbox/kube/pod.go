package kube

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"ecode/internal/sandbox"
)

// Labels and annotations of workspace pods and Secrets.
const (
	LabelPartOf    = "app.kubernetes.io/part-of"   // ecode
	LabelComponent = "app.kubernetes.io/component" // workspace
	LabelWorkspace = "ecode.dev/workspace"         // the workspace id (as a label value)
	LabelNode      = "ecode.dev/node"              // the node that owns it
	AnnotationID   = "ecode.dev/workspace-id"      // the exact workspace id

	componentWorkspace = "workspace"
	tokenKey           = "token"
	tokenEnv           = "ECODE_SANDBOX_TOKEN" // never set in a pod; dropped from Spec.Env
	defaultTmpBytes    = 64 << 20

	// TokenDir is where the pod's Secret is mounted read-only; the agent
	// (root) reads its token from TokenFile (--token-file), root's, mode
	// 0400, out of reach of the commands it runs as the workspace's uid.
	TokenDir  = "/var/run/ecode"
	TokenFile = TokenDir + "/" + tokenKey
)

// PodName is the pod (and Secret) name of workspace id: "ws-", the id made
// DNS-1123 safe and cut short, and a hash of the exact id, so two ids never
// share a name and one id always gets the same one.
func PodName(id string) string {
	sum := sha256.Sum256([]byte(id))
	return "ws-" + dnsSafe(id, 40) + hex.EncodeToString(sum[:5])
}

// dnsSafe lowercases s, turns other characters into '-' and keeps at most
// n characters; a non-empty result ends with '-'.
func dnsSafe(s string, n int) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if b.Len() >= n {
			break
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		} else if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
			b.WriteByte('-')
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == "" {
		return ""
	}
	return out + "-"
}

// labelValue is s when it is a valid label value, else a hash of it.
func labelValue(s string) string {
	ok := len(s) > 0 && len(s) <= 63
	for i, c := range s {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || i == len(s)-1 || c != '-' && c != '_' && c != '.') {
			ok = false
		}
	}
	if ok {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "h-" + hex.EncodeToString(sum[:16])
}

// labels of workspace id's pod and Secret.
func (r *Runner) labels(id string) map[string]string {
	return map[string]string{LabelPartOf: "ecode", LabelComponent: componentWorkspace,
		LabelWorkspace: labelValue(id), LabelNode: labelValue(r.opts.Node)}
}

func (r *Runner) meta(id string) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: PodName(id), Namespace: r.opts.Namespace, Labels: r.labels(id),
		Annotations: map[string]string{AnnotationID: id}}
	if r.opts.Owner != nil {
		m.OwnerReferences = []metav1.OwnerReference{*r.opts.Owner}
	}
	return m
}

// ensurePod creates the Secret and pod of id, or adopts a live pod of
// that name (a finished one is deleted and made again). It returns the token.
func (r *Runner) ensurePod(ctx context.Context, id string, spec sandbox.Spec) (string, error) {
	name := PodName(id)
	pods, secrets := r.opts.Client.CoreV1().Pods(r.opts.Namespace), r.opts.Client.CoreV1().Secrets(r.opts.Namespace)
	if pod, err := pods.Get(ctx, name, metav1.GetOptions{}); err == nil {
		if pod.DeletionTimestamp == nil && pod.Status.Phase != corev1.PodFailed && pod.Status.Phase != corev1.PodSucceeded {
			if token, err := r.adopt(ctx, pod); err == nil {
				return token, nil
			}
		}
		if err := r.deleteObjects(ctx, name); err != nil {
			return "", fmt.Errorf("kube: replace workspace pod %s: %w", name, err)
		}
		if err := r.waitGone(ctx, name, pod.UID); err != nil {
			return "", fmt.Errorf("kube: replace workspace pod %s: %w", name, err)
		}
	} else if !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("kube: get workspace pod %s: %w", name, err)
	}

	pod, err := r.podFor(id, spec)
	if err != nil {
		return "", err
	}
	if r.opts.Chown {
		uid := r.uidOf(spec)
		for _, dir := range []string{spec.Dir, spec.Data} {
			if err := chownTree(dir, uid); err != nil {
				return "", fmt.Errorf("kube: give %s to the workspace's uid: %w", dir, err)
			}
		}
	}
	token, err := r.token()
	if err != nil {
		return "", err
	}
	secret := &corev1.Secret{ObjectMeta: r.meta(id), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{tokenKey: []byte(token)}}
	if _, err := secrets.Create(ctx, secret, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		// A Secret without its pod: a leftover; take it over.
		if _, err := secrets.Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
			return "", fmt.Errorf("kube: replace workspace secret %s: %w", name, err)
		}
	} else if err != nil {
		return "", fmt.Errorf("kube: create workspace secret %s: %w", name, err)
	}
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		r.deletePod(name)
		return "", fmt.Errorf("kube: create workspace pod %s: %w", name, err)
	}
	return token, nil
}

// adopt takes over a running pod of this workspace: its token, and the
// node label (a node that lost the project no longer owns it).
func (r *Runner) adopt(ctx context.Context, pod *corev1.Pod) (string, error) {
	secret, err := r.opts.Client.CoreV1().Secrets(r.opts.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
	if err != nil || len(secret.Data[tokenKey]) == 0 {
		return "", fmt.Errorf("no token for pod %s", pod.Name)
	}
	node := labelValue(r.opts.Node)
	if pod.Labels[LabelNode] != node {
		patch := []byte(`{"metadata":{"labels":{"` + LabelNode + `":` + strconv.Quote(node) + `}}}`)
		for _, res := range []func() error{
			func() error {
				_, err := r.opts.Client.CoreV1().Pods(r.opts.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
				return err
			},
			func() error {
				_, err := r.opts.Client.CoreV1().Secrets(r.opts.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
				return err
			},
		} {
			if err := res(); err != nil {
				return "", err
			}
		}
	}
	r.log.Info("adopt workspace pod", "pod", pod.Name)
	return string(secret.Data[tokenKey]), nil
}

// chownTree gives dir and everything under it (not following symbolic
// links) to uid; an empty dir is skipped.
func chownTree(dir string, uid int) error {
	if dir == "" {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, uid)
	})
}

// token is a fresh random agent token.
func (r *Runner) token() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(r.opts.Rand, b); err != nil {
		return "", fmt.Errorf("kube: token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// subPath is dir's path inside the data claim.
func (r *Runner) subPath(dir string) (string, error) {
	base, err := filepath.Abs(r.opts.DataDir)
	if err != nil {
		return "", err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", err
	}
	rel, err := filepath.Rel(base, dir)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return "", fmt.Errorf("kube: %s is not inside the data directory %s (the shared claim)", dir, r.opts.DataDir)
	}
	return filepath.ToSlash(rel), nil
}

// uidOf is the uid (and gid) the workspace's commands run as.
func (r *Runner) uidOf(spec sandbox.Spec) int {
	if spec.UID > 0 {
		return spec.UID
	}
	return r.opts.UID
}

// podFor is the pod of workspace id.
func (r *Runner) podFor(id string, spec sandbox.Spec) (*corev1.Pod, error) {
	work, err := r.subPath(spec.Dir)
	if err != nil {
		return nil, err
	}
	mounts := []corev1.VolumeMount{{Name: "files", MountPath: "/workspace", SubPath: work}, {Name: "tmp", MountPath: "/tmp"},
		{Name: "token", MountPath: TokenDir, ReadOnly: true}}
	if spec.Data != "" {
		data, err := r.subPath(spec.Data)
		if err != nil {
			return nil, err
		}
		mounts = append(mounts, corev1.VolumeMount{Name: "files", MountPath: "/workspace/.ecode", SubPath: data})
	}
	uid := int64(r.uidOf(spec))
	tmp := spec.Limits.TmpBytes
	if tmp <= 0 {
		tmp = defaultTmpBytes
	}
	no := false
	var env []corev1.EnvVar
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		if k != tokenEnv {
			env = append(env, corev1.EnvVar{Name: k, Value: v})
		}
	}
	grace := int64(5)
	tokenMode := int32(0o400)
	command := []string{"ecode", "sandbox-agent", "--listen", ":" + strconv.Itoa(r.opts.AgentPort), "--root", "/workspace",
		"--token-file", TokenFile, "--run-as", strconv.FormatInt(uid, 10)}
	for _, t := range r.opts.Tunnels {
		command = append(command, "--tunnel", t.Addr)
	}
	pod := &corev1.Pod{
		ObjectMeta: r.meta(id),
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  &no,
			EnableServiceLinks:            &no,
			ServiceAccountName:            r.opts.ServiceAccount,
			TerminationGracePeriodSeconds: &grace,
			// No fsGroup: the kubelet would give the token file to that
			// group and add group read (0440), and the user's uid must not
			// be able to read it. The project's folders belong to uid
			// (Options.Chown) instead.
			SecurityContext: &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name:         "agent",
				Image:        r.opts.Image,
				Command:      command,
				Ports:        []corev1.ContainerPort{{Name: "agent", ContainerPort: int32(r.opts.AgentPort), Protocol: corev1.ProtocolTCP}},
				Env:          env,
				WorkingDir:   "/workspace",
				Resources:    r.resources(spec.Limits),
				VolumeMounts: mounts,
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
					TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(int32(r.opts.AgentPort))}}, PeriodSeconds: 1},
				SecurityContext: agentSecurity(),
			}},
			Volumes: []corev1.Volume{
				{Name: "files", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: r.opts.DataClaim}}},
				{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
					Medium: corev1.StorageMediumMemory, SizeLimit: resource.NewQuantity(tmp, resource.BinarySI)}}},
				{Name: "token", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: PodName(id),
					Items: []corev1.KeyToPath{{Key: tokenKey, Path: tokenKey}}, DefaultMode: &tokenMode}}},
			},
		},
	}
	if r.opts.RuntimeClass != "" {
		rc := r.opts.RuntimeClass
		pod.Spec.RuntimeClassName = &rc
	}
	return pod, nil
}

// agentSecurity is the agent container's security context. The agent runs
// as root so that its token file (root's, mode 0400) and its /proc files
// are out of reach of user code, which it runs as the workspace's uid
// (--run-as) without capabilities; it keeps only the capabilities that
// needs: SETUID and SETGID to switch, KILL to signal those processes. No
// privilege escalation (no_new_privs), a read-only root file system.
func agentSecurity() *corev1.SecurityContext {
	yes, no, root := true, false, int64(0)
	return &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes, Privileged: &no,
		RunAsUser: &root, RunAsGroup: &root, RunAsNonRoot: &no,
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"SETUID", "SETGID", "KILL"}}}
}

// resources are the container's limits (the plan's) and requests (the
// limits divided by Overcommit). The disk limit becomes the container's
// ephemeral storage (its writable layer, logs and disk-backed emptyDirs;
// not the shared claim holding /workspace).
func (r *Runner) resources(l sandbox.Limits) corev1.ResourceRequirements {
	limits, requests := corev1.ResourceList{}, corev1.ResourceList{}
	if l.DiskBytes > 0 {
		limits[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(l.DiskBytes, resource.BinarySI)
		requests[corev1.ResourceEphemeralStorage] = *resource.NewQuantity(int64(float64(l.DiskBytes)/r.opts.Overcommit), resource.BinarySI)
	}
	if l.MemoryBytes > 0 {
		limits[corev1.ResourceMemory] = *resource.NewQuantity(l.MemoryBytes, resource.BinarySI)
		requests[corev1.ResourceMemory] = *resource.NewQuantity(int64(float64(l.MemoryBytes)/r.opts.Overcommit), resource.BinarySI)
	}
	if l.CPU > 0 {
		limits[corev1.ResourceCPU] = *resource.NewMilliQuantity(int64(l.CPU*1000), resource.DecimalSI)
		requests[corev1.ResourceCPU] = *resource.NewMilliQuantity(max(1, int64(l.CPU*1000/r.opts.Overcommit)), resource.DecimalSI)
	}
	return corev1.ResourceRequirements{Limits: limits, Requests: requests}
}
