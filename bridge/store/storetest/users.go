package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

var userTests = []test{
	{"UpsertCreatesThenUpdates", testUpsertCreatesThenUpdates},
	{"UpsertKeepsEmptyFields", testUpsertKeepsEmptyFields},
	{"DistinctProviders", testDistinctProviders},
	{"ConcurrentUpsert", testConcurrentUpsert},
	{"NotFound", testUserNotFound},
	{"TouchUser", testTouchUser},
	{"UpsertMovesPreviousUID", testUpsertMovesPreviousUID},
}

// testUpsertMovesPreviousUID: a provider whose UIDs changed form (Slack
// adding the team) still finds the user stored under the old form, once.
func testUpsertMovesPreviousUID(t *testing.T, s store.Store) {
	old, err := s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "slack", ProviderUID: "U1", Name: "Ada"}, base)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "slack", ProviderUID: "T1:U1", PreviousProviderUID: "U1"}, base.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if moved.ID != old.ID {
		t.Fatalf("the user under the previous UID was not found: new user %s, want %s", moved.ID, old.ID)
	}
	ids, err := s.ListIdentities(ctx(t), old.ID)
	if err != nil || len(ids) != 1 || ids[0].ProviderUID != "T1:U1" {
		t.Fatalf("identities after the move: %+v %v, want one under T1:U1", ids, err)
	}
	// The same user ID in another team is another user.
	other, err := s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "slack", ProviderUID: "T2:U1", PreviousProviderUID: "U1"}, base.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if other.ID == old.ID {
		t.Fatal("a second team's user took over the first team's user")
	}
}

func testUpsertCreatesThenUpdates(t *testing.T, s store.Store) {
	in := store.IdentityInput{Provider: "github", ProviderUID: "42", Email: "a@example.com", Name: "Ada"}
	u, err := s.UpsertIdentity(ctx(t), in, base)
	if err != nil {
		t.Fatalf("UpsertIdentity: %v", err)
	}
	if len(u.ID) == 0 {
		t.Fatal("UpsertIdentity returned a user without ID")
	}
	wantEqual(t, "created user", store.User{
		ID: u.ID, CreatedAt: base, UpdatedAt: base, AccessedAt: base,
		Name: "Ada", Email: "a@example.com",
	}, u)

	later := base.Add(time.Hour)
	in2 := store.IdentityInput{Provider: "github", ProviderUID: "42", Email: "b@example.com", EmailVerified: true, Name: "Ada L."}
	u2, err := s.UpsertIdentity(ctx(t), in2, later)
	if err != nil {
		t.Fatalf("second UpsertIdentity: %v", err)
	}
	want := store.User{
		ID: u.ID, CreatedAt: base, UpdatedAt: later, AccessedAt: later,
		Name: "Ada L.", Email: "b@example.com", EmailVerified: true,
	}
	wantEqual(t, "updated user", want, u2)

	got, err := s.GetUser(ctx(t), u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	wantEqual(t, "GetUser", want, got)

	ids, err := s.ListIdentities(ctx(t), u.ID)
	if err != nil {
		t.Fatalf("ListIdentities: %v", err)
	}
	if len(ids) != 1 {
		t.Fatalf("ListIdentities: got %d identities, want 1", len(ids))
	}
	if ids[0].ID == "" {
		t.Fatal("identity without ID")
	}
	wantEqual(t, "identity", store.Identity{
		ID: ids[0].ID, UserID: u.ID, Provider: "github", ProviderUID: "42",
		Email: "b@example.com", CreatedAt: base, UpdatedAt: later,
	}, ids[0])
}

func testUpsertKeepsEmptyFields(t *testing.T, s store.Store) {
	in := store.IdentityInput{Provider: "apple", ProviderUID: "x", Email: "x@example.com", EmailVerified: true, Name: "First Login"}
	u, err := s.UpsertIdentity(ctx(t), in, base)
	if err != nil {
		t.Fatalf("UpsertIdentity: %v", err)
	}
	u2, err := s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "apple", ProviderUID: "x"}, base.Add(time.Minute))
	if err != nil {
		t.Fatalf("second UpsertIdentity: %v", err)
	}
	if u2.ID != u.ID || u2.Name != "First Login" || u2.Email != "x@example.com" || !u2.EmailVerified {
		t.Fatalf("empty input fields overwrote the user: %+v", u2)
	}
	ids, err := s.ListIdentities(ctx(t), u.ID)
	if err != nil || len(ids) != 1 || ids[0].Email != "x@example.com" {
		t.Fatalf("ListIdentities = %+v, %v; want the email kept", ids, err)
	}
}

func testDistinctProviders(t *testing.T, s store.Store) {
	a, err := s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "github", ProviderUID: "7"}, base)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "gitlab", ProviderUID: "7"}, base)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "github", ProviderUID: "8"}, base)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == b.ID || a.ID == c.ID || b.ID == c.ID {
		t.Fatalf("distinct identities share a user: %s %s %s", a.ID, b.ID, c.ID)
	}
	for _, u := range []store.User{a, b, c} {
		ids, err := s.ListIdentities(ctx(t), u.ID)
		if err != nil || len(ids) != 1 {
			t.Fatalf("ListIdentities(%s) = %d identities, %v; want 1", u.ID, len(ids), err)
		}
	}
}

// testConcurrentUpsert: two first logins of the same account racing (two
// tabs, two instances) must end with one user, not two.
func testConcurrentUpsert(t *testing.T, s store.Store) {
	const n = 8
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			u, err := s.UpsertIdentity(ctx(t), store.IdentityInput{Provider: "race", ProviderUID: "1", Name: "R"}, base)
			ids[i], errs[i] = u.ID, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("upsert %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("concurrent upserts created different users: %q and %q", ids[0], ids[i])
		}
	}
	got, err := s.ListIdentities(ctx(t), ids[0])
	if err != nil || len(got) != 1 {
		t.Fatalf("ListIdentities = %d, %v; want exactly 1", len(got), err)
	}
}

func testUserNotFound(t *testing.T, s store.Store) {
	_, err := s.GetUser(ctx(t), "nosuchuser")
	wantErr(t, "GetUser(unknown)", err, store.ErrNotFound)
	wantErr(t, "TouchUser(unknown)", s.TouchUser(ctx(t), "nosuchuser", base, time.Hour), store.ErrNotFound)
	ids, err := s.ListIdentities(ctx(t), "nosuchuser")
	if err != nil || len(ids) != 0 {
		t.Fatalf("ListIdentities(unknown) = %v, %v; want empty", ids, err)
	}
}

// testTouchUser: accessedAt moves at most once per period (Appwrite's
// APP_USER_ACCESS), and never moves UpdatedAt.
func testTouchUser(t *testing.T, s store.Store) {
	id := newUser(t, s, "touch") // UpsertIdentity set AccessedAt = base
	accessed := func() time.Time {
		t.Helper()
		u, err := s.GetUser(ctx(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if !u.UpdatedAt.Equal(store.Normalize(base)) {
			t.Fatalf("TouchUser changed UpdatedAt to %v", u.UpdatedAt)
		}
		return u.AccessedAt
	}
	steps := []struct {
		at   time.Time
		want time.Time
	}{
		{base.Add(30 * time.Minute), base},                 // within the hour: unchanged
		{base.Add(3 * time.Hour), base.Add(3 * time.Hour)}, // past it: moved
		{base.Add(3*time.Hour + 59*time.Minute), base.Add(3 * time.Hour)},
		{base.Add(4 * time.Hour), base.Add(4 * time.Hour)},
	}
	for i, st := range steps {
		if err := s.TouchUser(ctx(t), id, st.at, time.Hour); err != nil {
			t.Fatalf("TouchUser %d: %v", i, err)
		}
		if got := accessed(); !got.Equal(store.Normalize(st.want)) {
			t.Fatalf("step %d: AccessedAt = %v, want %v", i, got, store.Normalize(st.want))
		}
	}
}
