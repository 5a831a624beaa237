// Package kube is a sandbox.Runner that runs each active workspace as a
// Kubernetes pod (--sandbox=kubernetes).
//
// A workspace pod runs E-Code's own binary in agent mode (`ecode
// sandbox-agent`), which serves exec, PTY and port forwarding to the owning
// node over one connection authenticated by a per-pod random token. The
// token lives in a Secret of the same name as the pod and reaches the agent
// as a file (TokenFile, root's, mode 0400); it is never an environment
// variable and never logged. This
// package creates the pod and its Secret, waits on a watch until the pod is
// Running and Ready with an IP, then hands podIP:port and the token to
// Options.Connect (the remote workspace client), whose sandbox.Workspace it
// returns wrapped: closing it deletes the pod and the Secret.
//
// Project files: one shared ReadWriteMany PersistentVolumeClaim holds the
// whole data directory, mounted by every E-Code server pod at
// Options.DataDir; a workspace pod mounts the same claim with subPath set to
// the project's folder (Spec.Dir relative to DataDir) at /workspace, and
// Spec.Data likewise at /workspace/.ecode. We chose the shared claim over a
// claim per project because the server itself reads and writes project
// files directly (editor, collaboration, checkpoints, imports) and any node
// may serve any project: with a claim per project, files would have to be
// copied or the claim re-attached whenever a project moves between nodes,
// and ReadWriteOnce claims cannot be mounted by a server pod and a
// workspace pod on different machines. The price: Kubernetes cannot cap a
// subPath of a shared claim, so nothing here limits how much a project
// writes to /workspace. What would cap it on a real cluster (neither is
// implemented nor verified here): a claim per project, sized from the plan,
// of a storage class that enforces sizes; or a quota per project directory
// on the file server (an XFS project quota, or a CSI driver with
// per-subdirectory quotas). See also docs/SCALING.md.
//
// Limits: Spec.Limits, the plan's (the composition root fills them from the
// owner's plan, with the server's flags as the ceilings and defaults),
// become the container's limits (memory, CPU, and Limits.DiskBytes as
// ephemeral storage: its logs and writable layer, not the claim) and,
// scaled down by Options.Overcommit, its requests; /tmp is a memory-backed emptyDir
// of TmpBytes (counted in the memory limit, as with the local runner's tmpfs).
// MaxProcs has no per-pod field in Kubernetes: the kubelet's podPidsLimit
// caps processes per pod for the whole node, so set it there.
//
// Isolation: no service-account token is mounted, service links are off;
// the agent runs as root with only the SETUID, SETGID and KILL
// capabilities, non-dumpable, and runs every user command as the
// workspace's uid (`--run-as`, Spec.UID or Options.UID) without
// capabilities, so user code cannot read the token file or the agent's
// /proc files; no fsGroup (the kubelet would make the token file readable
// by that group): Options.Chown gives the project's folders to the uid. No
// privilege escalation, a read-only root file system and the RuntimeDefault
// seccomp profile, optionally under a RuntimeClass such as gVisor. One NetworkPolicy
// selects every workspace pod: ingress only from E-Code server pods on the
// agent port; egress only to the cluster DNS and the CIDRs given in
// Options.EgressCIDRs (an egress proxy or registry mirrors) or peers in
// Options.EgressPeers.
//
// Pods carry the labels app.kubernetes.io/part-of=ecode,
// app.kubernetes.io/component=workspace, ecode.dev/workspace=<id> and
// ecode.dev/node=<node>; Cleanup deletes this node's leftovers at startup,
// and when Options.Owner names the server's own pod, Kubernetes' garbage
// collector deletes a gone server pod's workspaces.
package kube
