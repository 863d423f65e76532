package app

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"
)

// countRows counts a table's rows straight from the SQLite file.
func (h *harness) countRows(t testing.TB, table string) int {
	t.Helper()
	return h.count(t, "SELECT COUNT(*) FROM "+table)
}

// TestLoginStartBounds: the unauthenticated start routes store a row per
// call, so what they store is bounded: over-long success/failure URLs,
// scopes or scope lists get 400 and nothing is stored.
func TestLoginStartBounds(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	long := func(n int) string { return appOrigin + "/" + strings.Repeat("a", n-len(appOrigin)-1) }
	manyScopes := func(n, size int) url.Values {
		q := url.Values{"success": {appOrigin + "/ok"}}
		for i := range n {
			q.Add("scopes[]", strings.Repeat(string(rune('a'+i%26)), size))
		}
		return q
	}
	refused := map[string]url.Values{
		"success over 2 KiB":      {"success": {long(2049)}},
		"failure over 2 KiB":      {"success": {appOrigin + "/ok"}, "failure": {long(480 << 10)}},
		"a scope over 256 bytes":  manyScopes(1, 257),
		"51 scopes":               manyScopes(51, 3),
		"scopes over 4 KiB total": manyScopes(20, 250),
	}
	for _, route := range []string{"/v1/account/sessions/oauth2/corp?", "/v1/account/tokens/oauth2/corp?"} {
		for name, q := range refused {
			r := send(t, h.request("GET", route+q.Encode(), nil, "Accept", "application/json"))
			if r.StatusCode != 400 || r.json["type"] != "general_argument_invalid" {
				t.Errorf("%s%s: HTTP %d %v, want 400", route, name, r.StatusCode, r.json)
			}
		}
	}
	if n := h.countRows(t, "login_flows"); n != 0 {
		t.Fatalf("refused starts stored %d login flows", n)
	}
	// At the bounds, a start is accepted.
	q := manyScopes(16, 256)
	q.Set("success", long(2048))
	q.Set("failure", long(2048))
	if r := send(t, h.request("GET", "/v1/account/sessions/oauth2/corp?"+q.Encode(), nil)); r.StatusCode != 302 {
		t.Fatalf("a start at the bounds: HTTP %d %v", r.StatusCode, r.json)
	}
	if n := h.countRows(t, "login_flows"); n != 1 {
		t.Fatalf("login flows = %d, want 1", n)
	}
}

// TestAccessedAtMovesOncePerPeriod: a session check moves the user's
// accessedAt when it is older than Appwrite's 24 hours, and is a read, not
// a write, otherwise.
func TestAccessedAtMovesOncePerPeriod(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	_, value := h.loggedIn(t) // no session check yet: this process has touched nobody
	db, err := sql.Open("sqlite", h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var uid string
	if err := db.QueryRow("SELECT id FROM users").Scan(&uid); err != nil {
		t.Fatal(err)
	}
	setAccessed := func(at time.Time) {
		if _, err := db.Exec("UPDATE users SET accessed_at = ? WHERE id = ?", at.UnixMicro(), uid); err != nil {
			t.Fatal(err)
		}
	}
	accessed := func() time.Time {
		u, err := h.app.Store.GetUser(context.Background(), uid)
		if err != nil {
			t.Fatal(err)
		}
		return u.AccessedAt
	}
	// Two days ago: the next check moves it to now.
	setAccessed(time.Now().Add(-48 * time.Hour))
	if status, _ := h.api(t, "GET", "/v1/account", value, nil); status != 200 {
		t.Fatal(status)
	}
	if at := accessed(); time.Since(at) > time.Hour {
		t.Fatalf("accessedAt = %v after a check, want now", at)
	}
	// An hour ago: checks leave it alone.
	hourAgo := time.Now().Add(-time.Hour).Truncate(time.Microsecond)
	setAccessed(hourAgo)
	for range 3 {
		h.api(t, "GET", "/v1/account", value, nil)
	}
	if at := accessed(); !at.Equal(hourAgo.UTC()) {
		t.Fatalf("accessedAt = %v, want it left at %v", at, hourAgo)
	}
}

// TestJanitorIsWired: the app's janitor deletes an expired session.
func TestJanitorIsWired(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	h.loggedIn(t)
	db, err := sql.Open("sqlite", h.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec("UPDATE sessions SET expire = ?", time.Now().Add(-time.Minute).UnixMicro()); err != nil {
		t.Fatal(err)
	}
	res, err := h.app.Janitor.RunOnce(context.Background())
	if err != nil || !res.Ran || res.Sessions != 1 {
		t.Fatalf("janitor run = %+v, %v", res, err)
	}
	if h.countSessions(t) != 0 || h.countRows(t, "users") != 1 {
		t.Fatal("the janitor left the expired session or took the user")
	}
}
