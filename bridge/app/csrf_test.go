package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const evilOrigin = "http://evil.example"

// TestCrossSiteTokenRedemptionRefused is the login-CSRF attack: another
// site posts an attacker's userId and secret to the token route. Every
// shape a cross-site form or fetch can take is refused and creates
// nothing; the same secret still redeems for a legitimate caller.
func TestCrossSiteTokenRedemptionRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	userID, secret := h.tokenLogin(t)
	form := url.Values{"userId": {userID}, "secret": {secret}}.Encode()
	json := `{"userId":"` + userID + `","secret":"` + secret + `"}`
	cases := []struct {
		name, body string
		headers    []string
		status     int
		typ        string
	}{
		{"form from another origin", form, []string{"Content-Type", "application/x-www-form-urlencoded", "Origin", evilOrigin, "Sec-Fetch-Site", "cross-site"}, 403, "general_access_forbidden"},
		{"text/plain from another origin", json, []string{"Content-Type", "text/plain", "Origin", evilOrigin}, 403, "general_access_forbidden"},
		{"JSON from another origin", json, []string{"Content-Type", "application/json", "Origin", evilOrigin}, 403, "general_access_forbidden"},
		{"origin null", json, []string{"Content-Type", "application/json", "Origin", "null"}, 403, "general_access_forbidden"},
		{"cross-site without Origin", form, []string{"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "cross-site"}, 403, "general_access_forbidden"},
		{"form from a server", form, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "general_argument_invalid"},
		{"multipart from a server", "--x\r\nContent-Disposition: form-data; name=\"userId\"\r\n\r\n" + userID + "\r\n--x--\r\n", []string{"Content-Type", "multipart/form-data; boundary=x"}, 415, "general_argument_invalid"},
		{"text/plain from a server", json, []string{"Content-Type", "text/plain;charset=UTF-8"}, 415, "general_argument_invalid"},
		{"no content type", json, nil, 415, "general_argument_invalid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := send(t, h.request("POST", "/v1/account/sessions/token", strings.NewReader(c.body), c.headers...))
			wantError(t, r, c.status, c.typ)
			if len(r.Cookies()) != 0 {
				t.Errorf("refused request set cookies: %v", r.Header.Values("Set-Cookie"))
			}
		})
	}
	if n := h.countSessions(t); n != 0 {
		t.Fatalf("refused requests created %d sessions", n)
	}
	// Nothing was consumed: the owner of the secret (an allowed origin, a
	// charset parameter) still redeems it.
	r := send(t, h.request("POST", "/v1/account/sessions/token", strings.NewReader(json),
		"Content-Type", "application/json; charset=utf-8", "Origin", appOrigin, "Sec-Fetch-Site", "cross-site"))
	if r.StatusCode != http.StatusCreated {
		t.Fatalf("allowed origin: HTTP %d %v", r.StatusCode, r.json)
	}
}

// TestCrossSiteStateChangesRefused covers every other state-changing
// route: a foreign origin changes nothing, while same-origin pages,
// allowed origins and server-side callers (no Origin, no Sec-Fetch-*,
// bodiless requests included) keep working.
func TestCrossSiteStateChangesRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t)
	_, sess := h.api(t, "GET", "/v1/account/sessions/current", value, nil)
	uid, sid := sess["userId"].(string), sess["$id"].(string)
	const key = "api-key-secret-0123456789"
	routes := []struct{ method, path, cred, credValue string }{
		{"PATCH", "/v1/account/sessions/current", "X-Appwrite-Session", value},
		{"DELETE", "/v1/account/sessions/current", "X-Appwrite-Session", value},
		{"DELETE", "/v1/account/sessions", "X-Appwrite-Session", value},
		{"POST", "/v1/users/" + uid + "/sessions", "X-Appwrite-Key", key},
		{"DELETE", "/v1/users/" + uid + "/sessions/" + sid, "X-Appwrite-Key", key},
		{"DELETE", "/v1/users/" + uid + "/sessions", "X-Appwrite-Key", key},
		{"POST", "/account", "Cookie", "a_session_default=" + value}, // a page route: still refused before routing
	}
	for _, rt := range routes {
		for _, hdrs := range [][]string{
			{"Origin", evilOrigin},
			{"Origin", evilOrigin, "Content-Type", "application/json"},
			{"Sec-Fetch-Site", "cross-site"},
		} {
			r := send(t, h.request(rt.method, rt.path, strings.NewReader("{}"), append([]string{rt.cred, rt.credValue}, hdrs...)...))
			wantError(t, r, 403, "general_access_forbidden")
		}
	}
	if n := h.countSessions(t); n != 1 {
		t.Fatalf("sessions = %d after refused requests, want the one", n)
	}
	// The bridge's own pages (same origin) and server callers still work.
	r := send(t, h.request("PATCH", "/v1/account/sessions/current", strings.NewReader("{}"),
		"X-Appwrite-Session", value, "Content-Type", "application/json", "Origin", h.srv.URL, "Sec-Fetch-Site", "same-origin"))
	if r.StatusCode != 200 {
		t.Fatalf("same-origin PATCH: HTTP %d %v", r.StatusCode, r.json)
	}
	r = send(t, h.request("POST", "/v1/users/"+uid+"/sessions", nil, "X-Appwrite-Key", key))
	if r.StatusCode != 201 {
		t.Fatalf("bodiless server POST: HTTP %d %v", r.StatusCode, r.json)
	}
	r = send(t, h.request("DELETE", "/v1/users/"+uid+"/sessions", nil, "X-Appwrite-Key", key))
	if r.StatusCode != 204 {
		t.Fatalf("bodiless server DELETE: HTTP %d %v", r.StatusCode, r.json)
	}
}

// TestFormPostCallbackStillWorks: Sign in with Apple answers with
// response_mode=form_post, a cross-site POST from appleid.apple.com to the
// callback. That route is exempt; its state binding protects it.
func TestFormPostCallbackStillWorks(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	b := h.browser()
	cb := h.callbackURL(t, b)
	req, _ := http.NewRequest("POST", h.srv.URL+cb.Path, strings.NewReader(cb.Query().Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://appleid.apple.com")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("User-Agent", b.UserAgent)
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := resp.Location()
	if resp.StatusCode != http.StatusSeeOther || loc == nil || loc.Path != "/ok" {
		t.Fatalf("form_post callback: HTTP %d %v", resp.StatusCode, loc)
	}
	if h.sessionCookie(t, b) == "" || h.countSessions(t) != 1 {
		t.Fatal("form_post login created no session")
	}
}
