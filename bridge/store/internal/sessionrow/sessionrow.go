// Package sessionrow maps a store.Session to and from a row of the SQL
// backends' sessions table. The table has the same columns, in the same
// order, in every backend; only the encoding of a time column differs
// (timestamptz in PostgreSQL, Unix microseconds in SQLite). Keeping the
// column list, the argument list and the scan destinations in one place
// keeps their orders from drifting apart in one backend and not the
// other; the backend passes its time codec.
package sessionrow

import (
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Cols lists the sessions columns in the order Args, Dest and Scan use.
const Cols = `id, user_id, created_at, updated_at, expire, secret_hash, provider, provider_uid,
	email_verified, access_token_sealed, refresh_token_sealed, access_token_expiry, refresh_at,
	refresh_failures, lease_owner, lease_until, ip, os_code, os_name, os_version, client_type,
	client_code, client_name, client_version, client_engine, client_engine_version, device_name,
	device_brand, device_model, country_code, country_name, provider_sid, id_token_sealed, grant_data, version, refreshed_at`

// Blob keeps an absent token absent: nil and empty slices are stored as
// NULL (an untyped nil, which every driver writes as NULL).
func Blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Args returns s's values in Cols order, its times encoded with enc.
func Args[T any](s *store.Session, enc func(time.Time) T) []any {
	c := &s.Client
	return []any{
		s.ID, s.UserID, enc(s.CreatedAt), enc(s.UpdatedAt), enc(s.Expire), Blob(s.SecretHash),
		s.Provider, s.ProviderUID, s.EmailVerified, Blob(s.AccessTokenSealed), Blob(s.RefreshTokenSealed),
		enc(s.AccessTokenExpiry), enc(s.RefreshAt), s.RefreshFailures, s.LeaseOwner, enc(s.LeaseUntil),
		c.IP, c.OSCode, c.OSName, c.OSVersion, c.ClientType, c.ClientCode, c.ClientName, c.ClientVersion,
		c.ClientEngine, c.ClientEngineVersion, c.DeviceName, c.DeviceBrand, c.DeviceModel, c.CountryCode,
		c.CountryName, s.ProviderSID, Blob(s.IDTokenSealed), s.GrantData, s.Version, enc(s.RefreshedAt),
	}
}

// CAS is one compare-and-swap of a session row: its ID and the
// parameters of the backend's conditional UPDATE.
type CAS struct {
	ID   string
	Args []any
}

// CASOf returns the compare-and-swap that writes s if the row still has
// s.Version, its times encoded with enc. Args are the mutable columns in
// the order expire, updated_at, access_token_sealed,
// refresh_token_sealed, access_token_expiry, refresh_at,
// refresh_failures, lease_owner, lease_until, email_verified, then the
// client columns from ip to country_name as in Cols, refreshed_at; last
// the row's id and expected version.
func CASOf[T any](s *store.Session, enc func(time.Time) T) CAS {
	c := &s.Client
	return CAS{ID: s.ID, Args: []any{
		enc(s.Expire), enc(s.UpdatedAt), Blob(s.AccessTokenSealed), Blob(s.RefreshTokenSealed),
		enc(s.AccessTokenExpiry), enc(s.RefreshAt), s.RefreshFailures, s.LeaseOwner,
		enc(s.LeaseUntil), s.EmailVerified, c.IP, c.OSCode, c.OSName, c.OSVersion, c.ClientType,
		c.ClientCode, c.ClientName, c.ClientVersion, c.ClientEngine, c.ClientEngineVersion, c.DeviceName,
		c.DeviceBrand, c.DeviceModel, c.CountryCode, c.CountryName, enc(s.RefreshedAt), s.ID, s.Version}}
}

// Dest returns scan destinations for Cols into s, the time columns
// scanned as T, and a function to call after a successful scan that
// decodes them into s with dec.
func Dest[T any](s *store.Session, dec func(T) time.Time) ([]any, func()) {
	var created, updated, expire, tokExpiry, refreshAt, leaseUntil, refreshed T
	c := &s.Client
	dest := []any{&s.ID, &s.UserID, &created, &updated, &expire, &s.SecretHash, &s.Provider, &s.ProviderUID,
		&s.EmailVerified, &s.AccessTokenSealed, &s.RefreshTokenSealed, &tokExpiry, &refreshAt,
		&s.RefreshFailures, &s.LeaseOwner, &leaseUntil, &c.IP, &c.OSCode, &c.OSName, &c.OSVersion, &c.ClientType,
		&c.ClientCode, &c.ClientName, &c.ClientVersion, &c.ClientEngine, &c.ClientEngineVersion, &c.DeviceName,
		&c.DeviceBrand, &c.DeviceModel, &c.CountryCode, &c.CountryName, &s.ProviderSID, &s.IDTokenSealed, &s.GrantData, &s.Version, &refreshed}
	return dest, func() {
		s.CreatedAt, s.UpdatedAt, s.Expire = dec(created), dec(updated), dec(expire)
		s.AccessTokenExpiry, s.RefreshAt, s.LeaseUntil = dec(tokExpiry), dec(refreshAt), dec(leaseUntil)
		s.RefreshedAt = dec(refreshed)
	}
}

// Row is one result row: *sql.Row, *sql.Rows, pgx.Row or pgx.Rows.
type Row interface {
	Scan(dest ...any) error
}

// Scan reads one row of Cols, its time columns scanned as T and decoded
// with dec.
func Scan[T any](r Row, dec func(T) time.Time) (store.Session, error) {
	var s store.Session
	dest, finish := Dest(&s, dec)
	if err := r.Scan(dest...); err != nil {
		return store.Session{}, err
	}
	finish()
	return s, nil
}

// Rows is a result set: *sql.Rows or pgx.Rows. Closing it is left to the
// caller, as the two close differently.
type Rows interface {
	Row
	Next() bool
	Err() error
}

// ScanAll reads every remaining row of Cols, as Scan does.
func ScanAll[T any](rows Rows, dec func(T) time.Time) ([]store.Session, error) {
	var out []store.Session
	for rows.Next() {
		s, err := Scan(rows, dec)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
