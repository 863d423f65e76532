package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"

	"github.com/sessionbridge/sessionbridge/bridge"
	"github.com/sessionbridge/sessionbridge/bridge/config"
	"github.com/sessionbridge/sessionbridge/bridge/httpapi/queries"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// The user-level routes a backend written against Appwrite's server SDK
// calls: list users, identities with their fresh provider tokens, user
// status, deletion, preferences and name.

// maxUserBody bounds the JSON body of the user routes: preferences of
// bridge.MaxPrefsSize with room for the envelope and escapes.
const maxUserBody = 2*bridge.MaxPrefsSize + 1024

// decodeJSON reads a JSON object body into v; an empty body leaves v as
// it is (every field of these routes is optional or checked after).
func decodeJSON(r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxUserBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return bridge.ErrArgument("The request body is larger than " + strconv.Itoa(maxUserBody) + " bytes.")
	}
	if err != nil {
		return bridge.ErrArgument("The request body could not be read.")
	}
	if len(body) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return bridge.ErrArgument("The request body is not valid JSON: " + strconv.Quote(shortJSONError(err)))
	}
	return nil
}

// parseList reads a list route's queries[], search and total.
func parseList(r *http.Request, filterable ...string) (queries.List, error) {
	l, err := queries.Parse(r.URL.Query(), filterable...)
	var qe *queries.Error
	if errors.As(err, &qe) {
		return l, bridge.ErrArgument(qe.Message)
	}
	return l, err
}

func pageOf(l queries.List) store.Page {
	return store.Page{Limit: l.Limit, Offset: l.Offset, CursorAfter: l.CursorAfter, Search: l.Search, CountTotal: l.Total}
}

// listUsers is Appwrite's users.list (GET /v1/users).
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c caller) {
	l, err := parseList(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, total, err := s.svc.ListUsers(r.Context(), pageOf(l))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]userJSON, 0, len(list))
	for _, u := range list {
		out = append(out, newUserJSON(u))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "users": out})
}

// identityFilterable are the attributes equal queries may filter
// identities on.
var identityFilterable = []string{"userId", "provider"}

// listAllIdentities is Appwrite's users.listIdentities (GET
// /v1/users/identities): every user's identities, with all three tokens.
func (s *Server) listAllIdentities(w http.ResponseWriter, r *http.Request, c caller) {
	l, err := parseList(r, identityFilterable...)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f := store.IdentityFilter{UserIDs: l.Equal["userId"], Providers: l.Equal["provider"]}
	s.writeIdentities(w, r, c, f, l)
}

// listIdentities is account.listIdentities (GET /v1/account/identities):
// the caller's own identities.
func (s *Server) listIdentities(w http.ResponseWriter, r *http.Request, c caller) {
	l, err := parseList(r, identityFilterable...)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	own := c.session.UserID
	if ids, ok := l.Equal["userId"]; ok && !slices.Contains(ids, own) {
		writeJSON(w, http.StatusOK, map[string]any{"total": 0, "identities": []identityJSON{}})
		return
	}
	s.writeIdentities(w, r, c, store.IdentityFilter{UserIDs: []string{own}, Providers: l.Equal["provider"]}, l)
}

// writeIdentities answers an identity list. ?fresh=true (an extension of
// sessionbridge's, not Appwrite's) renews grants whose access token is
// about to expire before answering.
func (s *Server) writeIdentities(w http.ResponseWriter, r *http.Request, c caller, f store.IdentityFilter, l queries.List) {
	fresh := false
	if v := r.URL.Query().Get("fresh"); v != "" {
		var err error
		if fresh, err = strconv.ParseBool(v); err != nil {
			s.writeError(w, r, bridge.ErrArgument("Invalid `fresh` param: Value must be a valid boolean."))
			return
		}
	}
	list, total, err := s.svc.FindIdentities(r.Context(), f, pageOf(l), fresh)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	showRefresh := c.apiKey != nil || s.o.ExposeRefreshToken
	out := make([]identityJSON, 0, len(list))
	for _, i := range list {
		out = append(out, newIdentityJSON(i, showRefresh))
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "identities": out})
}

// deleteOwnIdentity is account.deleteIdentity. When the caller's own
// session was one of those it ended, its cookie is cleared too.
func (s *Server) deleteOwnIdentity(w http.ResponseWriter, r *http.Request, c caller) {
	ident, err := s.svc.DeleteIdentity(r.Context(), c.session.UserID, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if c.value != "" && ident.Provider == c.session.Provider && ident.ProviderUID == c.session.ProviderUID {
		http.SetCookie(w, s.sessionCookie("", c.session.Expire))
		s.setFallbackCookie(w, r, "")
	}
	w.WriteHeader(http.StatusNoContent)
}

// deleteUserSub serves DELETE /v1/users/{userId}/{sub}: users.deleteIdentity
// (DELETE /v1/users/identities/{id}, users.write) and
// users.deleteSessions (DELETE /v1/users/{userId}/sessions,
// sessions.write). One pattern serves both because Go's mux refuses two
// patterns that both match /v1/users/identities/sessions.
func (s *Server) deleteUserSub(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.PathValue("userId") == "identities":
		s.withKey(config.ScopeUsersWrite, func(w http.ResponseWriter, r *http.Request, c caller) {
			if _, err := s.svc.DeleteIdentity(r.Context(), "", r.PathValue("sub")); err != nil {
				s.writeError(w, r, err)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		})(w, r)
	case r.PathValue("sub") == "sessions":
		s.withKey(config.ScopeUsersWrite, s.deleteUserSessions)(w, r)
	default:
		s.writeError(w, r, errNotFound)
	}
}

// deleteUser is users.delete.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, c caller) {
	if err := s.svc.DeleteUser(r.Context(), r.PathValue("userId")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// updateUserStatus is users.updateStatus: {"status": false} blocks.
func (s *Server) updateUserStatus(w http.ResponseWriter, r *http.Request, c caller) {
	var in struct {
		Status *bool `json:"status"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Status == nil {
		s.writeError(w, r, bridge.ErrArgument("Param \"status\" is not optional."))
		return
	}
	u, err := s.svc.SetUserStatus(r.Context(), r.PathValue("userId"), *in.Status)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newUserJSON(u))
}

// prefsBody is the body of the updatePrefs routes.
type prefsBody struct {
	Prefs json.RawMessage `json:"prefs"`
}

func (s *Server) getAccountPrefs(w http.ResponseWriter, r *http.Request, c caller) {
	s.writePrefs(w, r, c.session.UserID)
}

func (s *Server) getUserPrefs(w http.ResponseWriter, r *http.Request, c caller) {
	s.writePrefs(w, r, r.PathValue("userId"))
}

func (s *Server) writePrefs(w http.ResponseWriter, r *http.Request, userID string) {
	u, err := s.svc.User(r.Context(), userID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, prefsOf(u))
}

// updateAccountPrefs is account.updatePrefs: it answers the User.
func (s *Server) updateAccountPrefs(w http.ResponseWriter, r *http.Request, c caller) {
	if u, ok := s.setPrefs(w, r, c.session.UserID); ok {
		writeJSON(w, http.StatusOK, newUserJSON(u))
	}
}

// updateUserPrefs is users.updatePrefs: it answers the preferences.
func (s *Server) updateUserPrefs(w http.ResponseWriter, r *http.Request, c caller) {
	if u, ok := s.setPrefs(w, r, r.PathValue("userId")); ok {
		writeJSON(w, http.StatusOK, prefsOf(u))
	}
}

func (s *Server) setPrefs(w http.ResponseWriter, r *http.Request, userID string) (store.User, bool) {
	var in prefsBody
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return store.User{}, false
	}
	if len(in.Prefs) == 0 {
		s.writeError(w, r, bridge.ErrArgument("Param \"prefs\" is not optional."))
		return store.User{}, false
	}
	u, err := s.svc.SetPrefs(r.Context(), userID, in.Prefs)
	if err != nil {
		s.writeError(w, r, err)
		return store.User{}, false
	}
	return u, true
}

// updateAccountName is account.updateName; updateUserName users.updateName.
func (s *Server) updateAccountName(w http.ResponseWriter, r *http.Request, c caller) {
	s.setName(w, r, c.session.UserID)
}

func (s *Server) updateUserName(w http.ResponseWriter, r *http.Request, c caller) {
	s.setName(w, r, r.PathValue("userId"))
}

func (s *Server) setName(w http.ResponseWriter, r *http.Request, userID string) {
	var in struct {
		Name *string `json:"name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		s.writeError(w, r, err)
		return
	}
	if in.Name == nil {
		s.writeError(w, r, bridge.ErrArgument("Param \"name\" is not optional."))
		return
	}
	u, err := s.svc.SetName(r.Context(), userID, *in.Name)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, newUserJSON(u))
}
