// Package codec holds the encodings the SQL backends share for values
// that are not worth columns of their own: a login token's pending
// session and a flow's scopes. Both live for minutes, so JSON is fine.
package codec

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// EncodeSession serializes a login token's pending session, with its
// times normalized so that every backend returns the same values.
func EncodeSession(s store.Session) ([]byte, error) {
	normalizeSession(&s)
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode pending session: %w", err)
	}
	return b, nil
}

// DecodeSession is the inverse of EncodeSession.
func DecodeSession(b []byte) (store.Session, error) {
	var s store.Session
	if err := json.Unmarshal(b, &s); err != nil {
		return store.Session{}, fmt.Errorf("decode pending session: %w", err)
	}
	normalizeSession(&s)
	return s, nil
}

func normalizeSession(s *store.Session) {
	for _, t := range []*time.Time{&s.CreatedAt, &s.UpdatedAt, &s.Expire, &s.AccessTokenExpiry, &s.RefreshAt, &s.LeaseUntil, &s.RefreshedAt} {
		*t = store.Normalize(*t)
	}
}

// EncodeScopes serializes a flow's scopes; nil and empty both become "[]".
func EncodeScopes(scopes []string) string {
	if len(scopes) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(scopes) // a []string always marshals
	return string(b)
}

// DecodeScopes is the inverse of EncodeScopes; an empty list is nil.
func DecodeScopes(s string) ([]string, error) {
	var scopes []string
	if err := json.Unmarshal([]byte(s), &scopes); err != nil {
		return nil, fmt.Errorf("decode flow scopes: %w", err)
	}
	if len(scopes) == 0 {
		return nil, nil
	}
	return scopes, nil
}
