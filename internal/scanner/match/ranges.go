package match

import (
	"fmt"
	"slices"

	"github.com/stockade-dev/stockade/internal/scanner/version"
	"github.com/stockade-dev/stockade/internal/scanner/vulndb"
)

// verdict is what one affected entry says about an installed version.
type verdict struct {
	affected bool
	// fixedBy is the smallest fixed version above the installed one among
	// the ranges that include it; empty when none of them has a fix.
	fixedBy string
}

// evaluate applies an OSV affected entry to an installed version: affected
// when any SEMVER or ECOSYSTEM range includes it or the versions list names
// it (GIT ranges are ignored: they need commits, not versions). eco is the
// scheme of ECOSYSTEM ranges, semver that of SEMVER ranges. A range whose
// versions do not parse is skipped and reported in the error, which does
// not stop the other ranges from counting.
func evaluate(eco, semver version.Scheme, installed string, a *vulndb.Affected) (verdict, error) {
	var v verdict
	var firstErr error
	for i := range a.Ranges {
		r := &a.Ranges[i]
		var s version.Scheme
		switch r.Type {
		case "ECOSYSTEM":
			s = eco
		case "SEMVER":
			s = semver
		default:
			continue
		}
		in, fix, err := includes(s, installed, r.Events)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("%s range %d: %w", r.Type, i, err)
			}
			continue
		}
		if !in {
			continue
		}
		v.affected = true
		if fix != "" && (v.fixedBy == "" || less(s, fix, v.fixedBy)) {
			v.fixedBy = fix
		}
	}
	if !v.affected {
		for _, listed := range a.Versions {
			if listed == installed {
				v.affected = true
				break
			}
			if c, err := eco.Compare(listed, installed); err == nil && c == 0 {
				v.affected = true
				break
			}
		}
	}
	return v, firstErr
}

func less(s version.Scheme, a, b string) bool {
	c, err := s.Compare(a, b)
	return err == nil && c < 0
}

// event is one range boundary with its kind.
type event struct {
	kind  int // evIntroduced, evFixed, evLastAffected
	value string
}

const (
	evIntroduced = iota
	evFixed
	evLastAffected
)

// includes evaluates one range as the OSV specification does: the events
// sorted by version in the scheme's order (introduced "0" first; on equal
// versions an introduction comes first, so introduced X / fixed X is an
// empty range), then walked: an introduction at or below the version turns
// it affected, a fix at or below it or a last_affected below it turns it
// unaffected. Limit events bound the range from above (exclusive). fix is
// the smallest fixed version above the installed one.
func includes(s version.Scheme, installed string, events []vulndb.Event) (in bool, fix string, err error) {
	evs := make([]event, 0, len(events))
	var limits []string
	for _, e := range events {
		switch {
		case e.Introduced != "":
			evs = append(evs, event{evIntroduced, e.Introduced})
		case e.Fixed != "":
			evs = append(evs, event{evFixed, e.Fixed})
		case e.LastAffected != "":
			evs = append(evs, event{evLastAffected, e.LastAffected})
		case e.Limit != "":
			limits = append(limits, e.Limit)
		}
	}
	var sortErr error
	slices.SortStableFunc(evs, func(a, b event) int {
		aZero, bZero := a.kind == evIntroduced && a.value == "0", b.kind == evIntroduced && b.value == "0"
		switch {
		case aZero && bZero:
			return 0
		case aZero:
			return -1
		case bZero:
			return 1
		}
		c, err := s.Compare(a.value, b.value)
		if err != nil {
			sortErr = err
			return 0
		}
		if c == 0 {
			return a.kind - b.kind
		}
		return c
	})
	if sortErr != nil {
		return false, "", sortErr
	}
	if len(limits) > 0 {
		below := false
		for _, l := range limits {
			if l == "*" {
				below = true
				break
			}
			c, err := s.Compare(installed, l)
			if err != nil {
				return false, "", err
			}
			if c < 0 {
				below = true
				break
			}
		}
		if !below {
			return false, "", nil
		}
	}
	for _, e := range evs {
		if e.kind == evIntroduced && e.value == "0" {
			in = true
			continue
		}
		c, err := s.Compare(installed, e.value)
		if err != nil {
			return false, "", err
		}
		switch e.kind {
		case evIntroduced:
			if c >= 0 {
				in = true
			}
		case evFixed:
			if c >= 0 {
				in = false
			} else if fix == "" {
				// Events are sorted, so the first fix above is the smallest.
				fix = e.value
			}
		case evLastAffected:
			if c > 0 {
				in = false
			}
		}
	}
	if !in {
		fix = ""
	}
	return in, fix, nil
}
