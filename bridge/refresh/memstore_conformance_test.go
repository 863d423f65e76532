package refresh

import (
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/storetest"
)

// The in-memory store the refresher's tests use must behave like the real
// backends, or the tests would prove nothing.
func TestMemStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newMemStore() })
}
