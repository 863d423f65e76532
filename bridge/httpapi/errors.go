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

// writeError renders err as Appwrite error JSON and logs server errors.
// Only the safe Message reaches the client.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := bridge.AsError(err)
	if e.Code >= 500 {
		s.log.Error("request failed", "method", r.Method, "route", r.Pattern, "type", e.Type, "err", err)
	} else if e.Err != nil {
		s.log.Info("request refused", "method", r.Method, "route", r.Pattern, "type", e.Type, "err", err)
	}
	writeJSON(w, e.Code, errorBody{Message: e.Message, Code: e.Code, Type: e.Type, Version: appwriteVersion})
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
var errNotFound = &bridge.Error{Type: bridge.TypeRouteNotFound, Code: http.StatusNotFound, Message: "The requested route was not found. Please refer to the API docs and try again."}
