package vulndb

import (
	"fmt"
	"math"
	"strings"
)

// CVSS v3 base score, as the CVSS v3.0 and v3.1 specifications define it
// (https://www.first.org/cvss/v3.1/specification-document, section 7.1).
// The two versions share the formula and weights; they differ only in
// Roundup, which v3.1 redefined to avoid floating-point surprises.

// cvssWeight is the weight of a base metric's value (PR's for an
// unchanged scope; CVSSScore adjusts it when the scope changes).
func cvssWeight(metric, value string) (float64, bool) {
	switch metric + ":" + value {
	case "AV:N":
		return 0.85, true
	case "AV:A":
		return 0.62, true
	case "AV:L":
		return 0.55, true
	case "AV:P":
		return 0.2, true
	case "AC:L":
		return 0.77, true
	case "AC:H":
		return 0.44, true
	case "PR:N", "UI:N":
		return 0.85, true
	case "PR:L", "UI:R":
		return 0.62, true
	case "PR:H":
		return 0.27, true
	case "S:U", "S:C":
		return 0, true
	case "C:H", "I:H", "A:H":
		return 0.56, true
	case "C:L", "I:L", "A:L":
		return 0.22, true
	case "C:N", "I:N", "A:N":
		return 0, true
	}
	return 0, false
}

// isBaseMetric reports whether metric is one of the eight base metrics.
func isBaseMetric(metric string) bool {
	switch metric {
	case "AV", "AC", "PR", "UI", "S", "C", "I", "A":
		return true
	}
	return false
}

// cvssOptionalValues are the values a temporal or environmental metric may
// take; they do not change the base score but must be well-formed.
func cvssOptionalValues(metric string) (string, bool) {
	switch metric {
	case "E":
		return "XUPFH", true
	case "RL":
		return "XOTWU", true
	case "RC":
		return "XURC", true
	case "CR", "IR", "AR":
		return "XLMH", true
	case "MAV":
		return "XNALP", true
	case "MAC":
		return "XLH", true
	case "MPR", "MC", "MI", "MA":
		return "XNLH", true
	case "MUI":
		return "XNR", true
	case "MS":
		return "XUC", true
	}
	return "", false
}

// CVSSScore computes the CVSS v3.0 or v3.1 base score of a vector such as
// "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" (9.8).
func CVSSScore(vector string) (float64, error) {
	version, m, err := parseCVSS(vector)
	if err != nil {
		return 0, err
	}
	w := func(metric string) float64 {
		v, _ := cvssWeight(metric, m[metric]) // parseCVSS checked every value
		return v
	}
	changed := m["S"] == "C"
	pr := w("PR")
	if changed {
		switch m["PR"] {
		case "L":
			pr = 0.68
		case "H":
			pr = 0.5
		}
	}
	iss := 1 - (1-w("C"))*(1-w("I"))*(1-w("A"))
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	exploitability := 8.22 * w("AV") * w("AC") * pr * w("UI")
	if impact <= 0 {
		return 0, nil
	}
	roundup := roundup31
	if version == "3.0" {
		roundup = roundup30
	}
	if changed {
		return roundup(math.Min(1.08*(impact+exploitability), 10)), nil
	}
	return roundup(math.Min(impact+exploitability, 10)), nil
}

// CVSSVersion returns "3.0" or "3.1" for a CVSS v3 vector.
func CVSSVersion(vector string) (string, error) {
	v, _, err := parseCVSS(vector)
	return v, err
}

// roundup31 is Roundup as CVSS v3.1 Appendix A defines it: work in integers
// of 1/100000 so that 4.000000001 (a float artefact of 4.0) is not rounded
// up to 4.1.
func roundup31(x float64) float64 {
	i := int64(math.Round(x * 100000))
	if i%10000 == 0 {
		return float64(i) / 100000
	}
	return float64(i/10000+1) / 10
}

// roundup30 is Roundup as CVSS v3.0 defines it: the smallest number, to
// one decimal place, equal to or higher than its input.
func roundup30(x float64) float64 {
	return math.Ceil(x*10) / 10
}

func parseCVSS(vector string) (string, map[string]string, error) {
	vector = strings.TrimSpace(vector)
	parts := strings.Split(vector, "/")
	var version string
	switch parts[0] {
	case "CVSS:3.1":
		version = "3.1"
	case "CVSS:3.0":
		version = "3.0"
	default:
		if strings.HasPrefix(parts[0], "CVSS:") {
			return "", nil, fmt.Errorf("cvss vector %q: version %s is not CVSS v3", vector, strings.TrimPrefix(parts[0], "CVSS:"))
		}
		return "", nil, fmt.Errorf("cvss vector %q: does not start with CVSS:3.0/ or CVSS:3.1/", vector)
	}
	m := make(map[string]string, 8)
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, ":")
		if !ok || k == "" || v == "" {
			return "", nil, fmt.Errorf("cvss vector %q: malformed metric %q", vector, p)
		}
		if _, dup := m[k]; dup {
			return "", nil, fmt.Errorf("cvss vector %q: metric %s given twice", vector, k)
		}
		if isBaseMetric(k) {
			if _, ok := cvssWeight(k, v); !ok {
				return "", nil, fmt.Errorf("cvss vector %q: %s:%s is not a valid value", vector, k, v)
			}
		} else if allowed, ok := cvssOptionalValues(k); ok {
			if len(v) != 1 || !strings.Contains(allowed, v) {
				return "", nil, fmt.Errorf("cvss vector %q: %s:%s is not a valid value", vector, k, v)
			}
		} else {
			return "", nil, fmt.Errorf("cvss vector %q: unknown metric %s", vector, k)
		}
		m[k] = v
	}
	for _, k := range []string{"AV", "AC", "PR", "UI", "S", "C", "I", "A"} {
		if _, ok := m[k]; !ok {
			return "", nil, fmt.Errorf("cvss vector %q: base metric %s missing", vector, k)
		}
	}
	return version, m, nil
}
