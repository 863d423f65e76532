package storetest

import (
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

var sessionScanTests = []test{
	{"ScanSessionsPagesAndFilters", testScanSessions},
	{"CountLive", testCountLive},
}

func testScanSessions(t *testing.T, s store.Store) {
	u1, u2 := newUser(t, s, "scan-1"), newUser(t, s, "scan-2")
	for i, id := range []string{"s-a", "s-b", "s-c", "s-d", "s-e"} {
		sess := minimalSession(id, u1)
		if i%2 == 1 {
			sess.UserID = u2
		}
		if i >= 3 {
			sess.Provider = "other"
		}
		mustCreate(t, s, sess)
	}
	var all []string
	after := ""
	for {
		page, err := s.ScanSessions(ctx(t), store.SessionFilter{}, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		if len(page) > 2 {
			t.Fatalf("page of %d rows, limit 2", len(page))
		}
		for _, p := range page {
			all = append(all, p.ID)
		}
		after = page[len(page)-1].ID
	}
	wantEqual(t, "all IDs in order", []string{"s-a", "s-b", "s-c", "s-d", "s-e"}, all)

	ids := func(f store.SessionFilter) []string {
		page, err := s.ScanSessions(ctx(t), f, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, p := range page {
			out = append(out, p.ID)
		}
		return out
	}
	wantEqual(t, "by user", []string{"s-b", "s-d"}, ids(store.SessionFilter{UserID: u2}))
	wantEqual(t, "by provider", []string{"s-d", "s-e"}, ids(store.SessionFilter{Provider: "other"}))
	wantEqual(t, "by both", []string{"s-e"}, ids(store.SessionFilter{UserID: u1, Provider: "other"}))
	full := fullSession("s-full", u1)
	mustCreate(t, s, full)
	got, err := s.ScanSessions(ctx(t), store.SessionFilter{UserID: u1}, "s-e", 10)
	if err != nil || len(got) != 1 {
		t.Fatalf("scan after s-e: %v, %d rows", err, len(got))
	}
	if string(got[0].RefreshTokenSealed) != string(full.RefreshTokenSealed) || got[0].Version != 1 {
		t.Errorf("scanned row lost fields: %+v", got[0])
	}
}

func testCountLive(t *testing.T, s store.Store) {
	u := newUser(t, s, "live")
	now := base.Add(30 * time.Minute)
	live := fullSession("c-1", u) // refresh token, expires in a year
	mustCreate(t, s, live)
	plain := minimalSession("c-2", u) // no refresh token, expires in an hour
	mustCreate(t, s, plain)
	gone := minimalSession("c-3", u)
	gone.Expire = base.Add(time.Minute) // expired at now
	mustCreate(t, s, gone)
	other := fullSession("c-4", u)
	other.Provider = "zeta"
	mustCreate(t, s, other)
	got, err := s.CountLive(ctx(t), now)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "live counts", []store.ProviderCount{
		{Provider: "test", Sessions: 2, Grants: 1},
		{Provider: "zeta", Sessions: 1, Grants: 1},
	}, got)
}
