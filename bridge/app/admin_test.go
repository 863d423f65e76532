package app

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// An operator's revoke (sessions revoke) goes through the domain path of
// an API revoke: counted as revoked, and the running server stops
// accepting the session at once.
func TestAdminRevokeIsAnAPIRevoke(t *testing.T) {
	h := newHarness(t, harnessOptions{noRefresh: true})
	b := h.browser()
	h.login(t, b)
	cookie := h.sessionCookie(t, b)
	if status, _ := h.api(t, "GET", "/v1/account", cookie, nil); status != 200 {
		t.Fatalf("session does not work before the revoke: %d", status)
	}
	adm, err := OpenAdmin(context.Background(), h.cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	list, err := adm.Store.ScanSessions(context.Background(), store.SessionFilter{Provider: "corp"}, "", 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("scan: %v, %d sessions", err, len(list))
	}
	if err := adm.Service.DeleteSession(context.Background(), list[0].UserID, list[0].ID, lifecycle.Revoked); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(adm.Ended.Counter().WithLabelValues("corp", string(lifecycle.Revoked))); n != 1 {
		t.Errorf("sessions_ended_total{provider=corp,reason=revoked} = %v, want 1", n)
	}
	// The server is another process as far as its session cache knows:
	// it learns the revoke from the store's change feed (within a second).
	waitFor(t, 15*time.Second, "the running server to refuse the revoked session", func() bool {
		status, _ := h.api(t, "GET", "/v1/account", cookie, nil)
		return status == 401
	})
}
