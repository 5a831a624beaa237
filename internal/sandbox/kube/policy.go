package kube

import (
	"context"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// PolicyName is the NetworkPolicy that confines every workspace pod.
const PolicyName = "ecode-workspaces"

// Policy is the NetworkPolicy for workspace pods: ingress only from E-Code
// server pods on the agent port; egress only to the cluster DNS (kube-dns
// or CoreDNS pods labelled k8s-app=kube-dns in kube-system, port 53) and
// to EgressCIDRs and EgressPeers. It is enforced only when the cluster's
// network plugin implements NetworkPolicy (Calico, Cilium, ...).
func (r *Runner) Policy() (*networkingv1.NetworkPolicy, error) {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	agent, dns := intstr.FromInt32(int32(r.opts.AgentPort)), intstr.FromInt32(53)
	egress := []networkingv1.NetworkPolicyEgressRule{{
		To: []networkingv1.NetworkPolicyPeer{{
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
			PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
		}},
		Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}, {Protocol: &tcp, Port: &dns}},
	}}
	var to []networkingv1.NetworkPolicyPeer
	for _, c := range r.opts.EgressCIDRs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("kube: egress CIDR %q: %w", c, err)
		}
		to = append(to, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: p.Masked().String()}})
	}
	to = append(to, r.opts.EgressPeers...)
	if len(to) > 0 {
		egress = append(egress, networkingv1.NetworkPolicyEgressRule{To: to})
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: PolicyName, Namespace: r.opts.Namespace,
			Labels: map[string]string{LabelPartOf: "ecode"}},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{LabelPartOf: "ecode", LabelComponent: componentWorkspace}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": r.opts.ServerNamespace}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: r.opts.ServerLabels},
				}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &agent}},
			}},
			Egress: egress,
		},
	}, nil
}

// ensurePolicy creates or updates the NetworkPolicy once per runner
// (again after a failure).
func (r *Runner) ensurePolicy(ctx context.Context) error {
	r.mu.Lock()
	ok := r.policyOK
	r.mu.Unlock()
	if ok {
		return nil
	}
	if err := r.applyPolicy(ctx); err != nil {
		return err
	}
	r.mu.Lock()
	r.policyOK = true
	r.mu.Unlock()
	return nil
}

func (r *Runner) applyPolicy(ctx context.Context) error {
	want, err := r.Policy()
	if err != nil {
		return err
	}
	api := r.opts.Client.NetworkingV1().NetworkPolicies(r.opts.Namespace)
	have, err := api.Get(ctx, PolicyName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, want, metav1.CreateOptions{})
	case err == nil && !equality.Semantic.DeepEqual(have.Spec, want.Spec):
		have.Spec = want.Spec
		_, err = api.Update(ctx, have, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("kube: apply network policy %s: %w", PolicyName, err)
	}
	return nil
}
