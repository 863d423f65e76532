// Package walls has no code of its own: its test holds the dependency
// rules between the module's packages (which may not import which) as a
// table and checks them over the whole module with `go list`, so that a
// crossed wall fails CI.
package walls
