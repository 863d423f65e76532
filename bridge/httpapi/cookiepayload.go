package httpapi

import (
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
)

// The JSON that travels, sealed by securecookie, in the bridge's cookies.
// These encodings are the HTTP layer's: the domain types (bridge.Credential,
// bridge.BoundFlow) carry no tags, and the short keys below are fixed
// because browsers hold values written by older versions (a session cookie
// lives as long as its session).

// credentialPayload is a session credential in the session cookie, the
// X-Appwrite-Session header and the API's session "secret".
type credentialPayload struct {
	SessionID string `json:"id"`
	Secret    string `json:"secret"`
}

func newCredentialPayload(c bridge.Credential) credentialPayload {
	return credentialPayload{SessionID: c.SessionID, Secret: c.Secret}
}

func (p credentialPayload) credential() bridge.Credential {
	return bridge.Credential{SessionID: p.SessionID, Secret: p.Secret}
}

// flowPayload is one pending login in the flow cookie (sb_flow), with
// one-letter keys: up to maxPendingFlows of them must fit in one cookie.
type flowPayload struct {
	State     string    `json:"s"`
	Nonce     string    `json:"n"`
	Verifier  string    `json:"v"`
	Provider  string    `json:"p"`
	Failure   string    `json:"f,omitempty"`
	ExpiresAt time.Time `json:"e"`
}

func newFlowPayloads(flows []bridge.BoundFlow) []flowPayload {
	out := make([]flowPayload, 0, len(flows))
	for _, f := range flows {
		out = append(out, flowPayload{State: f.State, Nonce: f.Nonce, Verifier: f.Verifier,
			Provider: f.Provider, Failure: f.Failure, ExpiresAt: f.ExpiresAt})
	}
	return out
}

func (p flowPayload) flow() bridge.BoundFlow {
	return bridge.BoundFlow{State: p.State, Nonce: p.Nonce, Verifier: p.Verifier,
		Provider: p.Provider, Failure: p.Failure, ExpiresAt: p.ExpiresAt}
}
