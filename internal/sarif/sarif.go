// Package sarif holds the parts of SARIF 2.1.0 (the Static Analysis Results
// Interchange Format that GitHub code scanning and other CI systems read)
// that Stockade's reports write: one run of one tool with rules and results.
package sarif

// Schema and Version identify SARIF 2.1.0 in a log.
const (
	Schema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	Version = "2.1.0"
)

// Log is a SARIF log.
type Log struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []Run  `json:"runs"`
}

// Run is one tool's run.
type Run struct {
	Tool       Tool              `json:"tool"`
	Results    []Result          `json:"results"`
	Properties map[string]string `json:"properties,omitempty"`
}

// Tool names the tool.
type Tool struct {
	Driver Driver `json:"driver"`
}

// Driver is the tool's main component and its rules.
type Driver struct {
	Name           string `json:"name"`
	InformationURI string `json:"informationUri,omitempty"`
	Version        string `json:"version,omitempty"`
	Rules          []Rule `json:"rules"`
}

// Rule is what a result can violate: a policy, a vulnerability.
type Rule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name,omitempty"`
	ShortDescription     Text           `json:"shortDescription"`
	Help                 *Text          `json:"help,omitempty"`
	HelpURI              string         `json:"helpUri,omitempty"`
	DefaultConfiguration Configuration  `json:"defaultConfiguration"`
	Properties           RuleProperties `json:"properties"`
}

// Text is a plain-text message.
type Text struct {
	Text string `json:"text"`
}

// Configuration is a rule's default reporting level.
type Configuration struct {
	Level string `json:"level"` // error, warning, note
}

// RuleProperties are the properties code scanning ranks and filters by.
type RuleProperties struct {
	Severity string `json:"severity"`
	// SecuritySeverity is the numeric score (0–10) GitHub ranks results by.
	SecuritySeverity string   `json:"security-severity,omitempty"`
	Tags             []string `json:"tags,omitempty"`
}

// Result is one finding.
type Result struct {
	RuleID    string     `json:"ruleId"`
	RuleIndex int        `json:"ruleIndex"`
	Level     string     `json:"level"`
	Message   Text       `json:"message"`
	Locations []Location `json:"locations,omitempty"`
}

// Location says where a result is.
type Location struct {
	PhysicalLocation PhysicalLocation  `json:"physicalLocation"`
	LogicalLocations []LogicalLocation `json:"logicalLocations,omitempty"`
}

// PhysicalLocation is a file and, when known, a line.
type PhysicalLocation struct {
	ArtifactLocation ArtifactLocation `json:"artifactLocation"`
	Region           *Region          `json:"region,omitempty"`
}

// ArtifactLocation is a file by URI (relative to the repository root where possible).
type ArtifactLocation struct {
	URI string `json:"uri"`
}

// Region is a place inside a file.
type Region struct {
	StartLine int `json:"startLine"`
}

// LogicalLocation names a thing rather than a file: an image, a package.
type LogicalLocation struct {
	Name               string `json:"name"`
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}
