package store

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
)

// ErrSchemaTooNew is returned by a backend's Open (and reported by its
// read-only Probe) when the database was migrated by a newer sessionbridge
// than the running binary: writing to a schema it does not know could
// corrupt data, so it refuses to start.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary supports; upgrade sessionbridge")

// NewID returns a fresh 20-character lowercase hex identifier (80 random
// bits), the same length and alphabet as Appwrite's unique() IDs so that
// SDKs and apps that validate IDs accept ours.
func NewID() string {
	var b [10]byte
	// crypto/rand.Read never fails (it aborts the program if the kernel
	// cannot supply entropy), so there is no error to handle.
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Precision is the resolution every backend keeps times at. Times are
// truncated (not rounded) to it and returned in UTC; the zero time stays
// zero. Callers comparing a written time with a read one should pass the
// written one through Normalize.
const Precision = time.Microsecond

// Normalize returns t as a backend gives it back: truncated to Precision,
// in UTC, and without a monotonic clock reading; the zero time stays zero.
func Normalize(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}
