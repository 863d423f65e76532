package jwtauth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func keys(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte(strings.Repeat(string(rune('a'+i)), 32))
	}
	return out
}

func TestSignVerify(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, err := New(keys(1), clock)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.Sign("user-1", "sess-1", 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Verify(tok)
	if err != nil || c.UserID != "user-1" || c.SessionID != "sess-1" || !c.Expiry.Equal(now.Add(15*time.Minute)) {
		t.Fatalf("Verify: %+v %v", c, err)
	}

	// Rotation: a signer whose first key is new still accepts tokens of
	// the old key; a signer without the old key does not.
	rotated, _ := New([][]byte{[]byte(strings.Repeat("z", 32)), keys(1)[0]}, clock)
	if _, err := rotated.Verify(tok); err != nil {
		t.Errorf("rotated signer refuses a token of its second key: %v", err)
	}
	other, _ := New([][]byte{[]byte(strings.Repeat("z", 32))}, clock)
	if _, err := other.Verify(tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("a signer without the key accepts the token: %v", err)
	}

	now = now.Add(15*time.Minute + time.Second)
	if _, err := s.Verify(tok); !errors.Is(err, ErrInvalid) {
		t.Errorf("expired token: %v, want ErrInvalid", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	s, _ := New(keys(1), nil)
	good, _ := s.Sign("u", "s", time.Minute)
	parts := strings.Split(good, ".")
	for name, tok := range map[string]string{
		"empty":          "",
		"garbage":        "not.a.jwt",
		"alg none":       "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." + parts[1] + ".",
		"bad signature":  parts[0] + "." + parts[1] + ".AAAA" + parts[2][4:],
		"other payload":  parts[0] + ".eyJ1c2VySWQiOiJ4Iiwic2Vzc2lvbklkIjoieSJ9." + parts[2],
		"too long":       strings.Repeat("a", MaxTokenLength+1),
		"no session":     mustSign(t, s, "u", ""),
		"no expiry left": mustSign(t, s, "u", "s", 0),
	} {
		if _, err := s.Verify(tok); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func mustSign(t *testing.T, s *Signer, user, sess string, ttl ...time.Duration) string {
	t.Helper()
	d := time.Minute
	if len(ttl) > 0 {
		d = ttl[0]
	}
	tok, err := s.Sign(user, sess, d)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
