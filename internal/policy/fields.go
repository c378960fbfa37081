package policy

import (
	"slices"
	"strings"
)

// DataKind is what a criterion needs to be evaluated.
type DataKind int

// Data kinds. A DEPLOY criterion is evaluated from a manifest alone; the other
// kinds need data that arrives with later components (the scanner, Sensor's
// runtime events, Kubernetes audit logs).
const (
	DataDeployment DataKind = iota
	DataImage
	DataProcess
	DataNetworkFlow
	DataAuditLog
	// DataKubeEvent criteria describe a Kubernetes API event: exec, attach and
	// port-forward seen by admission control (DEPLOYMENT_EVENT) or any request
	// in the audit log (AUDIT_LOG_EVENT).
	DataKubeEvent
	// DataSignature criteria need image signature verification.
	DataSignature
)

func (k DataKind) String() string {
	switch k {
	case DataImage:
		return "image"
	case DataProcess, DataNetworkFlow, DataKubeEvent:
		return "runtime"
	case DataAuditLog:
		return "audit log"
	case DataSignature:
		return "image signature"
	}
	return "deployment"
}

// valueKind is the syntax of a criterion's values.
type valueKind int

const (
	kindRegex      valueKind = iota // case-insensitive regex anchored to the whole value
	kindBool                        // true | false
	kindNumber                      // comparator: >, >=, <, <=, or a bare number
	kindEnum                        // one of field.enum, case-insensitive
	kindKeyValue                    // key=value, both regexes, value optional
	kindEnv                         // SOURCE=NAME=VALUE or NAME=VALUE
	kindSeverity                    // comparator over LOW, MODERATE, IMPORTANT, CRITICAL
	kindDockerfile                  // INSTRUCTION=regex
	kindAny                         // free text, checked only for being non-empty
)

// Field describes one policy criterion: its ACS name, what data it needs,
// its value syntax, and how groups of it may be written.
type Field struct {
	Name string
	Data DataKind
	kind valueKind
	enum []string
	// noNegate marks fields ACS does not allow to be negated.
	noNegate bool
	// single marks fields that take exactly one value (booleans and levels).
	single bool
	// andAllowed marks fields whose values may be AND'ed.
	andAllowed bool
}

// Fields returns the criteria Stockade knows, keyed by lower-cased name. The
// function is the list: a criterion not here is unknown to validation.
func Fields() map[string]*Field {
	list := []*Field{
		// Deployment criteria, evaluated from the manifest.
		{Name: "Add Capabilities", kind: kindRegex},
		{Name: "Allow Privilege Escalation", kind: kindBool, single: true, noNegate: true},
		{Name: "AppArmor Profile", kind: kindRegex},
		{Name: "Automount Service Account Token", kind: kindBool, single: true, noNegate: true},
		{Name: "Container CPU Limit", kind: kindNumber, andAllowed: true},
		{Name: "Container CPU Request", kind: kindNumber, andAllowed: true},
		{Name: "Container Memory Limit", kind: kindNumber, andAllowed: true},
		{Name: "Container Memory Request", kind: kindNumber, andAllowed: true},
		{Name: "Container Name", kind: kindRegex},
		{Name: "Disallowed Annotation", kind: kindKeyValue, noNegate: true},
		{Name: "Drop Capabilities", kind: kindRegex, noNegate: true, andAllowed: true},
		{Name: "Environment Variable", kind: kindEnv},
		{Name: "Exposed Node Port", kind: kindNumber, andAllowed: true},
		{Name: "Exposed Port", kind: kindNumber, andAllowed: true},
		{Name: "Exposed Port Protocol", kind: kindRegex},
		{Name: "Has Egress Network Policy", kind: kindBool, single: true, noNegate: true},
		{Name: "Has Ingress Network Policy", kind: kindBool, single: true, noNegate: true},
		{Name: "Host IPC", kind: kindBool, single: true, noNegate: true},
		{Name: "Host Network", kind: kindBool, single: true, noNegate: true},
		{Name: "Host PID", kind: kindBool, single: true, noNegate: true},
		{Name: "Image Registry", kind: kindRegex},
		{Name: "Image Remote", kind: kindRegex},
		{Name: "Image Tag", kind: kindRegex},
		{Name: "Liveness Probe Defined", kind: kindBool, single: true, noNegate: true},
		{Name: "Minimum RBAC Permissions", kind: kindEnum, single: true, enum: []string{"DEFAULT", "ELEVATED_IN_NAMESPACE", "ELEVATED_CLUSTER_WIDE", "CLUSTER_ADMIN"}},
		{Name: "Mount Propagation", kind: kindEnum, enum: []string{"NONE", "HOST_TO_CONTAINER", "BIDIRECTIONAL"}},
		{Name: "Namespace", kind: kindRegex},
		{Name: "Port Exposure Method", kind: kindEnum, enum: []string{"UNSET", "EXTERNAL", "NODE", "HOST", "INTERNAL", "ROUTE"}},
		{Name: "Privileged Container", kind: kindBool, single: true, noNegate: true},
		{Name: "Read-Only Root Filesystem", kind: kindBool, single: true, noNegate: true},
		{Name: "Readiness Probe Defined", kind: kindBool, single: true, noNegate: true},
		{Name: "Replicas", kind: kindNumber, andAllowed: true},
		{Name: "Required Annotation", kind: kindKeyValue, noNegate: true},
		{Name: "Required Label", kind: kindKeyValue, noNegate: true},
		{Name: "Runtime Class", kind: kindRegex},
		{Name: "Seccomp Profile Type", kind: kindEnum, enum: []string{"UNCONFINED", "RUNTIME_DEFAULT", "LOCALHOST"}},
		{Name: "Service Account", kind: kindRegex},
		{Name: "Volume Destination", kind: kindRegex},
		{Name: "Volume Name", kind: kindRegex},
		{Name: "Volume Source", kind: kindRegex},
		{Name: "Volume Type", kind: kindRegex},
		{Name: "Writable Host Mount", kind: kindBool, single: true, noNegate: true},
		{Name: "Writable Mounted Volume", kind: kindBool, single: true, noNegate: true},

		// Image criteria: need a scanned image.
		{Name: "CVE", Data: DataImage, kind: kindRegex},
		{Name: "CVSS", Data: DataImage, kind: kindNumber, andAllowed: true},
		{Name: "NVD CVSS", Data: DataImage, kind: kindNumber, andAllowed: true},
		{Name: "Severity", Data: DataImage, kind: kindSeverity},
		{Name: "Fixed By", Data: DataImage, kind: kindRegex},
		{Name: "Fixable", Data: DataImage, kind: kindBool, single: true, noNegate: true},
		{Name: "Days Since CVE Was Published", Data: DataImage, kind: kindNumber, noNegate: true},
		{Name: "Days Since CVE Was First Discovered In Image", Data: DataImage, kind: kindNumber, noNegate: true},
		{Name: "Days Since CVE Was First Discovered In System", Data: DataImage, kind: kindNumber, noNegate: true},
		{Name: "Dockerfile Line", Data: DataImage, kind: kindDockerfile},
		{Name: "Image Age", Data: DataImage, kind: kindNumber, noNegate: true},
		{Name: "Image Component", Data: DataImage, kind: kindKeyValue},
		{Name: "Image OS", Data: DataImage, kind: kindRegex},
		{Name: "Image Scan Age", Data: DataImage, kind: kindNumber, noNegate: true},
		{Name: "Image User", Data: DataImage, kind: kindRegex},
		{Name: "Required Image Label", Data: DataImage, kind: kindKeyValue, noNegate: true},
		{Name: "Disallowed Image Label", Data: DataImage, kind: kindKeyValue, noNegate: true},
		{Name: "Unscanned Image", Data: DataImage, kind: kindBool, single: true, noNegate: true},
		{Name: "Image Signature Verified By", Data: DataSignature, kind: kindAny, noNegate: true},

		// Runtime criteria: need process or network events.
		{Name: "Process Name", Data: DataProcess, kind: kindRegex},
		{Name: "Process Ancestor", Data: DataProcess, kind: kindRegex},
		{Name: "Process Arguments", Data: DataProcess, kind: kindRegex},
		{Name: "Process UID", Data: DataProcess, kind: kindNumber},
		{Name: "Unexpected Process Executed", Data: DataProcess, kind: kindBool, single: true, noNegate: true},
		{Name: "Unexpected Network Flow Detected", Data: DataNetworkFlow, kind: kindBool, single: true, noNegate: true},

		// Kubernetes audit-log criteria.
		{Name: "Kubernetes Resource", Data: DataKubeEvent, kind: kindEnum, enum: []string{"SECRETS", "CONFIGMAPS", "CLUSTER_ROLES", "CLUSTER_ROLE_BINDINGS", "NETWORK_POLICIES", "SECURITY_CONTEXT_CONSTRAINTS", "EGRESS_FIREWALLS", "PODS_EXEC", "PODS_PORTFORWARD", "PODS_ATTACH"}, noNegate: true},
		{Name: "Kubernetes API Verb", Data: DataAuditLog, kind: kindEnum, enum: []string{"CREATE", "DELETE", "GET", "PATCH", "UPDATE"}},
		{Name: "Kubernetes Resource Name", Data: DataAuditLog, kind: kindRegex},
		{Name: "Kubernetes User Name", Data: DataKubeEvent, kind: kindRegex},
		{Name: "Kubernetes User Groups", Data: DataKubeEvent, kind: kindRegex},
		{Name: "User Agent", Data: DataAuditLog, kind: kindRegex},
		{Name: "Source IP Address", Data: DataAuditLog, kind: kindRegex},
		{Name: "Is Impersonated User", Data: DataAuditLog, kind: kindBool, single: true, noNegate: true},
	}
	m := make(map[string]*Field, len(list))
	for _, f := range list {
		m[strings.ToLower(f.Name)] = f
	}
	return m
}

// DataNeeded lists the kinds of data beyond a deployment ("image",
// "runtime", "audit log") that the policy's criteria read, without compiling
// it. A policy with an unknown criterion reports what its known ones need.
func DataNeeded(p *Policy) []string {
	var out []string
	for _, s := range p.PolicySections {
		for _, g := range s.PolicyGroups {
			f, ok := LookupField(g.FieldName)
			if !ok || f.Data == DataDeployment {
				continue
			}
			need := f.Data.String()
			if f.Data == DataKubeEvent && p.EventSource == EventSourceAuditLog {
				need = DataAuditLog.String()
			}
			if !slices.Contains(out, need) {
				out = append(out, need)
			}
		}
	}
	return out
}
