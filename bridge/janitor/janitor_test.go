package janitor

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/postgres"
	"github.com/sessionbridge/sessionbridge/bridge/store/sqlite"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// fullStore is what the tests seed and check.
type fullStore interface {
	store.Store
}

// backends opens a fresh SQLite file and a fresh PostgreSQL schema.
func backends(t testing.TB) map[string]func(testing.TB) fullStore {
	return map[string]func(testing.TB) fullStore{
		"sqlite": func(t testing.TB) fullStore {
			st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "janitor.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
		"postgres": func(t testing.TB) fullStore {
			dsn := testpg.FreshDSN(t, testpg.DSN(t), "janitor")
			st, err := postgres.Open(context.Background(), dsn, 8)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
	}
}

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// seed stores flows and login tokens that expired before now, and
// sessions of users (one user per 100 sessions) of which `expired` are
// past their expire and `live` are not. It returns the user IDs.
func seed(t testing.TB, st fullStore, now time.Time, flows, tokens, expired, live int) []string {
	t.Helper()
	ctx := context.Background()
	for i := range flows {
		if err := st.CreateFlow(ctx, store.LoginFlow{ID: fmt.Sprintf("flow-%d", i), Provider: "p", Mode: "session",
			Success: "https://app/ok", CreatedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	var users []string
	user := func(i int) string {
		if i/100 >= len(users) {
			u, err := st.UpsertIdentity(ctx, store.IdentityInput{Provider: "p", ProviderUID: fmt.Sprintf("u%d", i/100)}, now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			users = append(users, u.ID)
		}
		return users[i/100]
	}
	for i := range tokens {
		if err := st.CreateLoginToken(ctx, store.LoginToken{SecretHash: []byte(fmt.Sprintf("tok-%d", i)), UserID: user(0),
			ExpiresAt: now.Add(-time.Second), Session: store.Session{ID: fmt.Sprintf("pending-%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range expired + live {
		expire := now.Add(-time.Duration(i+1) * time.Second)
		if i >= expired {
			expire = now.Add(time.Hour)
		}
		s := &store.Session{ID: fmt.Sprintf("s-%d", i), UserID: user(i), CreatedAt: now.Add(-2 * time.Hour),
			UpdatedAt: now.Add(-2 * time.Hour), Expire: expire, SecretHash: []byte("h"),
			Provider: []string{"github", "corp"}[i%2]}
		if err := st.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return users
}

func newJanitor(t testing.TB, st Store, owner string, now func() time.Time, batch int) (*Janitor, *prometheus.Registry, *lifecycle.Recorder) {
	t.Helper()
	reg := prometheus.NewRegistry()
	ended, err := lifecycle.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	j, err := New(Options{Store: st, Owner: owner, Batch: batch, Ended: ended, Registerer: reg, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return j, reg, ended
}

// TestJanitor: one run per minute per cluster deletes every expired flow,
// login token and session in bounded batches, counts them (rows deleted,
// sessions ended as expired, by provider), and keeps users and live
// sessions.
func TestJanitor(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			users := seed(t, st, t0, 25, 10, 30, 5)
			now := t0
			clock := func() time.Time { return now }
			j, _, ended := newJanitor(t, st, "a", clock, 7)
			other, _, _ := newJanitor(t, st, "b", clock, 7)

			res, err := j.RunOnce(context.Background())
			if err != nil || !res.Ran || res.Flows != 35 || res.Sessions != 30 {
				t.Fatalf("first run = %+v, %v; want 35 flows and tokens, 30 sessions", res, err)
			}
			if res.Batches < 35/7+30/7 {
				t.Errorf("%d batches of at most 7 for 65 rows", res.Batches)
			}
			if got := testutil.ToFloat64(j.deleted.WithLabelValues("flows")); got != 35 {
				t.Errorf("deleted{flows} = %v", got)
			}
			if got := testutil.ToFloat64(j.deleted.WithLabelValues("sessions")); got != 30 {
				t.Errorf("deleted{sessions} = %v", got)
			}
			for _, p := range []string{"github", "corp"} {
				if got := testutil.ToFloat64(ended.Counter().WithLabelValues(p, string(lifecycle.Expired))); got != 15 {
					t.Errorf("sessions_ended{%s,expired} = %v, want 15", p, got)
				}
			}
			// Another process within the minute skips; so does this one.
			now = t0.Add(59 * time.Second)
			for _, jj := range []*Janitor{other, j} {
				if res, err := jj.RunOnce(context.Background()); err != nil || res.Ran {
					t.Fatalf("a run within the minute = %+v, %v", res, err)
				}
			}
			now = t0.Add(time.Minute)
			if res, err := other.RunOnce(context.Background()); err != nil || !res.Ran || res.Flows+res.Sessions != 0 {
				t.Fatalf("the next minute's run = %+v, %v", res, err)
			}
			ctx := context.Background()
			for _, u := range users {
				if _, err := st.GetUser(ctx, u); err != nil {
					t.Fatalf("user %s went with its sessions: %v", u, err)
				}
			}
			var live int
			for _, u := range users {
				l, _ := st.ListSessions(ctx, u)
				live += len(l)
			}
			if live != 5 {
				t.Fatalf("live sessions = %d, want 5", live)
			}
		})
	}
}

// TestJanitorLogsEachRunAtDebug: one debug line per run, with counts.
func TestJanitorLogsEachRunAtDebug(t *testing.T) {
	st := backends(t)["sqlite"](t)
	seed(t, st, t0, 3, 0, 2, 0)
	var buf strings.Builder
	j, err := New(Options{Store: st, Owner: "a", Now: func() time.Time { return t0 }, Logger: newDebugLogger(&buf)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if out := buf.String(); strings.Count(out, "janitor run") != 1 || !strings.Contains(out, "flows_deleted=3") || !strings.Contains(out, "sessions_deleted=2") {
		t.Fatalf("log = %q", out)
	}
}
