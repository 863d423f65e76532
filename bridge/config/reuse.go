package config

import (
	"bytes"
	"fmt"
)

// secretUse is one configured secret and what it is for.
type secretUse struct {
	path    string // key path, e.g. "secrets.token_keys[0]"
	purpose string
	raw     string
	decoded []byte
}

// SecretReuse lists, as problems at the line of the second use, every
// secret used for two purposes (a session key, a token key, an API key,
// or two API keys): one leak then exposes both, and rotating one breaks
// the other. They are warnings: the configuration still works.
func (c *Config) SecretReuse() Problems {
	var uses []secretUse
	for i, raw := range c.Secrets.SessionKeys {
		uses = append(uses, secretUse{index("secrets.session_keys", i), "session key", raw, nth(c.Secrets.SessionKeyBytes, i)})
	}
	for i, raw := range c.Secrets.TokenKeys {
		uses = append(uses, secretUse{index("secrets.token_keys", i), "token key", raw, nth(c.Secrets.TokenKeyBytes, i)})
	}
	for i, k := range c.APIKeys {
		uses = append(uses, secretUse{index("api_keys", i) + ".secret", "API key " + k.ID, k.Secret, []byte(k.Secret)})
	}
	var out Problems
	for j := range uses {
		for i := 0; i < j; i++ {
			a, b := uses[i], uses[j]
			if a.purpose == b.purpose || !sameSecret(a, b) {
				continue
			}
			out = append(out, Problem{File: c.File, Line: c.Line(b.path), Key: b.path,
				Message: fmt.Sprintf("warning: the same secret as %s (the %s): use a separate random value for each purpose", a.path, a.purpose)})
		}
	}
	return out
}

func sameSecret(a, b secretUse) bool {
	if a.raw != "" && a.raw == b.raw {
		return true
	}
	return len(a.decoded) > 0 && bytes.Equal(a.decoded, b.decoded)
}

func nth(list [][]byte, i int) []byte {
	if i < len(list) {
		return list[i]
	}
	return nil
}
