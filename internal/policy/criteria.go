package policy

import (
	"slices"
	"strings"
)

// ValueKind names a criterion's value syntax for clients that build
// policies (the dashboard's criteria builder): what to offer and how to
// check a value before asking the server.
type ValueKind string

// Value kinds.
const (
	ValueRegex       ValueKind = "regex"       // case-insensitive regex anchored to the whole value
	ValueBoolean     ValueKind = "boolean"     // true | false
	ValueNumber      ValueKind = "number"      // optional comparator and a number, in Unit
	ValueDays        ValueKind = "days"        // a number of days; a bare number means "more than"
	ValueEnum        ValueKind = "enum"        // one of Options, any case
	ValueKeyValue    ValueKind = "keyValue"    // key=value, both regexes, value optional
	ValueEnvironment ValueKind = "environment" // SOURCE=NAME=VALUE or NAME=VALUE
	ValueSeverity    ValueKind = "severity"    // optional comparator and LOW…CRITICAL
	ValueDockerfile  ValueKind = "dockerfile"  // INSTRUCTION=regex
	ValueText        ValueKind = "text"        // any non-empty text
)

// Usage is one kind of policy a criterion may appear in: a stage and, for
// RUNTIME, an event source.
type Usage struct {
	Stage       LifecycleStage `json:"stage"`
	EventSource EventSource    `json:"eventSource,omitempty"`
}

// Criterion is everything a policy editor needs to know about one
// criterion, derived from the catalogue validation uses (Fields) and from
// Validate itself, so that an editor built from it cannot drift from what
// the API accepts.
type Criterion struct {
	Name string `json:"name"`
	// Category groups criteria by the data they read.
	Category string `json:"category"`
	// UsableIn lists the kinds of policy the criterion is valid in.
	UsableIn  []Usage   `json:"usableIn"`
	ValueKind ValueKind `json:"valueKind"`
	// Options are the accepted values of an enum criterion, or the
	// SOURCE, severity or INSTRUCTION words of the other kinds that have some.
	Options []string `json:"options,omitempty"`
	// Unit is what a number counts.
	Unit string `json:"unit,omitempty"`
	// Negatable tells whether negate: true is allowed.
	Negatable bool `json:"negatable"`
	// AndAllowed tells whether booleanOperator AND is allowed.
	AndAllowed bool `json:"andAllowed"`
	// MultipleValues tells whether a group may hold more than one value.
	MultipleValues bool   `json:"multipleValues"`
	Description    string `json:"description"`
	// Example is a valid value.
	Example string `json:"example"`
}

// Category names of criteria, by the data they read.
func (k DataKind) category() string {
	switch k {
	case DataImage:
		return "Image"
	case DataSignature:
		return "Image signature"
	case DataProcess:
		return "Process activity"
	case DataNetworkFlow:
		return "Network activity"
	case DataKubeEvent:
		return "Kubernetes events"
	case DataAuditLog:
		return "Kubernetes audit log"
	}
	return "Deployment"
}

// Usages are the kinds of policy, in the order editors list them.
func Usages() []Usage {
	return []Usage{
		{Stage: StageBuild},
		{Stage: StageDeploy},
		{Stage: StageRuntime, EventSource: EventSourceDeployment},
		{Stage: StageRuntime, EventSource: EventSourceAuditLog},
	}
}

// Criteria describes every criterion, sorted by category then name.
func Criteria() []Criterion {
	texts := criterionTexts()
	out := make([]Criterion, 0, len(texts))
	for _, f := range Fields() {
		t := texts[f.Name]
		c := Criterion{
			Name: f.Name, Category: f.Data.category(), ValueKind: f.valueKind(), Options: f.options(), Unit: t.unit,
			Negatable: !f.noNegate, AndAllowed: f.andAllowed, MultipleValues: !f.single,
			Description: t.description, Example: t.example,
		}
		for _, u := range Usages() {
			if usable(f, u, t.example) {
				c.UsableIn = append(c.UsableIn, u)
			}
		}
		out = append(out, c)
	}
	order := map[string]int{}
	for i, k := range []DataKind{DataDeployment, DataImage, DataSignature, DataProcess, DataNetworkFlow, DataKubeEvent, DataAuditLog} {
		order[k.category()] = i
	}
	slices.SortFunc(out, func(a, b Criterion) int {
		if d := order[a.Category] - order[b.Category]; d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func (f *Field) valueKind() ValueKind {
	switch f.kind {
	case kindBool:
		return ValueBoolean
	case kindNumber:
		if id, ok := fieldIDs[f.Name]; ok && id.isDays() {
			return ValueDays
		}
		return ValueNumber
	case kindEnum:
		return ValueEnum
	case kindKeyValue:
		return ValueKeyValue
	case kindEnv:
		return ValueEnvironment
	case kindSeverity:
		return ValueSeverity
	case kindDockerfile:
		return ValueDockerfile
	case kindAny:
		return ValueText
	}
	return ValueRegex
}

func (f *Field) options() []string {
	switch f.kind {
	case kindEnum:
		return slices.Clone(f.enum)
	case kindEnv:
		return slices.Clone(envSources)
	case kindSeverity:
		return slices.Clone(imageSeverities)
	case kindDockerfile:
		return slices.Clone(dockerfileInstructions)
	}
	return nil
}

// usable asks Validate whether the criterion, with value, is valid in a
// policy of kind u: alone in a section, or beside the criterion every
// section of that kind needs (a runtime or audit-log one).
func usable(f *Field, u Usage, value string) bool {
	g := PolicyGroup{FieldName: f.Name, Values: []PolicyValue{{Value: value}}}
	candidates := [][]PolicyGroup{{g}}
	switch u.EventSource {
	case EventSourceDeployment:
		if f.Name != "Process Name" {
			candidates = append(candidates, []PolicyGroup{g, {FieldName: "Process Name", Values: []PolicyValue{{Value: "sh"}}}})
		}
	case EventSourceAuditLog:
		if f.Name != "Kubernetes API Verb" {
			candidates = append(candidates, []PolicyGroup{g, {FieldName: "Kubernetes API Verb", Values: []PolicyValue{{Value: "GET"}}}})
		}
	}
	for _, groups := range candidates {
		p := &Policy{
			Name: "probe", Severity: SeverityLow, LifecycleStages: []LifecycleStage{u.Stage}, EventSource: u.EventSource,
			PolicySections: []PolicySection{{PolicyGroups: groups}},
		}
		if Validate(p) == nil {
			return true
		}
	}
	return false
}

// criterionText is what a person reads about a criterion.
type criterionText struct {
	description string
	unit        string // numbers: what the number counts
	example     string // a valid value
}

// criterionTexts describes every criterion, keyed by its name as in
// Fields(). TestEveryCriterionDescribed keeps the two in step.
func criterionTexts() map[string]criterionText {
	return map[string]criterionText{
		// Deployment criteria.
		"Add Capabilities":                {description: "A Linux capability a container adds (`securityContext.capabilities.add`), upper-cased and without the `CAP_` prefix.", example: "SYS_ADMIN"},
		"Allow Privilege Escalation":      {description: "Whether a container may gain more privileges than its parent process (`securityContext.allowPrivilegeEscalation`). Kubernetes' default is `true`, and it is always `true` for a privileged container or one that adds `SYS_ADMIN`.", example: "true"},
		"AppArmor Profile":                {description: "A container's AppArmor profile in annotation form (`runtime/default`, `localhost/NAME`, `unconfined`), from `securityContext.appArmorProfile` or the legacy annotation; empty when unset.", example: "unconfined"},
		"Automount Service Account Token": {description: "Whether the pod mounts its service account's API token: the pod's `automountServiceAccountToken`, else the service account's (when it is among the inputs), else `true`.", example: "true"},
		"Container CPU Limit":             {description: "A container's CPU limit; `0` when unset.", unit: "cores (`500m` in a manifest is `0.5`)", example: "0"},
		"Container CPU Request":           {description: "A container's CPU request; the limit when only the limit is set, `0` when neither is.", unit: "cores (`500m` in a manifest is `0.5`)", example: "> 2"},
		"Container Memory Limit":          {description: "A container's memory limit; `0` when unset.", unit: "MB of 10^6 bytes (`512Mi` in a manifest is about `536.9`)", example: "0"},
		"Container Memory Request":        {description: "A container's memory request; the limit when only the limit is set, `0` when neither is.", unit: "MB of 10^6 bytes (`512Mi` in a manifest is about `536.9`)", example: ">= 4096"},
		"Container Name":                  {description: "A container's name. Init containers are included.", example: "debug-.*"},
		"Disallowed Annotation":           {description: "Violated when the workload has an annotation matching `key=value`.", example: `admission\.stockade\.io/break-glass=`},
		"Drop Capabilities":               {description: "Violated when a container does not drop the given capabilities (`securityContext.capabilities.drop`). Dropping `ALL` drops every capability. With AND, every value must be dropped.", example: "ALL"},
		"Environment Variable":            {description: "A container's environment variable, by where its value comes from, its name and its value. A value is known, and matched, only for `RAW` variables (a literal `value:` in the manifest); a secret's value is never read.", example: "RAW=.*PASSWORD.*="},
		"Exposed Node Port":               {description: "The node port through which a NodePort or LoadBalancer Service exposes a container port (the host port for a `hostPort`); `0` when there is none.", unit: "a port number", example: "> 0"},
		"Exposed Port":                    {description: "A container port, declared in the container or targeted by a Service.", unit: "a port number", example: "22"},
		"Exposed Port Protocol":           {description: "The protocol of a container port: `TCP`, `UDP` or `SCTP`.", example: "UDP"},
		"Has Egress Network Policy":       {description: "Whether a NetworkPolicy among the inputs restricts the egress of the workload's pods.", example: "false"},
		"Has Ingress Network Policy":      {description: "Whether a NetworkPolicy among the inputs restricts the ingress of the workload's pods.", example: "false"},
		"Host IPC":                        {description: "Whether the pod shares the node's IPC namespace (`hostIPC`).", example: "true"},
		"Host Network":                    {description: "Whether the pod uses the node's network namespace (`hostNetwork`).", example: "true"},
		"Host PID":                        {description: "Whether the pod shares the node's process namespace (`hostPID`).", example: "true"},
		"Image Registry":                  {description: "The registry of a container's image; `docker.io` when the image names none.", example: "docker.io"},
		"Image Remote":                    {description: "The repository path of a container's image, without registry and tag (`library/nginx` for `nginx:1.27`).", example: ".*/nginx"},
		"Image Tag":                       {description: "The tag of a container's image: `latest` when neither a tag nor a digest is given, empty when only a digest is.", example: "latest"},
		"Liveness Probe Defined":          {description: "Whether a container has a liveness probe. Init containers, which cannot have probes, never match.", example: "false"},
		"Minimum RBAC Permissions":        {description: "Violated when the workload's service account has at least this level of Kubernetes API permissions, from the Roles, ClusterRoles and bindings among the inputs.", example: "ELEVATED_CLUSTER_WIDE"},
		"Mount Propagation":               {description: "The mount propagation of a volume mount (`mountPropagation`); `NONE` when unset.", example: "BIDIRECTIONAL"},
		"Namespace":                       {description: "The workload's namespace.", example: "default"},
		"Port Exposure Method":            {description: "How a container port is reachable: `INTERNAL` (ClusterIP Service), `HOST` (`hostPort`), `NODE` (NodePort Service), `EXTERNAL` (LoadBalancer Service or Ingress), `ROUTE` (OpenShift Route), or `UNSET` when nothing exposes it.", example: "EXTERNAL"},
		"Privileged Container":            {description: "Whether a container runs in privileged mode (`securityContext.privileged`).", example: "true"},
		"Read-Only Root Filesystem":       {description: "Whether a container's root filesystem is read-only (`securityContext.readOnlyRootFilesystem`).", example: "false"},
		"Readiness Probe Defined":         {description: "Whether a container has a readiness probe. Init containers, which cannot have probes, never match.", example: "false"},
		"Replicas":                        {description: "The workload's number of replicas.", unit: "a count", example: "< 2"},
		"Required Annotation":             {description: "Violated when the workload has no annotation matching `key=value`; with AND, when any one of the pairs is missing.", example: "owner=.+"},
		"Required Label":                  {description: "Violated when the workload has no label matching `key=value`; with AND, when any one of the pairs is missing.", example: `app\.kubernetes\.io/name=`},
		"Runtime Class":                   {description: "The pod's `runtimeClassName`; empty when unset.", example: "gvisor"},
		"Seccomp Profile Type":            {description: "A container's seccomp profile type: its own `securityContext.seccompProfile`, else the pod's, else the legacy annotations; `UNCONFINED` when none is set.", example: "UNCONFINED"},
		"Service Account":                 {description: "The pod's service account; `default` when unset.", example: "default"},
		"Volume Destination":              {description: "Where a volume is mounted in a container (`mountPath`).", example: "/var/run/docker.sock"},
		"Volume Name":                     {description: "The name of a volume a container mounts.", example: "docker-socket"},
		"Volume Source":                   {description: "What a mounted volume points at: the host path, the secret, config map or claim name, or NFS `server:path`; empty for an emptyDir.", example: "/proc(/.*)?"},
		"Volume Type":                     {description: "The kind of a mounted volume as the pod spec names it, capitalised: `HostPath`, `Secret`, `ConfigMap`, `EmptyDir`, `PersistentVolumeClaim`, `Projected`, `NFS`, ….", example: "HostPath"},
		"Writable Host Mount":             {description: "Whether a container mounts a `hostPath` volume read-write.", example: "true"},
		"Writable Mounted Volume":         {description: "Whether a container mounts a volume read-write.", example: "true"},

		// Image criteria.
		"CVE":                          {description: "The ID of a vulnerability found in the image, or one of its aliases (a GHSA or a distribution's advisory ID).", example: "CVE-2021-44228"},
		"CVSS":                         {description: "The CVSS score of a vulnerability found in the image; a vulnerability without a score never matches.", unit: "a score from 0 to 10", example: ">= 7"},
		"NVD CVSS":                     {description: "The CVSS score the NVD gives a vulnerability found in the image; a vulnerability without an NVD score never matches.", unit: "a score from 0 to 10", example: ">= 9"},
		"Severity":                     {description: "The severity of a vulnerability found in the image.", example: ">= IMPORTANT"},
		"Fixed By":                     {description: "The version of a component that fixes a vulnerability found in the image; a vulnerability without a fix never matches, not even `.*`.", example: `2\.17\..*`},
		"Fixable":                      {description: "Whether a vulnerability found in the image has a fixed version.", example: "true"},
		"Days Since CVE Was Published": {description: "The age of a vulnerability found in the image, from its publication.", example: "> 30"},
		"Days Since CVE Was First Discovered In Image":  {description: "The time since a vulnerability was first found in this image.", example: "> 30"},
		"Days Since CVE Was First Discovered In System": {description: "The time since a vulnerability was first found in any image Stockade knows.", example: "> 30"},
		"Dockerfile Line":             {description: "A line of the image's build history: a Dockerfile instruction and its arguments.", example: "USER=root"},
		"Image Age":                   {description: "The time since the image was created.", example: "> 90"},
		"Image Component":             {description: "A package found in the image, as `name=version`; the version may be left out.", example: `log4j-core=2\.1[0-4]\..*`},
		"Image OS":                    {description: "The operating system of the image as `ID:VERSION` from its os-release file, such as `debian:12` or `alpine:3.20`.", example: "ubuntu:18.04"},
		"Image Scan Age":              {description: "The time since the image was last scanned.", example: "> 7"},
		"Image User":                  {description: "The user the image's configuration runs as (`USER`), `root` when it sets none; `0` and `root` match each other.", example: "root|0"},
		"Required Image Label":        {description: "Violated when the image has no label matching `key=value`.", example: `org\.opencontainers\.image\.source=`},
		"Disallowed Image Label":      {description: "Violated when the image has a label matching `key=value`.", example: "deprecated=true"},
		"Unscanned Image":             {description: "Whether the image has not been scanned. An unscanned image matches no other image criterion.", example: "true"},
		"Image Signature Verified By": {description: "The ID of a signature integration; violated when none of the given integrations verifies the image's signature.", example: "io.stackrox.signatureintegration.12377a62-e9c1-4c39-b9d1-a2ab12e5d5c8"},

		// Runtime criteria.
		"Process Name":                     {description: "The executable name of a process started in a container.", example: "nc|ncat|nmap"},
		"Process Ancestor":                 {description: "The executable name of an ancestor of a process started in a container.", example: "java"},
		"Process Arguments":                {description: "The command-line arguments of a process started in a container.", example: ".*/dev/tcp/.*"},
		"Process UID":                      {description: "The user ID a process runs as.", unit: "a user ID", example: "0"},
		"Unexpected Process Executed":      {description: "Whether a process outside the deployment's learned process baseline ran.", example: "true"},
		"Unexpected Network Flow Detected": {description: "Whether a network connection outside the deployment's learned network baseline was seen.", example: "true"},
		"Kubernetes Resource":              {description: "The resource of a Kubernetes API event: with `DEPLOYMENT_EVENT`, an exec, attach or port-forward into a pod (`PODS_EXEC`, `PODS_ATTACH`, `PODS_PORTFORWARD`); with `AUDIT_LOG_EVENT`, the resource of an audited request.", example: "PODS_EXEC"},
		"Kubernetes User Name":             {description: "The user who made a Kubernetes API request.", example: "system:anonymous"},
		"Kubernetes User Groups":           {description: "A group of the user who made a Kubernetes API request.", example: "system:unauthenticated"},

		// Audit-log criteria.
		"Kubernetes API Verb":      {description: "The verb of an audited Kubernetes API request.", example: "GET"},
		"Kubernetes Resource Name": {description: "The name of the object an audited request concerns.", example: "db-credentials"},
		"User Agent":               {description: "The user agent of an audited request.", example: "curl/.*"},
		"Source IP Address":        {description: "The source IP address of an audited request.", example: `203\.0\.113\..*`},
		"Is Impersonated User":     {description: "Whether an audited request was made by impersonating another user.", example: "true"},
	}
}
