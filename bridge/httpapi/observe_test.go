package httpapi

import "testing"

func TestRouteAndMethodLabelsAreBounded(t *testing.T) {
	for in, want := range map[string]string{
		"GET /v1/account/sessions/{id}": "/v1/account/sessions/{id}",
		"/":                             "/",
		"":                              "unmatched",
	} {
		if got := routeLabel(in); got != want {
			t.Errorf("routeLabel(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "PROPFIND": "other", "get": "other", "": "other"} {
		if got := methodLabel(in); got != want {
			t.Errorf("methodLabel(%q) = %q, want %q", in, got, want)
		}
	}
	for id, ok := range map[string]bool{"abc-123": true, "a b": false, "x\"y": false, "": false, string(make([]byte, 129)): false} {
		if got := requestIDPattern.MatchString(id); got != ok {
			t.Errorf("request ID %q accepted = %v, want %v", id, got, ok)
		}
	}
}
