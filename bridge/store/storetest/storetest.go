// Package storetest is the conformance suite every store.Store backend
// must pass. It pins down what store.go's doc comments leave to the
// backend, so that the service and the refresher can rely on one
// behaviour whether they run on SQLite or PostgreSQL:
//
//   - Times are kept to store.Precision (microseconds, truncated) and come
//     back in UTC; the zero time comes back zero.
//   - Byte slices come back byte-exact; a nil slice may come back nil or
//     empty (both mean "absent"). The same holds for LoginFlow.Scopes.
//   - UpsertIdentity sets CreatedAt (on creation), UpdatedAt and AccessedAt
//     to now. An empty Email or Name in the input keeps the stored value
//     (some providers, e.g. Apple, send the name only on the first login);
//     EmailVerified follows the email it came with.
//   - GetUser, TouchUser, GetSession, DeleteSession, CompareAndSwapSession
//     and ClaimGrant return store.ErrNotFound for an unknown ID;
//     ListIdentities and ListSessions return an empty list.
//   - ListSessions orders by CreatedAt, then ID.
//   - A lease has run out when LeaseUntil <= now; a grant is due when
//     RefreshAt <= now. ClaimGrant lets the current owner renew its own
//     lease. ClaimDueGrants returns the rows earliest RefreshAt first.
//   - A flow or login token is expired when ExpiresAt <= now; a session
//     when Expire < now (DeleteExpiredSessions).
//
// Every subtest opens its own store, so a backend's open function must
// return an empty, isolated store (a fresh file or schema) and arrange
// its cleanup with t.Cleanup. Subtests run in parallel.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Run runs the whole conformance suite against stores made by open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	groups := []struct {
		name  string
		tests []test
	}{
		{"Users", userTests},
		{"Admin", adminTests},
		{"Sessions", sessionTests},
		{"Grants", grantTests},
		{"Flows", flowTests},
		{"Logouts", logoutTests},
		{"SessionScan", sessionScanTests},
		{"Changes", changeTests},
		{"Login", loginTests},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.fn(t, open(t))
				})
			}
		})
	}
	t.Run("Ping", func(t *testing.T) {
		t.Parallel()
		if err := open(t).Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// base is the suite's reference time. Its nanoseconds check that backends
// truncate to microseconds rather than round, and its zone that they
// return UTC.
var base = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.FixedZone("UTC+2", 2*3600))

func ctx(t *testing.T) context.Context { return t.Context() }

// newUser creates a user through UpsertIdentity, which is the only way
// users come into being, and returns its ID.
func newUser(t *testing.T, s store.Store, uid string) string {
	t.Helper()
	u, err := s.UpsertIdentity(ctx(t), store.IdentityInput{
		Provider: "test", ProviderUID: uid, Email: uid + "@example.com", Name: uid,
	}, base)
	if err != nil {
		t.Fatalf("UpsertIdentity(%s): %v", uid, err)
	}
	return u.ID
}

// fullSession returns a session with every field set to a distinct,
// non-zero value, so that a backend dropping or swapping a column fails.
func fullSession(id, userID string) store.Session {
	return store.Session{
		ID:                 id,
		UserID:             userID,
		CreatedAt:          base,
		UpdatedAt:          base.Add(time.Second),
		Expire:             base.Add(365 * 24 * time.Hour),
		SecretHash:         []byte("hash-" + id + "\x00\xff"),
		Provider:           "test",
		ProviderUID:        "uid-" + id,
		EmailVerified:      true,
		AccessTokenSealed:  []byte{0, 1, 2, 0xfe, 0xff, 'a'},
		RefreshTokenSealed: []byte{0xff, 0, 0, 7},
		AccessTokenExpiry:  base.Add(time.Hour + 987654321),
		RefreshedAt:        base.Add(time.Second + 4321),
		RefreshAt:          base.Add(55 * time.Minute),
		RefreshFailures:    3,
		LeaseOwner:         "",
		LeaseUntil:         time.Time{},
		ProviderSID:        "sid-" + id,
		IDTokenSealed:      []byte{9, 0, 0xff, 'i', 'd'},
		GrantData:          "accounts.zoho.eu",
		Client: store.Client{
			IP: "203.0.113.7", OSCode: "LIN", OSName: "GNU/Linux", OSVersion: "6.1",
			ClientType: "browser", ClientCode: "FF", ClientName: "Firefox", ClientVersion: "130.0",
			ClientEngine: "Gecko", ClientEngineVersion: "130.0", DeviceName: "desktop",
			DeviceBrand: "Framework", DeviceModel: "13", CountryCode: "de", CountryName: "Germany",
		},
	}
}

// minimalSession has only the fields every session must have; all the
// optional ones are zero.
func minimalSession(id, userID string) store.Session {
	return store.Session{
		ID: id, UserID: userID, CreatedAt: base, UpdatedAt: base,
		Expire: base.Add(time.Hour), SecretHash: []byte("h-" + id), Provider: "test",
	}
}

func mustCreate(t *testing.T, s store.Store, sess store.Session) store.Session {
	t.Helper()
	if err := s.CreateSession(ctx(t), &sess); err != nil {
		t.Fatalf("CreateSession(%s): %v", sess.ID, err)
	}
	if sess.Version != 1 {
		t.Fatalf("CreateSession(%s) set Version %d, want 1", sess.ID, sess.Version)
	}
	return sess
}

func mustGet(t *testing.T, s store.Store, id string) store.Session {
	t.Helper()
	got, err := s.GetSession(ctx(t), id)
	if err != nil {
		t.Fatalf("GetSession(%s): %v", id, err)
	}
	return got
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got error %v, want %v", what, err, want)
	}
}

// normalize brings a value into the form a backend returns it in: times
// through store.Normalize, empty slices as nil. It walks structs
// recursively so the comparison covers fields added later.
func normalize(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(time.Time{}) {
			v.Set(reflect.ValueOf(store.Normalize(v.Interface().(time.Time))))
			return
		}
		for i := range v.NumField() {
			normalize(v.Field(i))
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
		}
	}
}

// diff reports the fields in which want and got differ after
// normalization, or "" when they are equal. It also checks that every
// non-zero time in got is in UTC.
func diff(want, got any) string {
	w := reflect.New(reflect.TypeOf(want)).Elem()
	w.Set(reflect.ValueOf(want))
	g := reflect.New(reflect.TypeOf(got)).Elem()
	g.Set(reflect.ValueOf(got))
	var out bytes.Buffer
	checkUTC(&out, "", g)
	normalize(w)
	normalize(g)
	diffValue(&out, "", w, g)
	return out.String()
}

func checkUTC(out *bytes.Buffer, path string, v reflect.Value) {
	if v.Kind() != reflect.Struct {
		return
	}
	if tm, ok := v.Interface().(time.Time); ok {
		if !tm.IsZero() && tm.Location() != time.UTC {
			fmt.Fprintf(out, "%s: time %v is not in UTC\n", path, tm)
		}
		return
	}
	for i := range v.NumField() {
		checkUTC(out, path+"."+v.Type().Field(i).Name, v.Field(i))
	}
}

func diffValue(out *bytes.Buffer, path string, w, g reflect.Value) {
	if w.Kind() == reflect.Struct && w.Type() != reflect.TypeOf(time.Time{}) {
		for i := range w.NumField() {
			diffValue(out, path+"."+w.Type().Field(i).Name, w.Field(i), g.Field(i))
		}
		return
	}
	if !reflect.DeepEqual(w.Interface(), g.Interface()) {
		format := "%s: got %#v, want %#v\n"
		if w.Type() == reflect.TypeOf(time.Time{}) {
			format = "%s: got %v, want %v\n"
		}
		fmt.Fprintf(out, format, path, g.Interface(), w.Interface())
	}
}

func wantEqual(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := diff(want, got); d != "" {
		t.Fatalf("%s differs:\n%s", what, d)
	}
}
