package postgres

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// changeFixture opens a store on a fresh schema with one user's sessions.
func changeFixture(t *testing.T, ids ...string) (*Store, string) {
	t.Helper()
	dsn := freshSchema(t, testDSN(t))
	s, err := Open(t.Context(), dsn, 4)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	now := time.Now().UTC()
	u, err := s.UpsertIdentity(t.Context(), store.IdentityInput{Provider: "p", ProviderUID: "u"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		sess := store.Session{ID: id, UserID: u.ID, CreatedAt: now, UpdatedAt: now, Expire: now.Add(time.Hour),
			SecretHash: []byte("h"), Provider: "p", AccessTokenSealed: []byte("a")}
		if err := s.CreateSession(t.Context(), &sess); err != nil {
			t.Fatal(err)
		}
	}
	return s, dsn
}

func poll(t *testing.T, s *Store, cursor string) store.ChangeBatch {
	t.Helper()
	b, err := s.ChangesSince(t.Context(), cursor)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// beginElsewhere opens a transaction on a connection of its own (not the
// store's pool), rolled back and closed when the test ends.
func beginElsewhere(t *testing.T, dsn string) pgx.Tx {
	t.Helper()
	conn, err := testpg.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	tx, err := conn.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

// TestChangesStampedAtWriteTime: a change is stamped when it is written,
// not when its transaction began (now()), so a long transaction's changes
// are not pruned early.
func TestChangesStampedAtWriteTime(t *testing.T) {
	_, dsn := changeFixture(t, "a")
	tx := beginElsewhere(t, dsn)
	var later bool
	if _, err := tx.Exec(t.Context(), "SELECT pg_sleep(0.02)"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), "DELETE FROM sessions WHERE id = 'a'"); err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(t.Context(), "SELECT bool_and(at > now()) FROM changes").Scan(&later); err != nil {
		t.Fatal(err)
	}
	if !later {
		t.Fatal("a change is stamped with its transaction's start, not the time of the write")
	}
}

// TestChangesNotReReadBehindAnOpenTransaction: a transaction left open
// elsewhere (holding the cluster's xmin back) neither makes polls report
// old changes again nor hides its own changes once it commits.
func TestChangesNotReReadBehindAnOpenTransaction(t *testing.T) {
	s, dsn := changeFixture(t, "a", "b")
	tx := beginElsewhere(t, dsn)
	if _, err := tx.Exec(t.Context(), "DELETE FROM sessions WHERE id = 'b'"); err != nil { // takes a txid, stays open
		t.Fatal(err)
	}
	b := poll(t, s, "")
	if err := s.DeleteSession(t.Context(), "a"); err != nil {
		t.Fatal(err)
	}
	b = poll(t, s, b.Cursor)
	if !slices.Contains(b.Sessions, "a") || slices.Contains(b.Sessions, "b") {
		t.Fatalf("first poll: %v, want a (b is not committed)", b.Sessions)
	}
	b = poll(t, s, b.Cursor)
	if len(b.Sessions)+len(b.Users) != 0 || b.All {
		t.Fatalf("second poll reported %+v again, want nothing new", b)
	}
	if err := tx.Commit(t.Context()); err != nil {
		t.Fatal(err)
	}
	b = poll(t, s, b.Cursor)
	if !slices.Equal(b.Sessions, []string{"b"}) {
		t.Fatalf("after the open transaction committed: %v, want [b]", b.Sessions)
	}
}

// TestChangesTruncateMeansAll: TRUNCATE records one change meaning all.
func TestChangesTruncateMeansAll(t *testing.T) {
	s, dsn := changeFixture(t, "a")
	b := poll(t, s, "")
	testpg.Exec(t, dsn, "TRUNCATE sessions CASCADE")
	if b = poll(t, s, b.Cursor); !b.All {
		t.Fatalf("after TRUNCATE: %+v, want All", b)
	}
}
