package queries

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// The strings node-appwrite 27.1.0's Query helpers build.
const (
	limit10     = `{"method":"limit","values":[10]}`
	offset5     = `{"method":"offset","values":[5]}`
	cursorAfter = `{"method":"cursorAfter","values":["abc"]}`
	equalUser   = `{"method":"equal","attribute":"userId","values":["u1","u2"]}`
)

func TestParse(t *testing.T) {
	cases := []struct {
		name string
		v    url.Values
		want List
	}{
		{"defaults", url.Values{}, List{Limit: DefaultLimit, Equal: map[string][]string{}, Total: true}},
		{"numbered as node-appwrite sends", url.Values{"queries[0]": {limit10}, "queries[1]": {offset5}, "queries[2]": {cursorAfter}},
			List{Limit: 10, Offset: 5, CursorAfter: "abc", Equal: map[string][]string{}, Total: true}},
		{"queries[] and equal", url.Values{"queries[]": {equalUser, limit10}, "search": {"ada"}, "total": {"false"}},
			List{Limit: 10, Equal: map[string][]string{"userId": {"u1", "u2"}}, Search: "ada"}},
		{"limit zero", url.Values{"queries": {`{"method":"limit","values":[0]}`}},
			List{Limit: 0, Equal: map[string][]string{}, Total: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.v, "userId", "provider")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseRefuses(t *testing.T) {
	many := url.Values{}
	for range MaxQueries + 1 {
		many.Add("queries[]", limit10)
	}
	cases := []struct {
		name string
		v    url.Values
		want string
	}{
		{"not JSON", url.Values{"queries[]": {"limit(5)"}}, "Invalid query"},
		{"unknown method", url.Values{"queries[]": {`{"method":"orderRandom"}`}}, "Invalid query method"},
		{"unknown attribute", url.Values{"queries[]": {`{"method":"equal","attribute":"secret","values":["x"]}`}}, "Attribute not found"},
		{"limit too large", url.Values{"queries[]": {`{"method":"limit","values":[5001]}`}}, "between 0 and 5000"},
		{"negative offset", url.Values{"queries[]": {`{"method":"offset","values":[-1]}`}}, "between 0 and 5000"},
		{"limit as string", url.Values{"queries[]": {`{"method":"limit","values":["5"]}`}}, "one integer"},
		{"cursor as number", url.Values{"queries[]": {`{"method":"cursorAfter","values":[5]}`}}, "string values"},
		{"two cursors", url.Values{"queries[]": {`{"method":"cursorAfter","values":["a","b"]}`}}, "one value"},
		{"equal without values", url.Values{"queries[]": {`{"method":"equal","attribute":"userId","values":[]}`}}, "1 to 100"},
		{"too many queries", many, "no more than 100"},
		{"too long", url.Values{"queries[]": {strings.Repeat("x", MaxQueryLen+1)}}, "longer than"},
		{"long search", url.Values{"search": {strings.Repeat("é", MaxSearchLen+1)}}, "`search`"},
		{"bad total", url.Values{"total": {"maybe"}}, "`total`"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.v, "userId")
			var qe *Error
			if !errors.As(err, &qe) || !strings.Contains(qe.Message, tc.want) {
				t.Fatalf("got %v, want an *Error containing %q", err, tc.want)
			}
			if len(qe.Message) > 300 {
				t.Errorf("message of %d bytes echoes too much input", len(qe.Message))
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(limit10, "ada")
	f.Add(equalUser, "")
	f.Fuzz(func(t *testing.T, q, search string) {
		l, err := Parse(url.Values{"queries[]": {q}, "search": {search}}, "userId")
		if err == nil && (l.Limit < 0 || l.Limit > MaxLimit || l.Offset < 0 || l.Offset > MaxLimit) {
			t.Fatalf("accepted out-of-range %+v", l)
		}
	})
}
