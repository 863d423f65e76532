package seal

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"
)

func key(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpenRoundTripAndBinding(t *testing.T) {
	kr, err := New([][]byte{key(t)})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := kr.Seal("access-token-value", AAD("s1", "access"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("access-token-value")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	got, err := kr.Open(sealed, AAD("s1", "access"))
	if err != nil || got != "access-token-value" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	for _, aad := range []string{AAD("s2", "access"), AAD("s1", "refresh")} {
		if _, err := kr.Open(sealed, aad); !errors.Is(err, ErrUnsealable) {
			t.Fatalf("Open with aad %q: err = %v, want ErrUnsealable", aad, err)
		}
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := kr.Open(tampered, AAD("s1", "access")); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("tampered: err = %v", err)
	}
	if _, err := kr.Open([]byte{1, 2}, "x"); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("short: err = %v", err)
	}
}

func TestEmptySealsToNil(t *testing.T) {
	kr, _ := New([][]byte{key(t)})
	s, err := kr.Seal("", "x")
	if err != nil || s != nil {
		t.Fatalf("Seal(\"\") = %v, %v", s, err)
	}
	if p, err := kr.Open(nil, "x"); p != "" || err != nil {
		t.Fatalf("Open(nil) = %q, %v", p, err)
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := key(t), key(t)
	oldRing, _ := New([][]byte{oldKey})
	sealed, _ := oldRing.Seal("tok", "a")
	rotated, err := New([][]byte{newKey, oldKey})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(sealed, "a"); err != nil || got != "tok" {
		t.Fatalf("rotated Open = %q, %v", got, err)
	}
	if !rotated.NeedsReseal(sealed) {
		t.Fatal("value sealed with the old key should need resealing")
	}
	onlyNew, _ := New([][]byte{newKey})
	if _, err := onlyNew.Open(sealed, "a"); !errors.Is(err, ErrUnsealable) {
		t.Fatalf("dropped key still opens: %v", err)
	}
}

func TestNewRejectsBadKeys(t *testing.T) {
	k := key(t)
	for name, keys := range map[string][][]byte{
		"none":      nil,
		"short":     {make([]byte, 16)},
		"duplicate": {k, k},
	} {
		if _, err := New(keys); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
