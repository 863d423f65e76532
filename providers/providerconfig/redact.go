package providerconfig

import "fmt"

// Provider holds a client secret. fmt uses these methods for nested
// fields too, so printing a configuration with %v, %+v or %#v never shows
// it.

// String shows what identifies the provider, never its client secret.
func (p Provider) String() string {
	return fmt.Sprintf("Provider{key:%s type:%s client_id:%s client_secret:%s}", p.Key, p.Type, p.ClientID, redacted(p.ClientSecret))
}

// GoString redacts like String.
func (p Provider) GoString() string { return p.String() }

func redacted(s string) string {
	if s == "" {
		return "(empty)"
	}
	return "[redacted]"
}
