// Package geo maps a client IP address to the country fields of an
// Appwrite Session (countryCode, countryName).
//
// Appwrite looks the request IP up in a MaxMind-format country database
// (it ships DB-IP's country lite database; GeoLite2-Country has the same
// layout), stores the lower-cased country.iso_code, or "--" when there is
// no record, and names the country from its own English list, falling
// back to "Unknown". This package does the same; for codes outside
// Appwrite's list it uses the record's country.names.en, then a table of
// the remaining ISO 3166-1 codes.
package geo

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"

	"github.com/oschwald/maxminddb-golang/v2"
)

// The values Appwrite reports when the country is not known.
const (
	UnknownCode = "--"
	UnknownName = "Unknown"
)

// Locator answers country lookups. It is safe for concurrent use; the
// zero value and nil behave like Disabled.
type Locator struct {
	mu     sync.RWMutex // guards reader against Close during a lookup
	reader *maxminddb.Reader
}

// Open opens a MaxMind DB (.mmdb) file holding country records, such as
// GeoLite2-Country, GeoIP2-Country or DB-IP's country lite database. A
// missing, unreadable or corrupt file is an error here, at start-up,
// rather than silent "Unknown" countries later.
func Open(path string) (*Locator, error) {
	if path == "" {
		return nil, errors.New("geo: no country database path given")
	}
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geo: opening country database %q: %w", path, err)
	}
	if err := probe(r); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("geo: country database %q is unusable: %w", path, err)
	}
	return &Locator{reader: r}, nil
}

// probe performs one lookup so that a file with valid metadata but a
// damaged search tree or data section fails at Open, not per request.
func probe(r *maxminddb.Reader) error {
	var rec countryRecord
	return r.Lookup(netip.MustParseAddr("1.1.1.1")).Decode(&rec)
}

// Disabled returns a Locator without a database: every lookup is unknown.
func Disabled() *Locator { return &Locator{} }

// Close releases the database. Lookups after Close report unknown.
func (l *Locator) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.reader == nil {
		return nil
	}
	err := l.reader.Close()
	l.reader = nil
	if err != nil {
		return fmt.Errorf("geo: closing country database: %w", err)
	}
	return nil
}

// countryRecord is the part of a GeoLite2/DB-IP country record we read.
type countryRecord struct {
	Country struct {
		ISOCode string            `maxminddb:"iso_code"`
		Names   map[string]string `maxminddb:"names"`
	} `maxminddb:"country"`
}

// Country returns the lower-case ISO 3166-1 alpha-2 code and English name
// of the country of ip, or UnknownCode and UnknownName when there is no
// database, ip does not parse, ip is not a public address, or the
// database has no country for it.
func (l *Locator) Country(ip string) (code, name string) {
	addr, ok := publicAddr(ip)
	if !ok || l == nil {
		return UnknownCode, UnknownName
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.reader == nil {
		return UnknownCode, UnknownName
	}
	var rec countryRecord
	res := l.reader.Lookup(addr)
	if !res.Found() || res.Decode(&rec) != nil {
		return UnknownCode, UnknownName
	}
	code = strings.ToLower(rec.Country.ISOCode)
	if !isAlpha2(code) {
		return UnknownCode, UnknownName
	}
	return code, countryName(code, rec.Country.Names["en"])
}

// publicAddr parses ip and keeps it only if it can be located: private,
// loopback, link-local, multicast and unspecified addresses cannot.
func publicAddr(ip string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return netip.Addr{}, false
	}
	addr = addr.Unmap().WithZone("")
	if !addr.IsGlobalUnicast() || addr.IsPrivate() {
		return netip.Addr{}, false
	}
	return addr, true
}

func isAlpha2(code string) bool {
	return len(code) == 2 && code[0] >= 'a' && code[0] <= 'z' && code[1] >= 'a' && code[1] <= 'z'
}
