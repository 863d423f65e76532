package reseal

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/sqlite"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
)

func key(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	copy(b, testenv.RandomBase64(32))
	return b
}

// seed stores n sessions whose tokens are sealed with old.
func seed(t *testing.T, st store.Store, old *seal.Keyring, n int, now time.Time) []string {
	t.Helper()
	ctx := context.Background()
	u, err := st.UpsertIdentity(ctx, store.IdentityInput{Provider: "p", ProviderUID: "u"}, now)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 0; i < n; i++ {
		s := store.Session{ID: store.NewID(), UserID: u.ID, CreatedAt: now, UpdatedAt: now, Expire: now.Add(time.Hour),
			SecretHash: []byte("h"), Provider: "p"}
		if s.AccessTokenSealed, err = old.Seal("access-"+s.ID, seal.AAD(s.ID, "access")); err != nil {
			t.Fatal(err)
		}
		if s.RefreshTokenSealed, err = old.Seal("refresh-"+s.ID, seal.AAD(s.ID, "refresh")); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			s.LeaseOwner, s.LeaseUntil = "another-process", now.Add(time.Hour) // a refresh in flight
		}
		if err := st.CreateSession(ctx, &s); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	return ids
}

func TestRunResealsAllButLeasedRows(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	k1, k2 := key(t), key(t)
	old, _ := seal.New([][]byte{k1})
	both, _ := seal.New([][]byte{k2, k1})
	now := time.Now()
	ids := seed(t, st, old, 7, now)

	stale, scanned, err := Count(context.Background(), st, both, 3)
	if err != nil || stale != 7 || scanned != 7 {
		t.Fatalf("Count before = %d of %d (%v), want 7 of 7", stale, scanned, err)
	}
	var pages int
	res, err := Run(context.Background(), st, both, Options{Batch: 3, LeasedRetry: time.Millisecond, Pause: time.Millisecond,
		Progress: func(Result) { pages++ }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Scanned != 7 || res.Resealed != 6 || res.Leased != 1 || pages != 3 {
		t.Fatalf("result %+v after %d progress calls, want 7 scanned, 6 resealed, 1 leased, 3 pages", res, pages)
	}
	onlyNew, _ := seal.New([][]byte{k2})
	for _, id := range ids[1:] {
		s, err := st.GetSession(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := onlyNew.Open(s.RefreshTokenSealed, seal.AAD(id, "refresh")); err != nil || got != "refresh-"+id {
			t.Errorf("session %s: refresh token %q, %v after reseal", id, got, err)
		}
		if s.Version != 2 {
			t.Errorf("session %s version %d, want 2 (one compare-and-swap)", id, s.Version)
		}
	}
	if stale, _, _ := Count(context.Background(), st, both, 0); stale != 1 {
		t.Errorf("Count after = %d, want 1 (the leased row)", stale)
	}
}

func TestRunCountsUnreadableRows(t *testing.T) {
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	gone, _ := seal.New([][]byte{key(t)})
	seed(t, st, gone, 3, time.Now())
	// The old key is no longer configured: its rows cannot be opened.
	current, _ := seal.New([][]byte{key(t)})
	res, err := Run(context.Background(), st, current, Options{LeasedRetry: time.Millisecond, Pause: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unreadable != 2 || res.Leased != 1 || res.Resealed != 0 {
		t.Errorf("result %+v, want 2 unreadable, 1 leased", res)
	}
}
