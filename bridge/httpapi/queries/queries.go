// Package queries reads the list parameters of Appwrite's list routes:
// queries[] (the JSON queries the SDKs' Query helpers build, such as
// {"method":"limit","values":[25]}), search and total. Every list route
// (GET /v1/users, GET /v1/users/identities, ...) parses with this one
// package, so they accept and refuse the same things.
package queries

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Limits, as Appwrite applies them.
const (
	DefaultLimit = 25   // rows per page when no limit query is sent
	MaxLimit     = 5000 // largest limit and offset
	MaxQueries   = 100  // queries per request
	MaxQueryLen  = 4096 // characters per query
	MaxValues    = 100  // values of one equal query
	MaxSearchLen = 256  // characters of search
)

// List is what a request asked of a list route.
type List struct {
	Limit       int
	Offset      int
	CursorAfter string
	// Equal holds the equal filters: attribute → accepted values.
	Equal map[string][]string
	// Search is the search parameter ("" for none).
	Search string
	// Total is false when the client sent total=false: it wants no count.
	Total bool
}

// Error is a parameter the client got wrong; its message is safe to show.
type Error struct{ Message string }

func (e *Error) Error() string { return e.Message }

func invalid(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// query is one element of queries[].
type query struct {
	Method    string            `json:"method"`
	Attribute string            `json:"attribute"`
	Values    []json.RawMessage `json:"values"`
}

// Parse reads queries[] (sent as queries[], queries[N] or queries), search
// and total from v. filterable names the attributes an equal query may
// use; limit, offset and cursorAfter are always accepted. Anything else
// is an *Error.
func Parse(v url.Values, filterable ...string) (List, error) {
	l := List{Limit: DefaultLimit, Equal: map[string][]string{}, Total: true}
	raw := rawQueries(v)
	if len(raw) > MaxQueries {
		return List{}, invalid("Invalid `queries` param: Value must be an array of no more than %d items.", MaxQueries)
	}
	for _, r := range raw {
		if err := l.apply(r, filterable); err != nil {
			return List{}, err
		}
	}
	l.Search = v.Get("search")
	if len([]rune(l.Search)) > MaxSearchLen {
		return List{}, invalid("Invalid `search` param: Value must be a valid string and no longer than %d chars.", MaxSearchLen)
	}
	if t := v.Get("total"); t != "" {
		b, err := strconv.ParseBool(t)
		if err != nil {
			return List{}, invalid("Invalid `total` param: Value must be a valid boolean.")
		}
		l.Total = b
	}
	return l, nil
}

// rawQueries collects queries[], queries[N] (in N order) and queries.
func rawQueries(v url.Values) []string {
	type indexed struct {
		n int
		s []string
	}
	var numbered []indexed
	out := append([]string(nil), v["queries"]...)
	out = append(out, v["queries[]"]...)
	for k, vals := range v {
		inner, ok := strings.CutPrefix(k, "queries[")
		if !ok || !strings.HasSuffix(inner, "]") || inner == "]" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(inner, "]"))
		if err != nil {
			continue
		}
		numbered = append(numbered, indexed{n, vals})
	}
	sort.Slice(numbered, func(i, j int) bool { return numbered[i].n < numbered[j].n })
	for _, x := range numbered {
		out = append(out, x.s...)
	}
	return out
}

func (l *List) apply(raw string, filterable []string) error {
	if len(raw) > MaxQueryLen {
		return invalid("Invalid `queries` param: Query is longer than %d characters.", MaxQueryLen)
	}
	var q query
	if err := json.Unmarshal([]byte(raw), &q); err != nil || q.Method == "" {
		return invalid("Invalid `queries` param: Invalid query: %s", shorten(raw))
	}
	switch q.Method {
	case "limit":
		n, err := oneInt(q, MaxLimit)
		l.Limit = n
		return err
	case "offset":
		n, err := oneInt(q, MaxLimit)
		l.Offset = n
		return err
	case "cursorAfter":
		s, err := strings1(q)
		if err == nil && len(s) != 1 {
			err = invalid("Invalid `queries` param: Invalid query: cursorAfter takes one value.")
		}
		if err == nil {
			l.CursorAfter = s[0]
		}
		return err
	case "equal":
		if !slices.Contains(filterable, q.Attribute) {
			return invalid("Invalid `queries` param: Invalid query: Attribute not found in schema: %s", shorten(q.Attribute))
		}
		s, err := strings1(q)
		if err == nil && (len(s) == 0 || len(s) > MaxValues) {
			err = invalid("Invalid `queries` param: Invalid query: equal takes 1 to %d values.", MaxValues)
		}
		l.Equal[q.Attribute] = append(l.Equal[q.Attribute], s...)
		return err
	}
	return invalid("Invalid `queries` param: Invalid query method: %s", shorten(q.Method))
}

// oneInt reads the single integer value of q, in [0, limit].
func oneInt(q query, limit int) (int, error) {
	var n int
	if len(q.Values) != 1 || json.Unmarshal(q.Values[0], &n) != nil || n < 0 || n > limit {
		return 0, invalid("Invalid `queries` param: Invalid query: %s takes one integer between 0 and %d.", q.Method, limit)
	}
	return n, nil
}

// strings1 reads q's values as strings.
func strings1(q query) ([]string, error) {
	out := make([]string, 0, len(q.Values))
	for _, raw := range q.Values {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, invalid("Invalid `queries` param: Invalid query: %s takes string values.", q.Method)
		}
		out = append(out, s)
	}
	return out, nil
}

// shorten keeps error messages small when echoing client input.
func shorten(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:64]) + "..."
	}
	return strconv.Quote(s)
}
