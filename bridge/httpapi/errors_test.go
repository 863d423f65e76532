package httpapi

import (
	"net/http"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge"
)

// TestErrorStatus pins the status of every domain error kind: the code
// in the JSON body is what Appwrite's SDKs switch on, so a kind must keep
// the status Appwrite answers with.
func TestErrorStatus(t *testing.T) {
	for kind, want := range map[bridge.ErrorKind]int{
		bridge.KindInternal:          http.StatusInternalServerError,
		bridge.KindInvalid:           http.StatusBadRequest,
		bridge.KindUnauthorized:      http.StatusUnauthorized,
		bridge.KindForbidden:         http.StatusForbidden,
		bridge.KindNotFound:          http.StatusNotFound,
		bridge.KindConflict:          http.StatusConflict,
		bridge.KindDisabled:          http.StatusPreconditionFailed,
		bridge.KindUnsupportedFormat: http.StatusUnsupportedMediaType,
		bridge.KindProviderFailed:    http.StatusFailedDependency,
		bridge.KindRateLimited:       http.StatusTooManyRequests,
		bridge.KindUnavailable:       http.StatusServiceUnavailable,
		bridge.KindTimeout:           http.StatusGatewayTimeout,
		bridge.ErrorKind(200):        http.StatusInternalServerError, // unknown: never a success
	} {
		if got := status(&bridge.Error{Kind: kind}); got != want {
			t.Errorf("status(kind %d) = %d, want %d", kind, got, want)
		}
		if got, caller := status(&bridge.Error{Kind: kind}) < 500, kind.CallerFault(); got != caller {
			t.Errorf("kind %d: status %d but CallerFault %v", kind, status(&bridge.Error{Kind: kind}), caller)
		}
	}
}
