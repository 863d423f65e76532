// Package geotest writes small MaxMind country databases for tests, so
// that tests of code using bridge/geo need no real GeoLite2 file.
package geotest

import (
	"net"
	"os"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Entry is the country record of one network.
type Entry struct {
	ISOCode string // e.g. "US"; written as country.iso_code
	NameEN  string // written as country.names.en when not empty
}

// WriteCountryDB writes a GeoLite2-Country-shaped database to path with
// one record per CIDR, holding only country.iso_code (e.g. "DE"). IPv4
// networks are also reachable through their IPv4-mapped IPv6 form.
func WriteCountryDB(t testing.TB, path string, entries map[string]string) {
	t.Helper()
	full := make(map[string]Entry, len(entries))
	for cidr, code := range entries {
		full[cidr] = Entry{ISOCode: code}
	}
	WriteDB(t, path, full)
}

// WriteDB is WriteCountryDB with full records, for tests that need
// country.names.en too. Reserved networks (10.0.0.0/8, ...) may be
// inserted, to check that callers refuse to locate them.
func WriteDB(t testing.TB, path string, entries map[string]Entry) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            "GeoLite2-Country",
		Languages:               []string{"en"},
		RecordSize:              24,
		IncludeReservedNetworks: true,
	})
	if err != nil {
		t.Fatalf("geotest: new tree: %v", err)
	}
	for cidr, e := range entries {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatalf("geotest: bad CIDR %q: %v", cidr, err)
		}
		country := mmdbtype.Map{"iso_code": mmdbtype.String(e.ISOCode)}
		if e.NameEN != "" {
			country["names"] = mmdbtype.Map{"en": mmdbtype.String(e.NameEN)}
		}
		if err := tree.Insert(network, mmdbtype.Map{"country": country}); err != nil {
			t.Fatalf("geotest: insert %s: %v", cidr, err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatalf("geotest: create %s: %v", path, err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		_ = f.Close()
		t.Fatalf("geotest: write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("geotest: close %s: %v", path, err)
	}
}
