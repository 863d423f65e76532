package sqlite

import (
	"database/sql"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
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

// sessionCols lists the sessions columns in the order scanSession reads them.
const sessionCols = sessionrow.Cols

type scanner interface{ Scan(dest ...any) error }

func scanSession(r scanner) (store.Session, error) {
	return sessionrow.Scan(r, fromMicros)
}

func scanSessions(rows *sql.Rows) ([]store.Session, error) {
	defer rows.Close()
	return sessionrow.ScanAll(rows, fromMicros)
}
