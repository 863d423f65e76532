package app

import (
	"context"
	"encoding/base64"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/reseal"
	"github.com/sessionbridge/sessionbridge/bridge/seal"
	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/internal/devissuer"
	"github.com/sessionbridge/sessionbridge/internal/testenv"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// keys reseal runs while a refresher rotates every grant about once a
// second, on SQLite and PostgreSQL: afterwards no token needs the old key,
// no session is gone, and every stored refresh token is still the current
// one at the provider (a lost rotation would make a later refresh fail).
func TestResealWhileRefreshing(t *testing.T) {
	for _, driver := range []string{"sqlite", "postgres"} {
		t.Run(driver, func(t *testing.T) { testResealWhileRefreshing(t, driver) })
	}
}

func testResealWhileRefreshing(t *testing.T, driver string) {
	const sessions = 24
	oldKey, newKey := testenv.RandomBase64(32), testenv.RandomBase64(32)
	h := newHarness(t, harnessOptions{
		issuer:    devissuer.Options{RotateRefreshTokens: true, AccessTokenTTL: 4 * time.Second},
		noRefresh: true,
		mutateConf: func(c *config.Config) {
			c.Secrets.TokenKeys = []string{oldKey}
			c.Session.MaxPerUser = 100 // every login is the same user
			if driver == "postgres" {
				c.Store = config.Store{Driver: "postgres", DSN: testpg.FreshDSN(t, testpg.DSN(t), "reseal")}
			}
		},
	})
	for i := 0; i < sessions; i++ {
		h.login(t, h.browser())
	}

	// A second process with the new key first: its refresher rotates the
	// grants while the reseal runs.
	cfg2 := *h.cfg
	cfg2.Secrets = config.Secrets{SessionKeys: h.cfg.Secrets.SessionKeys, TokenKeys: []string{newKey, oldKey}}
	if err := cfg2.Validate(); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(h.logs, nil))
	a2, err := Build(context.Background(), &cfg2, log, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a2.Close()
	runCtx, stopRefresher := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = a2.Refresher.Run(runCtx) })
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			stopRefresher()
			wg.Wait()
		}
	}
	defer stop()

	before := h.iss.Stats().RefreshRequests
	waitFor(t, 60*time.Second, "the refresher to rotate grants", func() bool {
		return h.iss.Stats().RefreshRequests > before
	})
	keys, err := seal.New(cfg2.Secrets.TokenKeyBytes)
	if err != nil {
		t.Fatal(err)
	}
	// Small, slowed batches, so that refreshes land between them.
	res, err := reseal.Run(context.Background(), a2.Store, keys, reseal.Options{Batch: 2, Pause: 50 * time.Millisecond,
		Progress: func(reseal.Result) { time.Sleep(100 * time.Millisecond) }})
	if err != nil {
		t.Fatalf("reseal: %v", err)
	}
	during := h.iss.Stats().RefreshRequests - before
	stop()
	if res.Leased != 0 || res.Unreadable != 0 || res.Scanned != sessions || res.Resealed+res.Current != sessions {
		t.Fatalf("reseal result %+v, want %d scanned, none leased or unreadable", res, sessions)
	}
	t.Logf("reseal %+v; %d refreshes before it ended", res, during)

	// Nothing needs the old key: the new key alone opens every token.
	onlyNew, err := seal.New([][]byte{mustDecode(t, newKey)})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := a2.Store.ScanSessions(context.Background(), store.SessionFilter{}, "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != sessions {
		t.Fatalf("%d sessions left, want %d: a refresh lost a grant", len(rows), sessions)
	}
	for _, s := range rows {
		for col, v := range map[string][]byte{"access": s.AccessTokenSealed, "refresh": s.RefreshTokenSealed} {
			if _, err := onlyNew.Open(v, seal.AAD(s.ID, col)); err != nil || len(v) == 0 {
				t.Errorf("session %s %s token does not open with the new key alone: %v", s.ID, col, err)
			}
		}
	}
	// Every stored refresh token is the provider's current one.
	for _, s := range rows {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if _, err := a2.Refresher.RefreshNow(ctx, s.ID); err != nil {
			t.Errorf("refresh of session %s after the reseal: %v", s.ID, err)
		}
		cancel()
	}
	if n := h.iss.MaxUsesOfAnyRefreshToken(); n > 1 {
		t.Errorf("a refresh token was sent %d times: a rotated token was lost", n)
	}
}

func mustDecode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
