package postgres

import (
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/bridge/store/internal/sessionrow"
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

// sessionCols lists the sessions columns in the order scanSession reads them.
const sessionCols = sessionrow.Cols

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

func scanSession(row pgx.Row) (store.Session, error) {
	return sessionrow.Scan(row, fromTS)
}

func scanSessions(rows pgx.Rows) ([]store.Session, error) {
	defer rows.Close()
	return sessionrow.ScanAll(rows, fromTS)
}
