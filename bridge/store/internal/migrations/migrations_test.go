package migrations

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

func TestLoadOrdersByVersion(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_later.sql":  {Data: []byte("B")},
		"m/0002_second.sql": {Data: []byte("A")},
		"m/0001_init.sql":   {Data: []byte("I")},
	}
	all, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range all {
		got = append(got, m.Name+"="+m.SQL)
	}
	want := []string{"0001_init.sql=I", "0002_second.sql=A", "0010_later.sql=B"}
	if len(got) != len(want) {
		t.Fatalf("Load = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Load = %q, want %q", got, want)
		}
	}
	if all[2].Version != 10 {
		t.Errorf("version of 0010_later.sql = %d", all[2].Version)
	}
}

func TestLoadRejectsBadNamesAndEmptyDirs(t *testing.T) {
	for _, name := range []string{"init.sql", "0000_zero.sql", "x1_bad.sql", "-1_neg.sql"} {
		if _, err := Load(fstest.MapFS{"m/" + name: {}}, "m"); err == nil {
			t.Errorf("Load accepted %q", name)
		}
	}
	if _, err := Load(fstest.MapFS{"other/0001_a.sql": {}}, "m"); err == nil {
		t.Error("Load of a missing directory succeeded")
	}
	if _, err := Load(fstest.MapFS{"m": {Mode: fs.ModeDir | 0o755}}, "m"); err == nil {
		t.Error("Load of an empty directory succeeded")
	}
}

func TestPending(t *testing.T) {
	all := []Migration{{Version: 1}, {Version: 2}, {Version: 5}}
	for _, tc := range []struct{ current, first, n int }{
		{0, 1, 3}, {1, 2, 2}, {2, 5, 1}, {3, 5, 1}, {5, 0, 0},
	} {
		got, err := Pending(all, tc.current)
		if err != nil {
			t.Fatalf("Pending(%d): %v", tc.current, err)
		}
		if len(got) != tc.n || (tc.n > 0 && got[0].Version != tc.first) {
			t.Errorf("Pending(%d) = %v, want %d starting at %d", tc.current, got, tc.n, tc.first)
		}
	}
	_, err := Pending(all, 6)
	if !errors.Is(err, store.ErrSchemaTooNew) || err.Error() != "schema version 6, this binary knows up to 5: "+store.ErrSchemaTooNew.Error() {
		t.Fatalf("Pending(6) = %v, want ErrSchemaTooNew", err)
	}
}
