package sqlite

import (
	"database/sql"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// micros encodes a time for an INTEGER column: Unix microseconds, NULL
// for the zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros decodes what micros wrote.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// blob keeps an absent token absent: nil and empty slices are stored as NULL.
func blob(b []byte) any {
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

// sessionArgs returns s's values in sessionCols order.
func sessionArgs(s *store.Session) []any {
	c := &s.Client
	return []any{
		s.ID, s.UserID, micros(s.CreatedAt), micros(s.UpdatedAt), micros(s.Expire), blob(s.SecretHash),
		s.Provider, s.ProviderUID, s.EmailVerified, blob(s.AccessTokenSealed), blob(s.RefreshTokenSealed),
		micros(s.AccessTokenExpiry), micros(s.RefreshAt), s.RefreshFailures, s.LeaseOwner, micros(s.LeaseUntil),
		c.IP, c.OSCode, c.OSName, c.OSVersion, c.ClientType, c.ClientCode, c.ClientName, c.ClientVersion,
		c.ClientEngine, c.ClientEngineVersion, c.DeviceName, c.DeviceBrand, c.DeviceModel, c.CountryCode,
		c.CountryName, s.Version,
	}
}

type scanner interface{ Scan(dest ...any) error }

func scanSession(r scanner) (store.Session, error) {
	var (
		s                                                          store.Session
		created, updated, expire, tokExpiry, refreshAt, leaseUntil sql.NullInt64
	)
	c := &s.Client
	err := r.Scan(&s.ID, &s.UserID, &created, &updated, &expire, &s.SecretHash, &s.Provider, &s.ProviderUID,
		&s.EmailVerified, &s.AccessTokenSealed, &s.RefreshTokenSealed, &tokExpiry, &refreshAt,
		&s.RefreshFailures, &s.LeaseOwner, &leaseUntil, &c.IP, &c.OSCode, &c.OSName, &c.OSVersion, &c.ClientType,
		&c.ClientCode, &c.ClientName, &c.ClientVersion, &c.ClientEngine, &c.ClientEngineVersion, &c.DeviceName,
		&c.DeviceBrand, &c.DeviceModel, &c.CountryCode, &c.CountryName, &s.Version)
	if err != nil {
		return store.Session{}, err
	}
	s.CreatedAt, s.UpdatedAt, s.Expire = fromMicros(created), fromMicros(updated), fromMicros(expire)
	s.AccessTokenExpiry, s.RefreshAt, s.LeaseUntil = fromMicros(tokExpiry), fromMicros(refreshAt), fromMicros(leaseUntil)
	return s, nil
}

func scanSessions(rows *sql.Rows) ([]store.Session, error) {
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
