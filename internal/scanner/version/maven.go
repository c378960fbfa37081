package version

import (
	"errors"
	"strings"
)

// Maven versions are ordered by the rules of Maven's ComparableVersion as
// maven-artifact 3.8.7 implements them (checked against that jar in the
// tests): the version is split at '.', '-' and at every switch between
// digits and letters; '-', a switch, and a qualifier that is not the first
// item open a nested list (so "1.0.RC1" = "1.0-RC1"). Numbers compare as
// numbers; qualifiers rank alpha < beta < milestone < rc = cr < snapshot <
// "" = ga = final = release < sp < any other qualifier (those among
// themselves alphabetically), and "a1", "b1", "m1" mean alpha-1, beta-1,
// milestone-1; a number beats a qualifier and a nested list; trailing
// "null" items (0, "", ga, final, release, empty lists) are dropped from
// each list, which is why 1 = 1.0 = 1-0 = 1.0.0-ga.
//
// Any string is a Maven version; only the empty string is rejected. Letters
// are ASCII: other bytes are compared as they are.

type mvnKind uint8

const (
	mvnNumber mvnKind = iota
	mvnQualifier
	mvnList
)

type mvnItem struct {
	kind  mvnKind
	num   string // digits without leading zeros ("" is 0)
	qual  string // qualifier after aliasing, unknown ones only matter
	rank  int    // qualifier rank, mvnUnknownRank for unknown ones
	items []*mvnItem
}

const (
	mvnReleaseRank = 5
	mvnUnknownRank = 7
)

func mvnQualifierRank(q string) int {
	switch q {
	case "alpha":
		return 0
	case "beta":
		return 1
	case "milestone":
		return 2
	case "rc", "cr":
		return 3
	case "snapshot":
		return 4
	case "", "ga", "final", "release":
		return mvnReleaseRank
	case "sp":
		return 6
	}
	return mvnUnknownRank
}

func newMvnQualifier(s string, followedByDigit bool) *mvnItem {
	if followedByDigit && len(s) == 1 {
		switch s {
		case "a":
			s = "alpha"
		case "b":
			s = "beta"
		case "m":
			s = "milestone"
		}
	}
	return &mvnItem{kind: mvnQualifier, qual: s, rank: mvnQualifierRank(s)}
}

func newMvnNumber(s string) *mvnItem {
	return &mvnItem{kind: mvnNumber, num: trimZeros(s)}
}

func (it *mvnItem) isNull() bool {
	switch it.kind {
	case mvnNumber:
		return it.num == ""
	case mvnQualifier:
		return it.rank == mvnReleaseRank
	}
	return len(it.items) == 0
}

// normalize drops trailing null items, looking through nested lists that
// are not themselves null (they stay).
func (it *mvnItem) normalize() {
	for i := len(it.items) - 1; i >= 0; i-- {
		last := it.items[i]
		if last.isNull() {
			it.items = append(it.items[:i], it.items[i+1:]...)
		} else if last.kind != mvnList {
			break
		}
	}
}

func parseMaven(v string) (*mvnItem, error) {
	if v == "" {
		return nil, errors.New("empty version")
	}
	v = asciiLower(v)
	root := &mvnItem{kind: mvnList}
	list := root
	stack := []*mvnItem{root}
	descend := func() {
		child := &mvnItem{kind: mvnList}
		list.items = append(list.items, child)
		list = child
		stack = append(stack, child)
	}
	digit := false
	start := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '.' || c == '-':
			if i == start {
				list.items = append(list.items, &mvnItem{kind: mvnNumber})
			} else {
				list.items = append(list.items, mvnParseItem(digit, v[start:i]))
			}
			start = i + 1
			if c == '-' {
				descend()
			}
		case isDigit(c):
			if !digit && i > start {
				if len(list.items) > 0 {
					descend()
				}
				list.items = append(list.items, newMvnQualifier(v[start:i], true))
				start = i
				descend()
			}
			digit = true
		default:
			if digit && i > start {
				list.items = append(list.items, newMvnNumber(v[start:i]))
				start = i
				descend()
			}
			digit = false
		}
	}
	if len(v) > start {
		if !digit && len(list.items) > 0 {
			descend()
		}
		list.items = append(list.items, mvnParseItem(digit, v[start:]))
	}
	for i := len(stack) - 1; i >= 0; i-- {
		stack[i].normalize()
	}
	return root, nil
}

func mvnParseItem(digit bool, s string) *mvnItem {
	if digit {
		return newMvnNumber(s)
	}
	return newMvnQualifier(s, false)
}

// mvnCompare compares a with b; b may be nil, meaning "nothing here", which
// is how a shorter list is padded.
func mvnCompare(a, b *mvnItem) int {
	switch a.kind {
	case mvnNumber:
		if b == nil {
			if a.num == "" {
				return 0
			}
			return 1
		}
		if b.kind == mvnNumber {
			return compareDigits(a.num, b.num)
		}
		return 1
	case mvnQualifier:
		if b == nil {
			return sign(a.rank - mvnReleaseRank)
		}
		if b.kind != mvnQualifier {
			return -1
		}
		if a.rank != b.rank {
			return sign(a.rank - b.rank)
		}
		if a.rank == mvnUnknownRank {
			return strings.Compare(a.qual, b.qual)
		}
		return 0
	}
	if b == nil {
		for _, it := range a.items {
			if c := mvnCompare(it, nil); c != 0 {
				return c
			}
		}
		return 0
	}
	switch b.kind {
	case mvnNumber:
		return -1
	case mvnQualifier:
		return 1
	}
	for i := 0; i < len(a.items) || i < len(b.items); i++ {
		var c int
		switch {
		case i >= len(a.items):
			c = -mvnCompare(b.items[i], nil)
		case i >= len(b.items):
			c = mvnCompare(a.items[i], nil)
		default:
			c = mvnCompare(a.items[i], b.items[i])
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

func compareMaven(a, b string) (int, error) {
	ia, err := parseMaven(a)
	if err != nil {
		return 0, invalid(Maven, a, err)
	}
	ib, err := parseMaven(b)
	if err != nil {
		return 0, invalid(Maven, b, err)
	}
	return mvnCompare(ia, ib), nil
}

func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
