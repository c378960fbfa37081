package main

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/stockade-dev/stockade/internal/policy"
)

// syntax is the value syntax of a criterion as the page explains it. The
// policy package keeps its own value kinds unexported; gendocs_test.go checks
// every entry here against policy.Validate, so the page cannot drift from
// what validation accepts.
type syntax int

const (
	synRegex syntax = iota
	synBool
	synNumber
	synDays // a number of days, where a bare number means "more than"
	synEnum
	synKeyValue
	synEnv
	synSeverity
	synDockerfile
	synText
)

// criterionDoc is what the page says about one criterion beyond what
// policy.Fields() exports.
type criterionDoc struct {
	what    string   // what the criterion matches, one or two sentences
	syntax  syntax   // its value syntax
	unit    string   // synNumber: what the number counts
	enum    []string // synEnum: the accepted values
	example string   // a valid value, also used to probe validation
}

// Values of the syntaxes that list choices; the test compares them with the
// lists in policy.Validate's messages.
func envSources() []string {
	return []string{"RAW", "SECRET_KEY", "CONFIG_MAP_KEY", "FIELD", "RESOURCE_FIELD", "UNKNOWN"}
}

func vulnSeverities() []string { return []string{"LOW", "MODERATE", "IMPORTANT", "CRITICAL"} }

func dockerfileInstructions() []string {
	return []string{"ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR"}
}

// criterionDocs describes every criterion, keyed by its name as in
// policy.Fields(). A criterion added there without an entry here fails
// gendocs_test.go and the generator.
func criterionDocs() map[string]criterionDoc {
	return map[string]criterionDoc{
		// Deployment criteria.
		"Add Capabilities": {what: "A Linux capability a container adds (`securityContext.capabilities.add`), upper-cased and without the `CAP_` prefix.",
			syntax: synRegex, example: "SYS_ADMIN"},
		"Allow Privilege Escalation": {what: "Whether a container may gain more privileges than its parent process (`securityContext.allowPrivilegeEscalation`). Kubernetes' default is `true`, and it is always `true` for a privileged container or one that adds `SYS_ADMIN`.",
			syntax: synBool, example: "true"},
		"AppArmor Profile": {what: "A container's AppArmor profile in annotation form (`runtime/default`, `localhost/NAME`, `unconfined`), from `securityContext.appArmorProfile` or the legacy annotation; empty when unset.",
			syntax: synRegex, example: "unconfined"},
		"Automount Service Account Token": {what: "Whether the pod mounts its service account's API token: the pod's `automountServiceAccountToken`, else the service account's (when it is among the inputs), else `true`.",
			syntax: synBool, example: "true"},
		"Container CPU Limit": {what: "A container's CPU limit; `0` when unset.",
			syntax: synNumber, unit: "cores (`500m` in a manifest is `0.5`)", example: "0"},
		"Container CPU Request": {what: "A container's CPU request; the limit when only the limit is set, `0` when neither is.",
			syntax: synNumber, unit: "cores (`500m` in a manifest is `0.5`)", example: "> 2"},
		"Container Memory Limit": {what: "A container's memory limit; `0` when unset.",
			syntax: synNumber, unit: "MB of 10^6 bytes (`512Mi` in a manifest is about `536.9`)", example: "0"},
		"Container Memory Request": {what: "A container's memory request; the limit when only the limit is set, `0` when neither is.",
			syntax: synNumber, unit: "MB of 10^6 bytes (`512Mi` in a manifest is about `536.9`)", example: ">= 4096"},
		"Container Name": {what: "A container's name. Init containers are included.",
			syntax: synRegex, example: "debug-.*"},
		"Disallowed Annotation": {what: "Violated when the workload has an annotation matching `key=value`.",
			syntax: synKeyValue, example: `admission\.stockade\.io/break-glass=`},
		"Drop Capabilities": {what: "Violated when a container does not drop the given capabilities (`securityContext.capabilities.drop`). Dropping `ALL` drops every capability. With AND, every value must be dropped.",
			syntax: synRegex, example: "ALL"},
		"Environment Variable": {what: "A container's environment variable, by where its value comes from, its name and its value. A value is known, and matched, only for `RAW` variables (a literal `value:` in the manifest); a secret's value is never read.",
			syntax: synEnv, example: "RAW=.*PASSWORD.*="},
		"Exposed Node Port": {what: "The node port through which a NodePort or LoadBalancer Service exposes a container port (the host port for a `hostPort`); `0` when there is none.",
			syntax: synNumber, unit: "a port number", example: "> 0"},
		"Exposed Port": {what: "A container port, declared in the container or targeted by a Service.",
			syntax: synNumber, unit: "a port number", example: "22"},
		"Exposed Port Protocol": {what: "The protocol of a container port: `TCP`, `UDP` or `SCTP`.",
			syntax: synRegex, example: "UDP"},
		"Has Egress Network Policy": {what: "Whether a NetworkPolicy among the inputs restricts the egress of the workload's pods.",
			syntax: synBool, example: "false"},
		"Has Ingress Network Policy": {what: "Whether a NetworkPolicy among the inputs restricts the ingress of the workload's pods.",
			syntax: synBool, example: "false"},
		"Host IPC": {what: "Whether the pod shares the node's IPC namespace (`hostIPC`).",
			syntax: synBool, example: "true"},
		"Host Network": {what: "Whether the pod uses the node's network namespace (`hostNetwork`).",
			syntax: synBool, example: "true"},
		"Host PID": {what: "Whether the pod shares the node's process namespace (`hostPID`).",
			syntax: synBool, example: "true"},
		"Image Registry": {what: "The registry of a container's image; `docker.io` when the image names none.",
			syntax: synRegex, example: "docker.io"},
		"Image Remote": {what: "The repository path of a container's image, without registry and tag (`library/nginx` for `nginx:1.27`).",
			syntax: synRegex, example: ".*/nginx"},
		"Image Tag": {what: "The tag of a container's image: `latest` when neither a tag nor a digest is given, empty when only a digest is.",
			syntax: synRegex, example: "latest"},
		"Liveness Probe Defined": {what: "Whether a container has a liveness probe. Init containers, which cannot have probes, never match.",
			syntax: synBool, example: "false"},
		"Minimum RBAC Permissions": {what: "Violated when the workload's service account has at least this level of Kubernetes API permissions, from the Roles, ClusterRoles and bindings among the inputs.",
			syntax: synEnum, enum: []string{"DEFAULT", "ELEVATED_IN_NAMESPACE", "ELEVATED_CLUSTER_WIDE", "CLUSTER_ADMIN"}, example: "ELEVATED_CLUSTER_WIDE"},
		"Mount Propagation": {what: "The mount propagation of a volume mount (`mountPropagation`); `NONE` when unset.",
			syntax: synEnum, enum: []string{"NONE", "HOST_TO_CONTAINER", "BIDIRECTIONAL"}, example: "BIDIRECTIONAL"},
		"Namespace": {what: "The workload's namespace.",
			syntax: synRegex, example: "default"},
		"Port Exposure Method": {what: "How a container port is reachable: `INTERNAL` (ClusterIP Service), `HOST` (`hostPort`), `NODE` (NodePort Service), `EXTERNAL` (LoadBalancer Service or Ingress), `ROUTE` (OpenShift Route), or `UNSET` when nothing exposes it.",
			syntax: synEnum, enum: []string{"UNSET", "EXTERNAL", "NODE", "HOST", "INTERNAL", "ROUTE"}, example: "EXTERNAL"},
		"Privileged Container": {what: "Whether a container runs in privileged mode (`securityContext.privileged`).",
			syntax: synBool, example: "true"},
		"Read-Only Root Filesystem": {what: "Whether a container's root filesystem is read-only (`securityContext.readOnlyRootFilesystem`).",
			syntax: synBool, example: "false"},
		"Readiness Probe Defined": {what: "Whether a container has a readiness probe. Init containers, which cannot have probes, never match.",
			syntax: synBool, example: "false"},
		"Replicas": {what: "The workload's number of replicas.",
			syntax: synNumber, unit: "a count", example: "< 2"},
		"Required Annotation": {what: "Violated when the workload has no annotation matching `key=value`; with AND, when any one of the pairs is missing.",
			syntax: synKeyValue, example: "owner=.+"},
		"Required Label": {what: "Violated when the workload has no label matching `key=value`; with AND, when any one of the pairs is missing.",
			syntax: synKeyValue, example: `app\.kubernetes\.io/name=`},
		"Runtime Class": {what: "The pod's `runtimeClassName`; empty when unset.",
			syntax: synRegex, example: "gvisor"},
		"Seccomp Profile Type": {what: "A container's seccomp profile type: its own `securityContext.seccompProfile`, else the pod's, else the legacy annotations; `UNCONFINED` when none is set.",
			syntax: synEnum, enum: []string{"UNCONFINED", "RUNTIME_DEFAULT", "LOCALHOST"}, example: "UNCONFINED"},
		"Service Account": {what: "The pod's service account; `default` when unset.",
			syntax: synRegex, example: "default"},
		"Volume Destination": {what: "Where a volume is mounted in a container (`mountPath`).",
			syntax: synRegex, example: "/var/run/docker.sock"},
		"Volume Name": {what: "The name of a volume a container mounts.",
			syntax: synRegex, example: "docker-socket"},
		"Volume Source": {what: "What a mounted volume points at: the host path, the secret, config map or claim name, or NFS `server:path`; empty for an emptyDir.",
			syntax: synRegex, example: "/proc(/.*)?"},
		"Volume Type": {what: "The kind of a mounted volume as the pod spec names it, capitalised: `HostPath`, `Secret`, `ConfigMap`, `EmptyDir`, `PersistentVolumeClaim`, `Projected`, `NFS`, ….",
			syntax: synRegex, example: "HostPath"},
		"Writable Host Mount": {what: "Whether a container mounts a `hostPath` volume read-write.",
			syntax: synBool, example: "true"},
		"Writable Mounted Volume": {what: "Whether a container mounts a volume read-write.",
			syntax: synBool, example: "true"},

		// Image criteria.
		"CVE": {what: "The ID of a vulnerability found in the image, or one of its aliases (a GHSA or a distribution's advisory ID).",
			syntax: synRegex, example: "CVE-2021-44228"},
		"CVSS": {what: "The CVSS score of a vulnerability found in the image; a vulnerability without a score never matches.",
			syntax: synNumber, unit: "a score from 0 to 10", example: ">= 7"},
		"NVD CVSS": {what: "The CVSS score the NVD gives a vulnerability found in the image; a vulnerability without an NVD score never matches.",
			syntax: synNumber, unit: "a score from 0 to 10", example: ">= 9"},
		"Severity": {what: "The severity of a vulnerability found in the image.",
			syntax: synSeverity, example: ">= IMPORTANT"},
		"Fixed By": {what: "The version of a component that fixes a vulnerability found in the image; a vulnerability without a fix never matches, not even `.*`.",
			syntax: synRegex, example: `2\.17\..*`},
		"Fixable": {what: "Whether a vulnerability found in the image has a fixed version.",
			syntax: synBool, example: "true"},
		"Days Since CVE Was Published": {what: "The age of a vulnerability found in the image, from its publication.",
			syntax: synDays, example: "> 30"},
		"Days Since CVE Was First Discovered In Image": {what: "The time since a vulnerability was first found in this image.",
			syntax: synDays, example: "> 30"},
		"Days Since CVE Was First Discovered In System": {what: "The time since a vulnerability was first found in any image Stockade knows.",
			syntax: synDays, example: "> 30"},
		"Dockerfile Line": {what: "A line of the image's build history: a Dockerfile instruction and its arguments.",
			syntax: synDockerfile, example: "USER=root"},
		"Image Age": {what: "The time since the image was created.",
			syntax: synDays, example: "> 90"},
		"Image Component": {what: "A package found in the image, as `name=version`; the version may be left out.",
			syntax: synKeyValue, example: `log4j-core=2\.1[0-4]\..*`},
		"Image OS": {what: "The operating system of the image as `ID:VERSION` from its os-release file, such as `debian:12` or `alpine:3.20`.",
			syntax: synRegex, example: "ubuntu:18.04"},
		"Image Scan Age": {what: "The time since the image was last scanned.",
			syntax: synDays, example: "> 7"},
		"Image User": {what: "The user the image's configuration runs as (`USER`), `root` when it sets none; `0` and `root` match each other.",
			syntax: synRegex, example: "root|0"},
		"Required Image Label": {what: "Violated when the image has no label matching `key=value`.",
			syntax: synKeyValue, example: `org\.opencontainers\.image\.source=`},
		"Disallowed Image Label": {what: "Violated when the image has a label matching `key=value`.",
			syntax: synKeyValue, example: "deprecated=true"},
		"Unscanned Image": {what: "Whether the image has not been scanned. An unscanned image matches no other image criterion.",
			syntax: synBool, example: "true"},
		"Image Signature Verified By": {what: "The ID of a signature integration; violated when none of the given integrations verifies the image's signature.",
			syntax: synText, example: "io.stackrox.signatureintegration.12377a62-e9c1-4c39-b9d1-a2ab12e5d5c8"},

		// Runtime criteria.
		"Process Name": {what: "The executable name of a process started in a container.",
			syntax: synRegex, example: "nc|ncat|nmap"},
		"Process Ancestor": {what: "The executable name of an ancestor of a process started in a container.",
			syntax: synRegex, example: "java"},
		"Process Arguments": {what: "The command-line arguments of a process started in a container.",
			syntax: synRegex, example: ".*/dev/tcp/.*"},
		"Process UID": {what: "The user ID a process runs as.",
			syntax: synNumber, unit: "a user ID", example: "0"},
		"Unexpected Process Executed": {what: "Whether a process outside the deployment's learned process baseline ran.",
			syntax: synBool, example: "true"},
		"Unexpected Network Flow Detected": {what: "Whether a network connection outside the deployment's learned network baseline was seen.",
			syntax: synBool, example: "true"},
		"Kubernetes Resource": {what: "The resource of a Kubernetes API event: with `DEPLOYMENT_EVENT`, an exec, attach or port-forward into a pod (`PODS_EXEC`, `PODS_ATTACH`, `PODS_PORTFORWARD`); with `AUDIT_LOG_EVENT`, the resource of an audited request.",
			syntax: synEnum, enum: []string{"SECRETS", "CONFIGMAPS", "CLUSTER_ROLES", "CLUSTER_ROLE_BINDINGS", "NETWORK_POLICIES", "SECURITY_CONTEXT_CONSTRAINTS", "EGRESS_FIREWALLS", "PODS_EXEC", "PODS_PORTFORWARD", "PODS_ATTACH"}, example: "PODS_EXEC"},
		"Kubernetes User Name": {what: "The user who made a Kubernetes API request.",
			syntax: synRegex, example: "system:anonymous"},
		"Kubernetes User Groups": {what: "A group of the user who made a Kubernetes API request.",
			syntax: synRegex, example: "system:unauthenticated"},

		// Audit-log criteria.
		"Kubernetes API Verb": {what: "The verb of an audited Kubernetes API request.",
			syntax: synEnum, enum: []string{"CREATE", "DELETE", "GET", "PATCH", "UPDATE"}, example: "GET"},
		"Kubernetes Resource Name": {what: "The name of the object an audited request concerns.",
			syntax: synRegex, example: "db-credentials"},
		"User Agent": {what: "The user agent of an audited request.",
			syntax: synRegex, example: "curl/.*"},
		"Source IP Address": {what: "The source IP address of an audited request.",
			syntax: synRegex, example: `203\.0\.113\..*`},
		"Is Impersonated User": {what: "Whether an audited request was made by impersonating another user.",
			syntax: synBool, example: "true"},
	}
}

// describe renders the value syntax of a criterion.
func (d criterionDoc) describe() string {
	switch d.syntax {
	case synBool:
		return "`true` or `false`."
	case synNumber:
		return "a number in " + d.unit + ", with an optional comparator `>`, `>=`, `<`, `<=` or `=` (the default)."
	case synDays:
		return "a number of days with an optional comparator `>`, `>=`, `<`, `<=` or `=`. As in ACS, a bare number means more than that many days: `90` is `> 90`; write `= 90` for exactly 90."
	case synEnum:
		return "one of " + codeList(d.enum, ", ") + " (any case)."
	case synKeyValue:
		return "`key=value`, both regular expressions; an empty value (`key=`) matches any value."
	case synEnv:
		return "`SOURCE=NAME=VALUE` or `NAME=VALUE`. SOURCE is one of " + codeList(envSources(), ", ") +
			" (`UNSET` or no SOURCE: any source); NAME and VALUE are regular expressions, an empty VALUE matches any value."
	case synSeverity:
		return "a vulnerability severity, " + codeList(vulnSeverities(), ", ") + " (lowest first), with an optional comparator `>`, `>=`, `<`, `<=` or `=` (the default)."
	case synDockerfile:
		return "`INSTRUCTION=regex`: INSTRUCTION is one of " + codeList(dockerfileInstructions(), ", ") + "; the regular expression matches its arguments."
	case synText:
		return "any non-empty text."
	}
	return "a regular expression."
}

// stageProbe is one kind of policy a criterion may be used in.
type stageProbe struct {
	label  string
	stages []policy.LifecycleStage
	source policy.EventSource
	// companion is added to the section when the criterion alone does not
	// make the section valid (a RUNTIME section needs an event criterion).
	companion policy.PolicyGroup
}

func stageProbes() []stageProbe {
	return []stageProbe{
		{label: "BUILD", stages: []policy.LifecycleStage{policy.StageBuild}, source: policy.EventSourceNone},
		{label: "DEPLOY", stages: []policy.LifecycleStage{policy.StageDeploy}, source: policy.EventSourceNone},
		{label: "RUNTIME with `DEPLOYMENT_EVENT`", stages: []policy.LifecycleStage{policy.StageRuntime}, source: policy.EventSourceDeployment,
			companion: policy.PolicyGroup{FieldName: "Process Name", Values: []policy.PolicyValue{{Value: "sh"}}}},
		{label: "RUNTIME with `AUDIT_LOG_EVENT`", stages: []policy.LifecycleStage{policy.StageRuntime}, source: policy.EventSourceAuditLog,
			companion: policy.PolicyGroup{FieldName: "Kubernetes API Verb", Values: []policy.PolicyValue{{Value: "GET"}}}},
	}
}

// probePolicy is a minimal policy whose only section holds groups.
func probePolicy(sp stageProbe, groups ...policy.PolicyGroup) *policy.Policy {
	return &policy.Policy{
		Name:            "gendocs probe",
		Severity:        policy.SeverityLow,
		LifecycleStages: sp.stages,
		EventSource:     sp.source,
		PolicySections:  []policy.PolicySection{{PolicyGroups: groups}},
	}
}

// fieldErrors validates p and returns the problems found, nil when valid.
// An error that is not a *policy.ValidationError is returned as err.
func fieldErrors(p *policy.Policy) ([]policy.FieldError, error) {
	_, err := policy.Compile(p)
	if err == nil {
		return nil, nil
	}
	var ve *policy.ValidationError
	if errors.As(err, &ve) {
		return ve.Errors, nil
	}
	return nil, err
}

// usable reports whether g is valid in a policy of the probed kind, and the
// groups of the section that made it so.
func usable(sp stageProbe, g policy.PolicyGroup) ([]policy.PolicyGroup, bool, error) {
	for _, groups := range [][]policy.PolicyGroup{{g}, {g, sp.companion}} {
		if len(groups) == 2 && (sp.companion.FieldName == "" || strings.EqualFold(sp.companion.FieldName, g.FieldName)) {
			continue
		}
		errs, err := fieldErrors(probePolicy(sp, groups...))
		if err != nil {
			return nil, false, err
		}
		if len(errs) == 0 {
			return groups, true, nil
		}
	}
	return nil, false, nil
}

// criterionFacts is what probing policy validation tells about a criterion.
type criterionFacts struct {
	stages    []string
	negatable bool
	andable   bool
	single    bool
}

// probe asks policy.Compile what a criterion allows: the kinds of policy
// it may appear in, negation, AND, and more than one value. The example
// value must be valid in at least one kind of policy.
func probe(f *policy.Field, example string) (criterionFacts, error) {
	var facts criterionFacts
	var base stageProbe
	var baseGroups []policy.PolicyGroup
	g := policy.PolicyGroup{FieldName: f.Name, Values: []policy.PolicyValue{{Value: example}}}
	for _, sp := range stageProbes() {
		groups, ok, err := usable(sp, g)
		if err != nil {
			return facts, fmt.Errorf("probe %q in %s: %w", f.Name, sp.label, err)
		}
		if ok {
			facts.stages = append(facts.stages, sp.label)
			if baseGroups == nil {
				base, baseGroups = sp, groups
			}
		}
	}
	if baseGroups == nil {
		errs, err := fieldErrors(probePolicy(stageProbes()[1], g))
		if err != nil {
			return facts, fmt.Errorf("probe %q: %w", f.Name, err)
		}
		return facts, fmt.Errorf("criterion %q: example value %q is valid in no kind of policy (as DEPLOY: %v)", f.Name, example, errs)
	}
	// rejects reports whether a variant of the group, in the section that
	// made the example valid, fails with a problem at the given field.
	rejects := func(variant policy.PolicyGroup, at string) (bool, error) {
		groups := slices.Clone(baseGroups)
		groups[0] = variant
		errs, err := fieldErrors(probePolicy(base, groups...))
		if err != nil {
			return false, err
		}
		want := "policySections[0].policyGroups[0]." + at
		return slices.ContainsFunc(errs, func(e policy.FieldError) bool { return e.Path == want }), nil
	}
	two := []policy.PolicyValue{{Value: example}, {Value: example}}
	neg := g
	neg.Negate = true
	var err error
	var noNeg, noAnd bool
	if noNeg, err = rejects(neg, "negate"); err != nil {
		return facts, fmt.Errorf("probe negation of %q: %w", f.Name, err)
	}
	if noAnd, err = rejects(policy.PolicyGroup{FieldName: f.Name, BooleanOperator: "AND", Values: two}, "booleanOperator"); err != nil {
		return facts, fmt.Errorf("probe AND of %q: %w", f.Name, err)
	}
	if facts.single, err = rejects(policy.PolicyGroup{FieldName: f.Name, Values: two}, "values"); err != nil {
		return facts, fmt.Errorf("probe values of %q: %w", f.Name, err)
	}
	facts.negatable, facts.andable = !noNeg, !noAnd
	return facts, nil
}

// dataGroup is one section of the page: the criteria whose
// policy.DataKind.String() is data.
type dataGroup struct{ data, title, intro string }

// dataGroups are the page's sections in order. A data kind not listed here
// still gets a section, after these, with a generic introduction.
func dataGroups() []dataGroup {
	return []dataGroup{
		{"deployment", "Deployment criteria",
			"Evaluated from a workload's manifest, with the Services, Ingresses, NetworkPolicies, ServiceAccounts and RBAC objects that come with it. `stockade deployment check` and Central's deploy-time detection evaluate them."},
		{"image", "Image criteria",
			"Need a scan of the image: its packages, vulnerabilities, labels, configuration and build history. A section that uses one is evaluated only where the image's scan is available; otherwise the report says that the policy needs image data. Within a section, `Dockerfile Line` groups must hold for the same history step, `Image Component` groups for the same package, and vulnerability groups (`CVE`, `CVSS`, `Severity`, `Fixable`, …) for the same vulnerability of a package that matches the component groups."},
		{"image signature", "Image signature criteria",
			"Need the image's signatures verified against the signature integrations configured in Central."},
		{"runtime", "Runtime criteria",
			"Need events from running workloads: processes and network connections seen on the node, or exec, attach and port-forward requests seen by admission control. They go in RUNTIME policies; a section that uses one is not evaluated against a manifest."},
		{"audit log", "Audit-log criteria",
			"Need Kubernetes API audit-log events. They go in RUNTIME policies with `eventSource: AUDIT_LOG_EVENT`, which may not use deployment or image criteria."},
	}
}

// pageGroups returns the groups that have criteria, known ones first.
func pageGroups(byData map[string][]*policy.Field) []dataGroup {
	var out []dataGroup
	known := map[string]bool{}
	for _, g := range dataGroups() {
		known[g.data] = true
		if len(byData[g.data]) > 0 {
			out = append(out, g)
		}
	}
	var extra []string
	for data := range byData {
		if !known[data] {
			extra = append(extra, data)
		}
	}
	slices.Sort(extra)
	for _, data := range extra {
		title := strings.ToUpper(data[:1]) + data[1:] + " criteria"
		out = append(out, dataGroup{data, title, "Need " + data + " data."})
	}
	return out
}

const criteriaIntro = `# Policy criteria

A policy's criteria are in ` + "`policySections[].policyGroups[]`" + `. Each group names one criterion in
` + "`fieldName`" + ` (any case) and gives one or more ` + "`values`" + ` in that criterion's syntax:

` + "```yaml" + `
policySections:
  - sectionName: Privileged and on the host network
    policyGroups:
      - fieldName: Privileged Container
        values:
          - value: 'true'
      - fieldName: Host Network
        values:
          - value: 'true'
` + "```" + `

## How criteria match

- **Values in a group are OR'ed**: the group matches when any value does. With
  ` + "`booleanOperator: AND`" + ` every value must match; only criteria marked "AND: allowed" take it.
- **` + "`negate: true`" + `** inverts the group; criteria marked "Negate: not allowed" reject it.
- **Groups in a section are AND'ed**, and a criterion appears at most once per section. Container
  criteria (capabilities, resources, probes, image, security context) must all hold for the **same
  container**; volume criteria for the same mount of that container, port criteria for the same port,
  and environment-variable criteria for the same variable.
- **Sections are OR'ed**: a policy is violated when any of its sections matches, and the violation
  lists what matched.
- **Text values are regular expressions** (Go RE2 syntax), case-insensitive and anchored to the whole
  value: ` + "`nginx`" + ` matches ` + "`NGINX`" + ` but not ` + "`nginx-proxy`" + ` (write ` + "`nginx.*`" + `). The ` + "`r/`" + ` prefix that ACS
  writes before some regular expressions is accepted and ignored. An empty value or ` + "`.*`" + ` matches
  anything, including an empty or unset value.
- **Numbers** take an optional comparator, ` + "`>`, `>=`, `<`, `<=`" + ` or ` + "`=`" + ` (the default), with or
  without a space: ` + "`> 0.5`, `<=1024`, `0`" + `. CPU is in cores and memory in MB (10^6 bytes), as ACS
  reports them; unset requests and limits are ` + "`0`" + `.
- **Booleans** are ` + "`true`" + ` or ` + "`false`" + `, and a boolean criterion takes exactly one value.
- **Stages.** "Usable in" lists the kinds of policy that accept a criterion. BUILD policies see only
  an image, so they take image criteria and ` + "`Image Registry`, `Image Remote`, `Image Tag`" + `. A RUNTIME
  policy with ` + "`DEPLOYMENT_EVENT`" + ` needs a process, network or Kubernetes event criterion in every
  section; deployment and image criteria narrow it down. A RUNTIME policy with ` + "`AUDIT_LOG_EVENT`" + `
  needs a Kubernetes criterion in every section and takes no deployment or image criteria.

` + "`stockade policy validate FILE`" + ` checks all of this without Central, naming each problem by its path,
such as ` + "`policySections[0].policyGroups[1].values[0].value`" + `.
`

// criteriaPage renders docs/reference/criteria.md.
func criteriaPage() ([]byte, error) {
	fields := policy.Fields()
	docs := criterionDocs()
	byData := map[string][]*policy.Field{}
	for _, f := range fields {
		if _, ok := docs[f.Name]; !ok {
			return nil, fmt.Errorf("criterion %q has no entry in criterionDocs (hack/gendocs/criteria.go): describe its values there", f.Name)
		}
		byData[f.Data.String()] = append(byData[f.Data.String()], f)
	}
	for name := range docs {
		if _, ok := fields[strings.ToLower(name)]; !ok {
			return nil, fmt.Errorf("criterionDocs describes %q, which policy.Fields() does not have", name)
		}
	}

	var b bytes.Buffer
	b.WriteString(generatedNote)
	b.WriteString(criteriaIntro)

	groups := pageGroups(byData)
	b.WriteString("\n## Index\n\n")
	for _, g := range groups {
		list := byData[g.data]
		slices.SortFunc(list, func(x, y *policy.Field) int { return strings.Compare(x.Name, y.Name) })
		links := make([]string, len(list))
		for i, f := range list {
			links[i] = "[" + f.Name + "](#" + anchor(f.Name) + ")"
		}
		fmt.Fprintf(&b, "- **[%s](#%s)** (%d): %s\n", g.title, anchor(g.title), len(list), strings.Join(links, ", "))
	}
	documented := 0
	for _, g := range groups {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n", g.title, g.intro)
		for _, f := range byData[g.data] {
			d := docs[f.Name]
			facts, err := probe(f, d.example)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(&b, "\n### %s\n\n%s\n\n", f.Name, d.what)
			fmt.Fprintf(&b, "- **Values:** %s\n", d.describe())
			fmt.Fprintf(&b, "- **Example:** %s\n", code(d.example))
			switch {
			case facts.single:
				b.WriteString("- **Values per group:** exactly one\n")
			case facts.andable:
				b.WriteString("- **Values per group:** one or more, OR'ed; AND: allowed\n")
			default:
				b.WriteString("- **Values per group:** one or more, OR'ed; AND: not allowed\n")
			}
			fmt.Fprintf(&b, "- **Negate:** %s\n", allowed(facts.negatable))
			fmt.Fprintf(&b, "- **Usable in:** %s\n", strings.Join(facts.stages, ", "))
			documented++
		}
	}
	if documented != len(fields) {
		return nil, fmt.Errorf("documented %d criteria of %d", documented, len(fields))
	}
	return b.Bytes(), nil
}

func allowed(ok bool) string {
	if ok {
		return "allowed"
	}
	return "not allowed"
}
