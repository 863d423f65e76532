package sqlite

import (
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/store/storetest"
)

// BenchmarkLoginWrites times the store calls of one browser login
// (storetest.BenchLoginWrites; PostgreSQL has the same benchmark).
func BenchmarkLoginWrites(b *testing.B) {
	storetest.BenchLoginWrites(b, openTemp(b))
}
