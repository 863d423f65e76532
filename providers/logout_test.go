package providers

import (
	"errors"
	"testing"
)

func TestTransient(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"network", errors.New("connection refused"), true},
		{"no answer", &OAuthError{Err: errors.New("timeout")}, true},
		{"503", &OAuthError{HTTPStatus: 503, Code: "temporarily_unavailable"}, true},
		{"500", &OAuthError{HTTPStatus: 500}, true},
		{"429", &OAuthError{HTTPStatus: 429}, true},
		{"501", &OAuthError{HTTPStatus: 501}, false},
		{"503 unsupported_token_type", &OAuthError{HTTPStatus: 503, Code: "unsupported_token_type"}, false},
		{"400", &OAuthError{HTTPStatus: 400, Code: "unsupported_token_type"}, false},
		{"401", &OAuthError{HTTPStatus: 401, Code: "invalid_client"}, false},
	} {
		if got := Transient(tc.err); got != tc.want {
			t.Errorf("%s: Transient = %v, want %v", tc.name, got, tc.want)
		}
	}
}
