package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/sessionbridge/sessionbridge/bridge"
)

// appwriteVersion is reported in error bodies, as Appwrite does.
const appwriteVersion = "1.8.0"

// errorBody is Appwrite's error JSON.
type errorBody struct {
	Message string `json:"message"`
	Code    int    `json:"code"`
	Type    string `json:"type"`
	Version string `json:"version"`
}

// kindStatus is the HTTP status of each domain error kind: the codes
// Appwrite answers with for the same failures, which its SDKs see as the
// error's code.
var kindStatus = map[bridge.ErrorKind]int{
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
}

// status is the HTTP status of a domain error (500 for a kind the table
// does not know).
func status(e *bridge.Error) int {
	if code, ok := kindStatus[e.Kind]; ok {
		return code
	}
	return http.StatusInternalServerError
}

// writeError renders err as Appwrite error JSON and logs server errors.
// Only the safe Message reaches the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := bridge.AsError(err)
	code := status(e)
	if code >= 500 {
		s.log.Error("request failed", "method", r.Method, "route", r.Pattern, "type", e.Type, "err", err)
	} else if e.Err != nil {
		s.log.Info("request refused", "method", r.Method, "route", r.Pattern, "type", e.Type, "err", err)
	}
	writeJSON(w, code, errorBody{Message: e.Message, Code: code, Type: e.Type, Version: appwriteVersion})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// wantsJSON reports whether the client prefers a JSON answer to a page.
func wantsJSON(r *http.Request) bool {
	accept := r.Header.Get("Accept")
	if strings.Contains(accept, "application/json") {
		return true
	}
	if strings.Contains(accept, "text/html") {
		return false
	}
	// SDKs send X-Appwrite-Response-Format / X-SDK-* headers and no Accept: text/html.
	return r.Header.Get("X-SDK-Name") != "" || r.Header.Get("X-Appwrite-Response-Format") != "" || accept == ""
}

// errNotFound is the answer for unknown routes.
var errNotFound = &bridge.Error{Type: bridge.TypeRouteNotFound, Kind: bridge.KindNotFound, Message: "The requested route was not found. Please refer to the API docs and try again."}
