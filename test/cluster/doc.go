// Package cluster holds multi-process tests: they build cmd/sessionbridge,
// run several `serve` and `refresh` processes on one store (a SQLite file,
// or a PostgreSQL schema) against a fake OpenID provider that rotates
// refresh tokens and detects their reuse (internal/devissuer, run in the
// test process), create sessions through real browser logins, and check
// that the processes together refresh every token exactly once, before it
// expires, even when one of them is killed or the database goes away.
//
// The PostgreSQL tests use $SESSIONBRIDGE_TEST_POSTGRES or
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable, each in a fresh
// schema. When the database is unreachable they skip, except when CI=true or
// the variable is set, where they fail.
//
// The load measurement (aggregate refresh rate with one, two and three
// `refresh` processes) builds only with the load tag:
//
//	go test -tags load ./test/cluster -run TestRefreshRateLoad -v
//
// The package has no non-test code; this file only documents it.
package cluster
