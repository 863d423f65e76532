package memstore

import (
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/storetest"
)

// The in-memory store the tests use must behave like the real backends, or
// the tests built on it would prove nothing.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return New() })
}
