package storemetrics

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/sqlite"
)

func TestTimesOperationsAndUnwraps(t *testing.T) {
	raw, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	reg := prometheus.NewRegistry()
	st, err := Wrap(raw, reg)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetSession(context.Background(), "nope"); err == nil {
		t.Fatal("GetSession of a missing session succeeded")
	}
	if n := testutil.CollectAndCount(st.hist); n != 2 {
		t.Errorf("%d operation series, want 2 (ping, get_session)", n)
	}
	if Unwrap(st) != store.Store(raw) || Unwrap(raw) != store.Store(raw) {
		t.Errorf("Unwrap does not return the backend")
	}
}
