package workload

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// mapSelects reports whether a Service-style selector (every key equal)
// selects labels. An empty selector selects nothing, as for Services.
func mapSelects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// labelSelects reports whether a LabelSelector selects labels, with
// Kubernetes' semantics: the empty selector selects everything, and an
// expression with an unknown operator selects nothing.
func labelSelects(sel *metav1.LabelSelector, labels map[string]string) bool {
	if sel == nil {
		return false
	}
	for k, v := range sel.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, e := range sel.MatchExpressions {
		got, has := labels[e.Key]
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			if !has || !contains(e.Values, got) {
				return false
			}
		case metav1.LabelSelectorOpNotIn:
			if has && contains(e.Values, got) {
				return false
			}
		case metav1.LabelSelectorOpExists:
			if !has {
				return false
			}
		case metav1.LabelSelectorOpDoesNotExist:
			if has {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
