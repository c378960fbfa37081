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

var cvssWeights = map[string]map[string]float64{
	"AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
	"AC": {"L": 0.77, "H": 0.44},
	"PR": {"N": 0.85, "L": 0.62, "H": 0.27}, // L and H change when scope changes
	"UI": {"N": 0.85, "R": 0.62},
	"S":  {"U": 0, "C": 0},
	"C":  {"H": 0.56, "L": 0.22, "N": 0},
	"I":  {"H": 0.56, "L": 0.22, "N": 0},
	"A":  {"H": 0.56, "L": 0.22, "N": 0},
}

// cvssOptional are the temporal and environmental metrics a vector may
// carry; they do not change the base score but must be well-formed.
var cvssOptional = map[string]string{
	"E": "XUPFH", "RL": "XOTWU", "RC": "XURC",
	"CR": "XLMH", "IR": "XLMH", "AR": "XLMH",
	"MAV": "XNALP", "MAC": "XLH", "MPR": "XNLH", "MUI": "XNR", "MS": "XUC",
	"MC": "XNLH", "MI": "XNLH", "MA": "XNLH",
}

// CVSSScore computes the CVSS v3.0 or v3.1 base score of a vector such as
// "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H" (9.8).
func CVSSScore(vector string) (float64, error) {
	version, m, err := parseCVSS(vector)
	if err != nil {
		return 0, err
	}
	changed := m["S"] == "C"
	pr := cvssWeights["PR"][m["PR"]]
	if changed {
		switch m["PR"] {
		case "L":
			pr = 0.68
		case "H":
			pr = 0.5
		}
	}
	iss := 1 - (1-cvssWeights["C"][m["C"]])*(1-cvssWeights["I"][m["I"]])*(1-cvssWeights["A"][m["A"]])
	var impact float64
	if changed {
		impact = 7.52*(iss-0.029) - 3.25*math.Pow(iss-0.02, 15)
	} else {
		impact = 6.42 * iss
	}
	exploitability := 8.22 * cvssWeights["AV"][m["AV"]] * cvssWeights["AC"][m["AC"]] * pr * cvssWeights["UI"][m["UI"]]
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
		if w, ok := cvssWeights[k]; ok {
			if _, ok := w[v]; !ok {
				return "", nil, fmt.Errorf("cvss vector %q: %s:%s is not a valid value", vector, k, v)
			}
		} else if allowed, ok := cvssOptional[k]; ok {
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
