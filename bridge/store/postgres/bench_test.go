package postgres

import (
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/store/storetest"
	"github.com/sessionbridge/sessionbridge/internal/testenv/testpg"
)

// BenchmarkLoginWrites times the store calls of one browser login
// (storetest.BenchLoginWrites) on a fresh schema.
func BenchmarkLoginWrites(b *testing.B) {
	s, err := Open(b.Context(), testpg.FreshDSN(b, testpg.DSN(b), "sbbench_"), 8)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchLoginWrites(b, s)
}
