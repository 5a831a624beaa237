package kube

import (
	"context"
	"fmt"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// needed are the API permissions the runner uses in its namespace.
var needed = []authorizationv1.ResourceAttributes{
	{Resource: "pods", Verb: "create"}, {Resource: "pods", Verb: "get"}, {Resource: "pods", Verb: "list"},
	{Resource: "pods", Verb: "watch"}, {Resource: "pods", Verb: "patch"}, {Resource: "pods", Verb: "delete"},
	{Resource: "secrets", Verb: "create"}, {Resource: "secrets", Verb: "get"}, {Resource: "secrets", Verb: "list"},
	{Resource: "secrets", Verb: "update"}, {Resource: "secrets", Verb: "patch"}, {Resource: "secrets", Verb: "delete"},
	{Group: "networking.k8s.io", Resource: "networkpolicies", Verb: "get"},
	{Group: "networking.k8s.io", Resource: "networkpolicies", Verb: "create"},
	{Group: "networking.k8s.io", Resource: "networkpolicies", Verb: "update"},
}

// Check asks the API server whether this node may do what the runner
// does (SelfSubjectAccessReviews, which every authenticated client may
// create), then applies the NetworkPolicy.
func (r *Runner) Check() error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var denied []string
	for _, attrs := range needed {
		attrs.Namespace = r.opts.Namespace
		review := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &attrs}}
		got, err := r.opts.Client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("kubernetes API at namespace %s: %w", r.opts.Namespace, err)
		}
		if !got.Status.Allowed {
			denied = append(denied, attrs.Verb+" "+attrs.Resource)
		}
	}
	if len(denied) > 0 {
		return fmt.Errorf("kubernetes: this server's service account may not %s in namespace %s (see deploy/kubernetes/rbac.yaml)",
			strings.Join(denied, ", "), r.opts.Namespace)
	}
	return r.ensurePolicy(ctx)
}
