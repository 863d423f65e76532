package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

var adminTests = []test{
	{"ListUsersPaging", testListUsersPaging},
	{"FindIdentities", testFindIdentities},
	{"GetIdentity", testGetIdentity},
	{"DeleteIdentity", testDeleteIdentity},
	{"DeleteUser", testDeleteUser},
	{"SetUserBlocked", testSetUserBlocked},
	{"PrefsAndName", testPrefsAndName},
}

// usersAt creates n users, one second apart, named u0..u(n-1) with
// emails U<i>@Example.com (mixed case, for search), and returns their IDs
// in creation order.
func usersAt(t *testing.T, s store.Store, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range n {
		u, err := s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "test", ProviderUID: fmt.Sprint("p", i),
			Email: fmt.Sprintf("U%d@Example.com", i), Name: fmt.Sprint("u", i)}, base.Add(time.Duration(i)*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = u.ID
	}
	return out
}

func userIDs(list []store.User) []string {
	out := []string{}
	for _, u := range list {
		out = append(out, u.ID)
	}
	return out
}

func testListUsersPaging(t *testing.T, s store.Store) {
	ids := usersAt(t, s, 5)
	list := func(p store.Page) ([]string, int) {
		t.Helper()
		got, total, err := s.ListUsers(ctx(t), p)
		if err != nil {
			t.Fatalf("ListUsers(%+v): %v", p, err)
		}
		return userIDs(got), total
	}
	if got, total := list(store.Page{Limit: 2, CountTotal: true}); !slices.Equal(got, ids[:2]) || total != 5 {
		t.Errorf("first page: %v total %d, want %v total 5", got, total, ids[:2])
	}
	if got, _ := list(store.Page{Limit: 2, CursorAfter: ids[1]}); !slices.Equal(got, ids[2:4]) {
		t.Errorf("after cursor: %v, want %v", got, ids[2:4])
	}
	if got, _ := list(store.Page{Limit: 10, Offset: 1, CursorAfter: ids[1]}); !slices.Equal(got, ids[3:]) {
		t.Errorf("cursor and offset: %v, want %v", got, ids[3:])
	}
	if got, total := list(store.Page{Limit: 10, Offset: 4}); !slices.Equal(got, ids[4:]) || total != 0 {
		t.Errorf("offset 4: %v total %d, want %v and total 0 (not asked)", got, total, ids[4:])
	}
	if got, total := list(store.Page{Limit: 10, Search: "u3@example", CountTotal: true}); !slices.Equal(got, ids[3:4]) || total != 1 {
		t.Errorf("search: %v total %d, want [%s] total 1", got, total, ids[3])
	}
	if got, total := list(store.Page{Limit: 0, CountTotal: true}); len(got) != 0 || total != 5 {
		t.Errorf("limit 0: %v total %d, want none and total 5", got, total)
	}
	_, _, err := s.ListUsers(ctx(t), store.Page{Limit: 1, CursorAfter: "no-such-user"})
	wantErr(t, "ListUsers with an unknown cursor", err, store.ErrNotFound)
}

func testFindIdentities(t *testing.T, s store.Store) {
	ids := usersAt(t, s, 3)
	// A fourth user, at another provider.
	other, err := s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "other", ProviderUID: "p0"}, base.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	find := func(f store.IdentityFilter, p store.Page) ([]store.Identity, int) {
		t.Helper()
		return mustFind(t, s, f, p)
	}
	all, total := find(store.IdentityFilter{}, store.Page{Limit: 100})
	if len(all) != 4 || total != 4 || all[0].UserID != ids[0] || all[3].Provider != "other" {
		t.Fatalf("all identities: %+v total %d", all, total)
	}
	got, total := find(store.IdentityFilter{UserIDs: []string{ids[1], other.ID}}, store.Page{Limit: 100})
	if len(got) != 2 || total != 2 || got[0].UserID != ids[1] || got[1].UserID != other.ID {
		t.Errorf("by users: %+v total %d", got, total)
	}
	got, total = find(store.IdentityFilter{Providers: []string{"test"}}, store.Page{Limit: 1, CursorAfter: all[0].ID})
	if len(got) != 1 || total != 3 || got[0].ID != all[1].ID {
		t.Errorf("by provider after cursor: %+v total %d", got, total)
	}
	got, _ = find(store.IdentityFilter{}, store.Page{Limit: 100, Search: "OTHER"})
	if len(got) != 1 || got[0].Provider != "other" {
		t.Errorf("search: %+v", got)
	}
	_, _, err = s.FindIdentities(ctx(t), store.IdentityFilter{}, store.Page{Limit: 1, CursorAfter: "nope"})
	wantErr(t, "FindIdentities with an unknown cursor", err, store.ErrNotFound)
}

func testGetIdentity(t *testing.T, s store.Store) {
	userID := newUser(t, s, "ada")
	idents, err := s.ListIdentities(ctx(t), userID)
	if err != nil || len(idents) != 1 {
		t.Fatalf("ListIdentities: %v %v", idents, err)
	}
	one, err := s.GetIdentity(ctx(t), idents[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "GetIdentity", idents[0], one)
	_, err = s.GetIdentity(ctx(t), "nope")
	wantErr(t, "GetIdentity(nope)", err, store.ErrNotFound)
}

// mustFind is FindIdentities with CountTotal, failing the test on error.
func mustFind(t *testing.T, s store.Store, f store.IdentityFilter, p store.Page) ([]store.Identity, int) {
	t.Helper()
	p.CountTotal = true
	got, total, err := s.FindIdentities(ctx(t), f, p)
	if err != nil {
		t.Fatalf("FindIdentities(%+v, %+v): %v", f, p, err)
	}
	return got, total
}

// sessionFor returns a session of the provider account (provider, uid).
func sessionFor(id, userID, provider, uid string) store.Session {
	sess := fullSession(id, userID)
	sess.Provider, sess.ProviderUID = provider, uid
	return sess
}

func refIDs(refs []store.SessionRef) string {
	out := []string{}
	for _, r := range refs {
		out = append(out, r.ID+"/"+r.Provider)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func testDeleteIdentity(t *testing.T, s store.Store) {
	userID := newUser(t, s, "ada")
	idents, err := s.ListIdentities(ctx(t), userID)
	if err != nil || len(idents) != 1 {
		t.Fatalf("ListIdentities: %v %v", idents, err)
	}
	ident := idents[0]
	mustCreate(t, s, sessionFor("s-1", userID, "test", "ada"))
	mustCreate(t, s, sessionFor("s-2", userID, "test", "ada"))
	mustCreate(t, s, sessionFor("s-other-account", userID, "test", "someone-else"))
	mustCreate(t, s, sessionFor("s-server", userID, "server", ""))
	if err := s.CreateLoginToken(ctx(t), store.LoginToken{SecretHash: []byte("tok"), UserID: userID,
		ExpiresAt: base.Add(time.Minute), Session: minimalSession("pending", userID)}); err != nil {
		t.Fatal(err)
	}
	kept := newLoginToken(t, s, "kept", base.Add(time.Minute)) // another user's

	got, ended, err := s.DeleteIdentity(ctx(t), ident.ID)
	if err != nil {
		t.Fatalf("DeleteIdentity: %v", err)
	}
	wantEqual(t, "deleted identity", ident, got)
	if refIDs(ended) != "s-1/test,s-2/test" {
		t.Errorf("ended sessions %s, want s-1/test,s-2/test", refIDs(ended))
	}
	mustGet(t, s, "s-other-account")
	mustGet(t, s, "s-server")
	if idents, _ := s.ListIdentities(ctx(t), userID); len(idents) != 0 {
		t.Errorf("identities left: %+v", idents)
	}
	_, err = s.ConsumeLoginToken(ctx(t), userID, []byte("tok"), base)
	wantErr(t, "the user's pending login token after DeleteIdentity", err, store.ErrNotFound)
	if _, err := s.ConsumeLoginToken(ctx(t), kept.UserID, kept.SecretHash, base); err != nil {
		t.Errorf("another user's login token: %v", err)
	}
	_, _, err = s.DeleteIdentity(ctx(t), ident.ID)
	wantErr(t, "second DeleteIdentity", err, store.ErrNotFound)
}

func testDeleteUser(t *testing.T, s store.Store) {
	userID := newUser(t, s, "ada")
	other := newUser(t, s, "bob")
	mustCreate(t, s, sessionFor("s1", userID, "test", "ada"))
	mustCreate(t, s, sessionFor("s2", userID, "server", ""))
	mustCreate(t, s, sessionFor("s3", other, "test", "bob"))
	if err := s.CreateLoginToken(ctx(t), store.LoginToken{SecretHash: []byte("tok"), UserID: userID,
		ExpiresAt: base.Add(time.Minute), Session: minimalSession("pending", userID)}); err != nil {
		t.Fatal(err)
	}
	ended, err := s.DeleteUser(ctx(t), userID)
	if err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if refIDs(ended) != "s1/test,s2/server" {
		t.Errorf("ended %s, want s1/test,s2/server", refIDs(ended))
	}
	_, err = s.GetUser(ctx(t), userID)
	wantErr(t, "GetUser after DeleteUser", err, store.ErrNotFound)
	if idents, _ := s.ListIdentities(ctx(t), userID); len(idents) != 0 {
		t.Errorf("identities left: %+v", idents)
	}
	_, err = s.ConsumeLoginToken(ctx(t), userID, []byte("tok"), base)
	wantErr(t, "login token after DeleteUser", err, store.ErrNotFound)
	mustGet(t, s, "s3")
	// The provider account can sign in again: it becomes a new user.
	again := newUser(t, s, "ada")
	if again == userID {
		t.Error("a deleted user came back with its old ID")
	}
	_, err = s.DeleteUser(ctx(t), userID)
	wantErr(t, "second DeleteUser", err, store.ErrNotFound)
}

func testSetUserBlocked(t *testing.T, s store.Store) {
	userID := newUser(t, s, "ada")
	due := mustCreate(t, s, dueSession("grant", userID, base.Add(time.Minute)))
	noRefresh := minimalSession("plain", userID)
	mustCreate(t, s, noRefresh)
	now := base.Add(time.Hour)

	u, err := s.SetUserBlocked(ctx(t), userID, true, now)
	if err != nil {
		t.Fatalf("SetUserBlocked(true): %v", err)
	}
	if !u.Blocked || !u.UpdatedAt.Equal(now.Truncate(store.Precision)) {
		t.Errorf("blocked user: %+v", u)
	}
	got := mustGet(t, s, "grant")
	if !got.RefreshAt.IsZero() || got.Version != due.Version+1 {
		t.Errorf("blocked grant: RefreshAt %v version %d, want zero and %d", got.RefreshAt, got.Version, due.Version+1)
	}
	if _, ok, _ := s.NextRefreshAt(ctx(t)); ok {
		t.Error("a blocked user's grant is still scheduled")
	}
	if u, _ := s.GetUser(ctx(t), userID); !u.Blocked {
		t.Error("GetUser does not show the block")
	}

	u, err = s.SetUserBlocked(ctx(t), userID, false, now)
	if err != nil || u.Blocked {
		t.Fatalf("SetUserBlocked(false): %+v %v", u, err)
	}
	if got := mustGet(t, s, "grant"); !got.RefreshAt.Equal(now.Truncate(store.Precision)) {
		t.Errorf("unblocked grant RefreshAt %v, want %v", got.RefreshAt, now)
	}
	if got := mustGet(t, s, "plain"); !got.RefreshAt.IsZero() {
		t.Errorf("a session without refresh token was scheduled: %v", got.RefreshAt)
	}
	_, err = s.SetUserBlocked(ctx(t), "nope", true, now)
	wantErr(t, "SetUserBlocked(nope)", err, store.ErrNotFound)
}

func testPrefsAndName(t *testing.T, s store.Store) {
	userID := newUser(t, s, "ada")
	if u, _ := s.GetUser(ctx(t), userID); u.Prefs != "" || u.Blocked {
		t.Fatalf("new user: prefs %q blocked %v, want \"\" and false", u.Prefs, u.Blocked)
	}
	now := base.Add(time.Hour)
	u, err := s.SetUserPrefs(ctx(t), userID, `{"theme":"dark","n":1}`, now)
	if err != nil || u.Prefs != `{"theme":"dark","n":1}` {
		t.Fatalf("SetUserPrefs: %+v %v", u, err)
	}
	u, err = s.SetUserName(ctx(t), userID, "Ada Byron", now)
	if err != nil || u.Name != "Ada Byron" || u.Prefs != `{"theme":"dark","n":1}` {
		t.Fatalf("SetUserName: %+v %v", u, err)
	}
	// A later login brings the provider's name; the chosen one stays.
	u, err = s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "test", ProviderUID: "ada", Name: "ada from provider"}, now)
	if err != nil || u.Name != "Ada Byron" {
		t.Errorf("login after SetUserName: name %q (%v), want Ada Byron", u.Name, err)
	}
	_, err = s.SetUserPrefs(ctx(t), "nope", "{}", now)
	wantErr(t, "SetUserPrefs(nope)", err, store.ErrNotFound)
	_, err = s.SetUserName(ctx(t), "nope", "x", now)
	wantErr(t, "SetUserName(nope)", err, store.ErrNotFound)
}
