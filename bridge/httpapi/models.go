package httpapi

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// appwriteTime formats like Appwrite: milliseconds and a numeric offset.
func appwriteTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000-07:00")
}

// sessionJSON is Appwrite's Session model; every field is always present.
type sessionJSON struct {
	ID                        string   `json:"$id"`
	CreatedAt                 string   `json:"$createdAt"`
	UpdatedAt                 string   `json:"$updatedAt"`
	UserID                    string   `json:"userId"`
	Expire                    string   `json:"expire"`
	Provider                  string   `json:"provider"`
	ProviderUID               string   `json:"providerUid"`
	ProviderAccessToken       string   `json:"providerAccessToken"`
	ProviderAccessTokenExpiry string   `json:"providerAccessTokenExpiry"`
	ProviderRefreshToken      string   `json:"providerRefreshToken"`
	IP                        string   `json:"ip"`
	OSCode                    string   `json:"osCode"`
	OSName                    string   `json:"osName"`
	OSVersion                 string   `json:"osVersion"`
	ClientType                string   `json:"clientType"`
	ClientCode                string   `json:"clientCode"`
	ClientName                string   `json:"clientName"`
	ClientVersion             string   `json:"clientVersion"`
	ClientEngine              string   `json:"clientEngine"`
	ClientEngineVersion       string   `json:"clientEngineVersion"`
	DeviceName                string   `json:"deviceName"`
	DeviceBrand               string   `json:"deviceBrand"`
	DeviceModel               string   `json:"deviceModel"`
	CountryCode               string   `json:"countryCode"`
	CountryName               string   `json:"countryName"`
	Current                   bool     `json:"current"`
	Factors                   []string `json:"factors"`
	Secret                    string   `json:"secret"`
	MFAUpdatedAt              string   `json:"mfaUpdatedAt"`
}

// sessionView says what a caller may see of a session.
type sessionView struct {
	current      bool
	showRefresh  bool
	secret       string
	access       string
	refreshToken string
}

func newSessionJSON(s store.Session, v sessionView) sessionJSON {
	factors := []string{"oauth2"}
	switch {
	case bridge.IsServerSession(s):
		factors = []string{"server"} // as Appwrite's users.createSession records
	case s.EmailVerified:
		factors = []string{"email", "oauth2"}
	}
	refresh := ""
	if v.showRefresh {
		refresh = v.refreshToken
	}
	c := s.Client
	return sessionJSON{
		ID: s.ID, CreatedAt: appwriteTime(s.CreatedAt), UpdatedAt: appwriteTime(s.UpdatedAt),
		UserID: s.UserID, Expire: appwriteTime(s.Expire),
		Provider: s.Provider, ProviderUID: s.ProviderUID,
		ProviderAccessToken: v.access, ProviderAccessTokenExpiry: appwriteTime(s.AccessTokenExpiry),
		ProviderRefreshToken: refresh,
		IP:                   c.IP, OSCode: c.OSCode, OSName: c.OSName, OSVersion: c.OSVersion,
		ClientType: c.ClientType, ClientCode: c.ClientCode, ClientName: c.ClientName,
		ClientVersion: c.ClientVersion, ClientEngine: c.ClientEngine, ClientEngineVersion: c.ClientEngineVersion,
		DeviceName: c.DeviceName, DeviceBrand: c.DeviceBrand, DeviceModel: c.DeviceModel,
		CountryCode: orDefault(c.CountryCode, "--"), CountryName: orDefault(c.CountryName, "Unknown"),
		Current: v.current, Factors: factors, Secret: v.secret, MFAUpdatedAt: "",
	}
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// userJSON is Appwrite's User model.
type userJSON struct {
	ID                string         `json:"$id"`
	CreatedAt         string         `json:"$createdAt"`
	UpdatedAt         string         `json:"$updatedAt"`
	Name              string         `json:"name"`
	Registration      string         `json:"registration"`
	Status            bool           `json:"status"`
	Labels            []string       `json:"labels"`
	PasswordUpdate    string         `json:"passwordUpdate"`
	Email             string         `json:"email"`
	Phone             string         `json:"phone"`
	EmailVerification bool           `json:"emailVerification"`
	PhoneVerification bool           `json:"phoneVerification"`
	MFA               bool           `json:"mfa"`
	Prefs             map[string]any `json:"prefs"`
	Targets           []any          `json:"targets"`
	AccessedAt        string         `json:"accessedAt"`
}

func newUserJSON(u store.User) userJSON {
	return userJSON{
		ID: u.ID, CreatedAt: appwriteTime(u.CreatedAt), UpdatedAt: appwriteTime(u.UpdatedAt),
		Name: u.Name, Registration: appwriteTime(u.CreatedAt), Status: !u.Blocked, Labels: []string{},
		PasswordUpdate: "", Email: u.Email, Phone: "", EmailVerification: u.EmailVerified,
		Prefs: prefsOf(u), Targets: []any{}, AccessedAt: appwriteTime(u.AccessedAt),
	}
}

// prefsOf decodes a user's stored preferences, numbers kept digit for
// digit; none, or a value that is somehow not an object, reads as {}.
func prefsOf(u store.User) map[string]any {
	prefs := map[string]any{}
	if u.Prefs == "" {
		return prefs
	}
	dec := json.NewDecoder(strings.NewReader(u.Prefs))
	dec.UseNumber()
	if dec.Decode(&prefs) != nil || prefs == nil {
		return map[string]any{}
	}
	return prefs
}

// identityJSON is Appwrite's Identity model.
type identityJSON struct {
	ID                        string `json:"$id"`
	CreatedAt                 string `json:"$createdAt"`
	UpdatedAt                 string `json:"$updatedAt"`
	UserID                    string `json:"userId"`
	Provider                  string `json:"provider"`
	ProviderUID               string `json:"providerUid"`
	ProviderEmail             string `json:"providerEmail"`
	ProviderAccessToken       string `json:"providerAccessToken"`
	ProviderAccessTokenExpiry string `json:"providerAccessTokenExpiry"`
	ProviderRefreshToken      string `json:"providerRefreshToken"`
}

// newIdentityJSON renders an identity with the tokens of its freshest
// grant; the refresh token only when showRefresh (API keys, or owners
// where session.expose_refresh_token is on), as for sessions.
func newIdentityJSON(i bridge.IdentityTokens, showRefresh bool) identityJSON {
	out := identityJSON{ID: i.ID, CreatedAt: appwriteTime(i.CreatedAt), UpdatedAt: appwriteTime(i.UpdatedAt),
		UserID: i.UserID, Provider: i.Provider, ProviderUID: i.ProviderUID, ProviderEmail: i.Email,
		ProviderAccessToken: i.AccessToken, ProviderAccessTokenExpiry: appwriteTime(i.AccessTokenExpiry)}
	if showRefresh {
		out.ProviderRefreshToken = i.RefreshToken
	}
	return out
}
