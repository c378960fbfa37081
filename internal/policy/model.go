package policy

// Policy is one security policy in the ACS policy JSON schema, so that policies
// exported from ACS import unchanged and ours export in a form ACS reads. Field
// order and names follow ACS; zero values are omitted on export.
type Policy struct {
	ID                 string              `json:"id,omitempty" yaml:"id,omitempty"`
	Name               string              `json:"name" yaml:"name"`
	Description        string              `json:"description,omitempty" yaml:"description,omitempty"`
	Rationale          string              `json:"rationale,omitempty" yaml:"rationale,omitempty"`
	Remediation        string              `json:"remediation,omitempty" yaml:"remediation,omitempty"`
	Disabled           bool                `json:"disabled,omitempty" yaml:"disabled,omitempty"`
	Categories         []string            `json:"categories,omitempty" yaml:"categories,omitempty"`
	LifecycleStages    []LifecycleStage    `json:"lifecycleStages,omitempty" yaml:"lifecycleStages,omitempty"`
	EventSource        EventSource         `json:"eventSource,omitempty" yaml:"eventSource,omitempty"`
	Exclusions         []Exclusion         `json:"exclusions,omitempty" yaml:"exclusions,omitempty"`
	Scope              []Scope             `json:"scope,omitempty" yaml:"scope,omitempty"`
	Severity           Severity            `json:"severity,omitempty" yaml:"severity,omitempty"`
	EnforcementActions []EnforcementAction `json:"enforcementActions,omitempty" yaml:"enforcementActions,omitempty"`
	Notifiers          []string            `json:"notifiers,omitempty" yaml:"notifiers,omitempty"`
	LastUpdated        string              `json:"lastUpdated,omitempty" yaml:"lastUpdated,omitempty"`
	SORTName           string              `json:"SORTName,omitempty" yaml:"SORTName,omitempty"`
	SORTLifecycleStage string              `json:"SORTLifecycleStage,omitempty" yaml:"SORTLifecycleStage,omitempty"`
	SORTEnforcement    bool                `json:"SORTEnforcement,omitempty" yaml:"SORTEnforcement,omitempty"`
	PolicyVersion      string              `json:"policyVersion,omitempty" yaml:"policyVersion,omitempty"`
	PolicySections     []PolicySection     `json:"policySections" yaml:"policySections"`
	MitreAttackVectors []MitreAttackVector `json:"mitreAttackVectors,omitempty" yaml:"mitreAttackVectors,omitempty"`
	CriteriaLocked     bool                `json:"criteriaLocked,omitempty" yaml:"criteriaLocked,omitempty"`
	MitreVectorsLocked bool                `json:"mitreVectorsLocked,omitempty" yaml:"mitreVectorsLocked,omitempty"`
	IsDefault          bool                `json:"isDefault,omitempty" yaml:"isDefault,omitempty"`
	Source             string              `json:"source,omitempty" yaml:"source,omitempty"`
}

// LifecycleStage is when a policy applies.
type LifecycleStage string

// Lifecycle stages.
const (
	StageBuild   LifecycleStage = "BUILD"
	StageDeploy  LifecycleStage = "DEPLOY"
	StageRuntime LifecycleStage = "RUNTIME"
)

// EventSource is the kind of runtime event a RUNTIME policy watches.
type EventSource string

// Event sources.
const (
	EventSourceNone       EventSource = "NOT_APPLICABLE"
	EventSourceDeployment EventSource = "DEPLOYMENT_EVENT"
	EventSourceAuditLog   EventSource = "AUDIT_LOG_EVENT"
)

// Severity of a policy, with ACS's names.
type Severity string

// Severities, lowest first.
const (
	SeverityLow      Severity = "LOW_SEVERITY"
	SeverityMedium   Severity = "MEDIUM_SEVERITY"
	SeverityHigh     Severity = "HIGH_SEVERITY"
	SeverityCritical Severity = "CRITICAL_SEVERITY"
)

// Rank orders severities (LOW=1 … CRITICAL=4, unknown=0).
func (s Severity) Rank() int {
	switch s {
	case SeverityLow:
		return 1
	case SeverityMedium:
		return 2
	case SeverityHigh:
		return 3
	case SeverityCritical:
		return 4
	}
	return 0
}

// Short is the severity's short name used in reports: LOW, MEDIUM, HIGH, CRITICAL.
func (s Severity) Short() string {
	switch s {
	case SeverityLow:
		return "LOW"
	case SeverityMedium:
		return "MEDIUM"
	case SeverityHigh:
		return "HIGH"
	case SeverityCritical:
		return "CRITICAL"
	}
	return string(s)
}

// EnforcementAction is what Stockade does when a policy is violated.
type EnforcementAction string

// Enforcement actions, with the stage each belongs to.
const (
	EnforceFailBuild            EnforcementAction = "FAIL_BUILD_ENFORCEMENT"                    // BUILD
	EnforceScaleToZero          EnforcementAction = "SCALE_TO_ZERO_ENFORCEMENT"                 // DEPLOY
	EnforceUnsatisfiableNode    EnforcementAction = "UNSATISFIABLE_NODE_CONSTRAINT_ENFORCEMENT" // DEPLOY
	EnforceFailKubeRequest      EnforcementAction = "FAIL_KUBE_REQUEST_ENFORCEMENT"             // RUNTIME (audit log)
	EnforceKillPod              EnforcementAction = "KILL_POD_ENFORCEMENT"                      // RUNTIME
	EnforceFailDeploymentCreate EnforcementAction = "FAIL_DEPLOYMENT_CREATE_ENFORCEMENT"        // DEPLOY (admission)
	EnforceFailDeploymentUpdate EnforcementAction = "FAIL_DEPLOYMENT_UPDATE_ENFORCEMENT"        // DEPLOY (admission)
	EnforceUnset                EnforcementAction = "UNSET_ENFORCEMENT"
)

// Scope limits where a policy applies (or, inside an exclusion, where it does not).
// Empty fields match everything.
type Scope struct {
	Cluster   string      `json:"cluster,omitempty" yaml:"cluster,omitempty"`
	Namespace string      `json:"namespace,omitempty" yaml:"namespace,omitempty"` // a regular expression, as in ACS
	Label     *ScopeLabel `json:"label,omitempty" yaml:"label,omitempty"`
}

// ScopeLabel is a label key and value (both regular expressions).
type ScopeLabel struct {
	Key   string `json:"key" yaml:"key"`
	Value string `json:"value,omitempty" yaml:"value,omitempty"`
}

// Exclusion exempts deployments or images from a policy, optionally until a time.
type Exclusion struct {
	Name       string               `json:"name,omitempty" yaml:"name,omitempty"`
	Deployment *ExclusionDeployment `json:"deployment,omitempty" yaml:"deployment,omitempty"`
	Image      *ExclusionImage      `json:"image,omitempty" yaml:"image,omitempty"`
	Expiration string               `json:"expiration,omitempty" yaml:"expiration,omitempty"` // RFC 3339
}

// ExclusionDeployment names a deployment (exact name; empty = any) within a scope.
type ExclusionDeployment struct {
	Name  string `json:"name,omitempty" yaml:"name,omitempty"`
	Scope *Scope `json:"scope,omitempty" yaml:"scope,omitempty"`
}

// ExclusionImage names an image by its full name (a prefix match, as in ACS).
type ExclusionImage struct {
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
}

// PolicySection is one alternative of a policy: its groups are AND'ed; the
// policy's sections are OR'ed.
type PolicySection struct {
	SectionName  string        `json:"sectionName,omitempty" yaml:"sectionName,omitempty"`
	PolicyGroups []PolicyGroup `json:"policyGroups" yaml:"policyGroups"`
}

// PolicyGroup is one criterion: a field, its values (OR'ed, or AND'ed when
// BooleanOperator is "AND"), and an optional negation.
type PolicyGroup struct {
	FieldName       string        `json:"fieldName" yaml:"fieldName"`
	BooleanOperator string        `json:"booleanOperator,omitempty" yaml:"booleanOperator,omitempty"`
	Negate          bool          `json:"negate,omitempty" yaml:"negate,omitempty"`
	Values          []PolicyValue `json:"values" yaml:"values"`
}

// PolicyValue is one value of a criterion, in the field's value syntax.
type PolicyValue struct {
	Value string `json:"value" yaml:"value"`
}

// MitreAttackVector is a MITRE ATT&CK tactic with techniques.
type MitreAttackVector struct {
	Tactic     string   `json:"tactic" yaml:"tactic"`
	Techniques []string `json:"techniques,omitempty" yaml:"techniques,omitempty"`
}
