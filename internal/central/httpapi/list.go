package httpapi

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ListQuery is what a list endpoint that pages in memory takes: words to
// search, a sort key (a leading "-" reverses it), and a page.
type ListQuery struct {
	// Words are the lower-cased words of the query parameter; an item
	// matches when every word is in one of its searched fields.
	Words  []string
	Sort   string
	Desc   bool
	Offset int
	// Limit 0 means every item after Offset.
	Limit int
}

// ParseListQuery reads query, sort, offset and limit. sorts are the sort
// keys the list knows (the first is the default); a bad value is a 400
// naming the parameter.
func ParseListQuery(v url.Values, sorts []string, maxLimit int) (ListQuery, error) {
	q := ListQuery{Words: strings.Fields(strings.ToLower(v.Get("query"))), Sort: sorts[0]}
	if s := strings.TrimSpace(v.Get("sort")); s != "" {
		key, desc := strings.CutPrefix(s, "-")
		if !slices.Contains(sorts, key) {
			return q, Invalid("bad query parameter", Detail{Path: "sort",
				Message: "want " + strings.Join(sorts, ", ") + ", optionally preceded by - to reverse, got " + strconv.Quote(s)})
		}
		q.Sort, q.Desc = key, desc
	}
	for name, dst := range map[string]*int{"offset": &q.Offset, "limit": &q.Limit} {
		raw := v.Get(name)
		if raw == "" {
			continue
		}
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return q, Invalid("bad query parameter", Detail{Path: name, Message: "want a whole number ≥ 0, got " + strconv.Quote(raw)})
		}
		*dst = n
	}
	if q.Limit > maxLimit {
		return q, Invalid("bad query parameter", Detail{Path: "limit", Message: "want 1 to " + strconv.Itoa(maxLimit)})
	}
	return q, nil
}

// Matches reports whether every query word is in one of fields.
func (q ListQuery) Matches(fields ...string) bool {
	for _, w := range q.Words {
		found := false
		for _, f := range fields {
			if strings.Contains(strings.ToLower(f), w) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// SortAndPage sorts items by the sort key's order by (reversed when
// q.Desc), ties by tie (never reversed), and returns q's page of them.
func SortAndPage[T any](items []T, q ListQuery, by, tie func(a, b T) int) []T {
	slices.SortStableFunc(items, func(a, b T) int {
		c := by(a, b)
		if q.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return tie(a, b)
	})
	items = items[min(q.Offset, len(items)):]
	if q.Limit > 0 && len(items) > q.Limit {
		items = items[:q.Limit]
	}
	return items
}
