package config

import "fmt"

// The types below hold secrets. fmt uses these methods for nested fields
// too, so printing a whole Config with %v, %+v or %#v never shows a key,
// an API key secret or a client secret.

// String shows how many keys are configured, never the keys.
func (s Secrets) String() string {
	return fmt.Sprintf("Secrets{session_keys:%d token_keys:%d}", max(len(s.SessionKeys), len(s.SessionKeyBytes)), max(len(s.TokenKeys), len(s.TokenKeyBytes)))
}

// GoString redacts like String.
func (s Secrets) GoString() string { return s.String() }

// String shows the key's ID and scopes, never its secret.
func (k APIKey) String() string {
	return fmt.Sprintf("APIKey{id:%s scopes:%v secret:[redacted]}", k.ID, k.Scopes)
}

// GoString redacts like String.
func (k APIKey) GoString() string { return k.String() }

// String shows what identifies the provider, never its type's settings
// (which hold the client secret).
func (p Provider) String() string {
	return fmt.Sprintf("Provider{key:%s type:%s}", p.Key, p.Type)
}

// GoString redacts like String.
func (p Provider) GoString() string { return p.String() }
