package devissuer

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// Persistence (Options.StateFile): development mode promises that sessions
// survive a restart, which needs the issuer to remember across restarts
// what the bridge holds: its signing key, its URL (the port is part of
// iss) and its grants. The file holds only hashes of tokens, never a
// usable credential, besides the signing key of this fake issuer.

// maxSuperseded bounds the superseded refresh-token hashes kept per grant
// for reuse detection in the file (one is added per refresh).
const maxSuperseded = 16

type savedState struct {
	Version    int          `json:"version"`
	IssuerURL  string       `json:"issuer_url"`
	SigningKey []byte       `json:"signing_key"` // PKCS#8 DER
	Grants     []savedGrant `json:"grants"`
}

type savedGrant struct {
	ClientID   string    `json:"client_id"`
	User       User      `json:"user"`
	Scope      []string  `json:"scope"`
	AuthTime   time.Time `json:"auth_time"`
	Latest     string    `json:"latest"`     // hash of the current refresh token
	Superseded []string  `json:"superseded"` // hashes of earlier ones
	Revoked    bool      `json:"revoked"`
	Access     []savedAT `json:"access"`
}

type savedAT struct {
	Hash    string    `json:"hash"`
	Expires time.Time `json:"expires"`
}

// load restores the state saved in Options.StateFile, if one is set and
// exists. A missing file is a fresh start; a damaged one is an error
// naming it.
func (i *Issuer) load() error {
	if i.opts.StateFile == "" {
		return nil
	}
	data, err := os.ReadFile(i.opts.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("devissuer: read state: %w", err)
	}
	var s savedState
	if err := json.Unmarshal(data, &s); err != nil || s.Version != 1 {
		return fmt.Errorf("devissuer: %s is damaged; delete it to start afresh", i.opts.StateFile)
	}
	if i.opts.SigningKey == nil && len(s.SigningKey) > 0 {
		k, err := x509.ParsePKCS8PrivateKey(s.SigningKey)
		rk, ok := k.(*rsa.PrivateKey)
		if err != nil || !ok {
			return fmt.Errorf("devissuer: %s holds no usable signing key; delete it to start afresh", i.opts.StateFile)
		}
		i.key = rk
	}
	if s.IssuerURL != "" {
		i.SetIssuerURL(s.IssuerURL)
	}
	st := newState()
	for _, g := range s.Grants {
		fam := &family{clientID: g.ClientID, user: g.User, scope: g.Scope, authTime: g.AuthTime, latest: g.Latest, revoked: g.Revoked}
		for _, h := range append(g.Superseded, g.Latest) {
			if h != "" {
				st.refresh[h] = &refreshToken{family: fam}
			}
		}
		for _, at := range g.Access {
			st.access[at.Hash] = &accessToken{user: g.User, scope: g.Scope, expires: at.Expires, family: fam}
		}
	}
	i.st = st
	return nil
}

// snapshotLocked is the state to save; callers hold i.mu.
func (i *Issuer) snapshotLocked(now time.Time) savedState {
	s := savedState{Version: 1, IssuerURL: i.URL()}
	if i.key != nil {
		s.SigningKey, _ = x509.MarshalPKCS8PrivateKey(i.key)
	}
	index := map[*family]int{}
	grant := func(f *family) *savedGrant {
		n, ok := index[f]
		if !ok {
			n = len(s.Grants)
			index[f] = n
			s.Grants = append(s.Grants, savedGrant{ClientID: f.clientID, User: f.user, Scope: f.scope,
				AuthTime: f.authTime, Latest: f.latest, Revoked: f.revoked})
		}
		return &s.Grants[n]
	}
	for h, rt := range i.st.refresh {
		if g := grant(rt.family); h != rt.family.latest && len(g.Superseded) < maxSuperseded {
			g.Superseded = append(g.Superseded, h)
		}
	}
	for h, at := range i.st.access {
		if at.family != nil && (at.expires.IsZero() || now.Before(at.expires)) {
			g := grant(at.family)
			g.Access = append(g.Access, savedAT{Hash: h, Expires: at.expires})
		}
	}
	return s
}

// save writes the state to Options.StateFile (0600, replaced atomically),
// when one is set. Saves are serialized so an older snapshot never
// overwrites a newer one.
func (i *Issuer) save() {
	if i.opts.StateFile == "" {
		return
	}
	i.saveMu.Lock()
	defer i.saveMu.Unlock()
	i.mu.Lock()
	s := i.snapshotLocked(i.now())
	i.mu.Unlock()
	if err := writeFileAtomic(i.opts.StateFile, s); err != nil {
		i.log.Warn("devissuer: could not save its state; sessions may not survive a restart", "err", err)
	}
}

// savingAfter saves the state (StateFile) after h: the token and
// revocation endpoints change grants.
func (i *Issuer) savingAfter(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h(w, r)
		i.save()
	}
}

// ResetState forgets every grant, code and token (the signing key stays):
// a fresh start when the saved URL cannot be reused.
func (i *Issuer) ResetState() {
	i.mu.Lock()
	i.st = newState()
	i.mu.Unlock()
	i.save()
}

func writeFileAtomic(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".devissuer-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: already gone
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
