package postgres

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// ts encodes a time for a timestamptz column: NULL for the zero time.
func ts(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: store.Normalize(t), Valid: true}
}

// fromTS decodes what ts wrote, in UTC.
func fromTS(v pgtype.Timestamptz) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return store.Normalize(v.Time)
}

// blob keeps an absent token absent: nil and empty slices are stored as NULL.
func blob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// sessionCols lists the sessions columns in the order scanSession reads them.
const sessionCols = `id, user_id, created_at, updated_at, expire, secret_hash, provider, provider_uid,
	email_verified, access_token_sealed, refresh_token_sealed, access_token_expiry, refresh_at,
	refresh_failures, lease_owner, lease_until, ip, os_code, os_name, os_version, client_type,
	client_code, client_name, client_version, client_engine, client_engine_version, device_name,
	device_brand, device_model, country_code, country_name, version`

// qualified returns sessionCols prefixed with a table alias.
func qualified(alias string) string {
	cols := strings.Split(sessionCols, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// placeholders returns "$1, $2, ..., $n".
func placeholders(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", i)
	}
	return b.String()
}

// sessionArgs returns s's values in sessionCols order.
func sessionArgs(s *store.Session) []any {
	c := &s.Client
	return []any{
		s.ID, s.UserID, ts(s.CreatedAt), ts(s.UpdatedAt), ts(s.Expire), blob(s.SecretHash),
		s.Provider, s.ProviderUID, s.EmailVerified, blob(s.AccessTokenSealed), blob(s.RefreshTokenSealed),
		ts(s.AccessTokenExpiry), ts(s.RefreshAt), s.RefreshFailures, s.LeaseOwner, ts(s.LeaseUntil),
		c.IP, c.OSCode, c.OSName, c.OSVersion, c.ClientType, c.ClientCode, c.ClientName, c.ClientVersion,
		c.ClientEngine, c.ClientEngineVersion, c.DeviceName, c.DeviceBrand, c.DeviceModel, c.CountryCode,
		c.CountryName, s.Version,
	}
}

// sessionDest returns scan destinations for sessionCols into s, and a
// function to call after the scan to decode the times.
func sessionDest(s *store.Session) ([]any, func()) {
	var created, updated, expire, tokExpiry, refreshAt, leaseUntil pgtype.Timestamptz
	c := &s.Client
	dest := []any{&s.ID, &s.UserID, &created, &updated, &expire, &s.SecretHash, &s.Provider, &s.ProviderUID,
		&s.EmailVerified, &s.AccessTokenSealed, &s.RefreshTokenSealed, &tokExpiry, &refreshAt,
		&s.RefreshFailures, &s.LeaseOwner, &leaseUntil, &c.IP, &c.OSCode, &c.OSName, &c.OSVersion, &c.ClientType,
		&c.ClientCode, &c.ClientName, &c.ClientVersion, &c.ClientEngine, &c.ClientEngineVersion, &c.DeviceName,
		&c.DeviceBrand, &c.DeviceModel, &c.CountryCode, &c.CountryName, &s.Version}
	return dest, func() {
		s.CreatedAt, s.UpdatedAt, s.Expire = fromTS(created), fromTS(updated), fromTS(expire)
		s.AccessTokenExpiry, s.RefreshAt, s.LeaseUntil = fromTS(tokExpiry), fromTS(refreshAt), fromTS(leaseUntil)
	}
}

func scanSession(row pgx.Row) (store.Session, error) {
	var s store.Session
	dest, finish := sessionDest(&s)
	if err := row.Scan(dest...); err != nil {
		return store.Session{}, err
	}
	finish()
	return s, nil
}

func scanSessions(rows pgx.Rows) ([]store.Session, error) {
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
