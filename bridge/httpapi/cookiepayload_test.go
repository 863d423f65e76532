package httpapi

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/sessionbridge/sessionbridge/bridge"
)

// The cookie encodings are the HTTP layer's: the domain types carry no
// JSON tags (a renamed field there must not change a cookie).
func TestDomainTypesCarryNoCookieEncoding(t *testing.T) {
	for _, v := range []any{bridge.Credential{}, bridge.BoundFlow{}} {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			if tag, ok := typ.Field(i).Tag.Lookup("json"); ok {
				t.Errorf("%s.%s has json tag %q: cookie payloads live in httpapi", typ, typ.Field(i).Name, tag)
			}
		}
	}
}

// The keys inside the sealed cookies are those earlier versions wrote, so
// sessions and logins in flight survive an upgrade.
func TestCookiePayloadKeysStayCompatible(t *testing.T) {
	s := newTestServer(t, nil)
	exp := time.Now().Add(5 * time.Minute).UTC().Truncate(time.Second)
	flows := []bridge.BoundFlow{
		{State: "st", Nonce: "no", Verifier: "ve", Provider: "gh", Failure: "https://app.example/failed", ExpiresAt: exp},
		{State: "st2", Nonce: "no2", Verifier: "ve2", Provider: "corp", ExpiresAt: exp},
	}
	rec := httptest.NewRecorder()
	if err := s.savePendingFlows(rec, flows); err != nil {
		t.Fatal(err)
	}
	cookie := rec.Result().Cookies()[0]
	var raw []map[string]any
	if err := securecookie.DecodeMulti(flowCookieName, cookie.Value, &raw, s.flows.codecs...); err != nil {
		t.Fatal(err)
	}
	if keys := sortedKeys(raw[0]); !slices.Equal(keys, []string{"e", "f", "n", "p", "s", "v"}) {
		t.Errorf("flow cookie keys = %v", keys)
	}
	if _, ok := raw[1]["f"]; ok {
		t.Errorf("an empty failure URL is written: %v", raw[1])
	}
	// A value with those keys (as an older version wrote it) reads back.
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(cookie)
	if got := s.pendingFlows(req); !reflect.DeepEqual(got, flows) {
		t.Errorf("pending flows = %v, want %v", got, flows)
	}

	value, err := s.codec.encode(bridge.Credential{SessionID: "sess", Secret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	var cred map[string]any
	if err := securecookie.DecodeMulti(s.cookieName, value, &cred, s.codec.codecs...); err != nil {
		t.Fatal(err)
	}
	if cred["id"] != "sess" || cred["secret"] != "secret" || len(cred) != 2 {
		t.Errorf("credential payload = %v", cred)
	}
}

// Expired flows are dropped when the cookie is read; an undecodable
// cookie reads as no flows.
func TestPendingFlowsDropExpiredAndForged(t *testing.T) {
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	s := newTestServer(t, func(o *Options) { o.Now = func() time.Time { return now } })
	rec := httptest.NewRecorder()
	live := bridge.BoundFlow{State: "live", Provider: "gh", ExpiresAt: now.Add(time.Minute)}
	if err := s.savePendingFlows(rec, []bridge.BoundFlow{{State: "old", Provider: "gh", ExpiresAt: now}, live}); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(rec.Result().Cookies()[0])
	if got := s.pendingFlows(req); len(got) != 1 || got[0] != live {
		t.Errorf("pending = %v, want only the live flow", got)
	}
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: flowCookieName, Value: "forged"})
	if got := s.pendingFlows(req); got != nil {
		t.Errorf("forged cookie read as %v", got)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
