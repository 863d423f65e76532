// Package seal encrypts provider tokens at rest with AES-256-GCM. It is the
// only place where plaintext tokens meet the database representation.
//
// A sealed value is: format byte (1) | key ID (4) | nonce (12) | ciphertext+tag.
// The key ID is derived from the key itself, so keys can be rotated: the
// first key seals, every configured key opens. The additional data binds a
// ciphertext to its row and column, so a sealed token copied to another
// session does not open there.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	format  = 1
	keyLen  = 32
	idLen   = 4
	headLen = 1 + idLen
)

// ErrUnsealable means no configured key opens the value, or it was
// tampered with or moved to another row.
var ErrUnsealable = errors.New("seal: value cannot be opened with the configured keys")

// Keyring seals with its first key and opens with any of them. It is safe
// for concurrent use.
type Keyring struct {
	current uint32
	aeads   map[uint32]cipher.AEAD
}

// New builds a keyring from raw 32-byte keys; the first one seals.
func New(keys [][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("seal: at least one token key is required")
	}
	k := &Keyring{aeads: make(map[uint32]cipher.AEAD, len(keys))}
	for i, key := range keys {
		if len(key) != keyLen {
			return nil, fmt.Errorf("seal: token key %d is %d bytes, want %d", i+1, len(key), keyLen)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := keyID(key)
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("seal: token key %d repeats an earlier key", i+1)
		}
		k.aeads[id] = aead
		if i == 0 {
			k.current = id
		}
	}
	return k, nil
}

func keyID(key []byte) uint32 {
	sum := sha256.Sum256(append([]byte("sessionbridge token key id\x00"), key...))
	return binary.BigEndian.Uint32(sum[:idLen])
}

// Seal encrypts plaintext bound to aad. An empty plaintext seals to nil,
// so "no token" stays distinguishable without a ciphertext.
func (k *Keyring) Seal(plaintext string, aad string) ([]byte, error) {
	if plaintext == "" {
		return nil, nil
	}
	aead := k.aeads[k.current]
	out := make([]byte, headLen, headLen+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out[0] = format
	binary.BigEndian.PutUint32(out[1:headLen], k.current)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, []byte(plaintext), []byte(aad)), nil
}

// Open decrypts a value made by Seal with the same aad. nil opens to "".
func (k *Keyring) Open(sealed []byte, aad string) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	if len(sealed) < headLen || sealed[0] != format {
		return "", ErrUnsealable
	}
	aead, ok := k.aeads[binary.BigEndian.Uint32(sealed[1:headLen])]
	if !ok || len(sealed) < headLen+aead.NonceSize()+aead.Overhead() {
		return "", ErrUnsealable
	}
	nonce := sealed[headLen : headLen+aead.NonceSize()]
	plain, err := aead.Open(nil, nonce, sealed[headLen+aead.NonceSize():], []byte(aad))
	if err != nil {
		return "", ErrUnsealable
	}
	return string(plain), nil
}

// NeedsReseal reports whether a value was sealed with a key other than the
// current one (so a rotation can re-seal it on its next write).
func (k *Keyring) NeedsReseal(sealed []byte) bool {
	return len(sealed) >= headLen && binary.BigEndian.Uint32(sealed[1:headLen]) != k.current
}

// AAD returns the additional data that binds a sealed token to a session
// row and column.
func AAD(sessionID, column string) string { return "session:" + sessionID + ":" + column }
