package geo_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sessionbridge/sessionbridge/bridge/geo"
	"github.com/sessionbridge/sessionbridge/bridge/geo/geotest"
)

// writeTestDB builds a database with a network carrying names.en, one
// with only iso_code, a territory, an IPv6 network, a reserved network
// and a record with a malformed code.
func writeTestDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "country.mmdb")
	geotest.WriteDB(t, path, map[string]geotest.Entry{
		"81.2.69.0/24":     {ISOCode: "GB", NameEN: "United Kingdom of Great Britain"},
		"89.160.20.0/24":   {ISOCode: "SE"},
		"175.16.199.0/24":  {ISOCode: "HK", NameEN: "Hong Kong SAR"},
		"202.196.224.0/20": {ISOCode: "TW"},
		"2a02:cf40::/29":   {ISOCode: "NO", NameEN: "Norway"},
		"2001:480::/32":    {ISOCode: "us"},
		"10.0.0.0/8":       {ISOCode: "DE"},
		"67.43.156.0/24":   {ISOCode: "USA"},
		"216.160.83.0/24":  {ISOCode: "XK"},
	})
	return path
}

func TestCountry(t *testing.T) {
	l, err := geo.Open(writeTestDB(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })

	cases := []struct {
		ip, code, name string
	}{
		// Appwrite's own English list wins over the record's names.en.
		{"81.2.69.142", "gb", "United Kingdom"},
		// Only iso_code in the record: name from Appwrite's list.
		{"89.160.20.128", "se", "Sweden"},
		// Outside Appwrite's list: the record's names.en ...
		{"175.16.199.1", "hk", "Hong Kong SAR"},
		// ... or, without it, the territories table.
		{"202.196.224.9", "tw", "Taiwan"},
		{"216.160.83.56", "xk", "Kosovo"},
		// IPv6, and IPv4-mapped IPv6.
		{"2a02:cf40::1", "no", "Norway"},
		{"2001:480::10", "us", "United States"},
		{"::ffff:81.2.69.142", "gb", "United Kingdom"},
		{" 89.160.20.128 ", "se", "Sweden"},
		// Not in the database.
		{"8.8.8.8", "--", "Unknown"},
		{"2001:db9::1", "--", "Unknown"},
		// Not a public address, even though 10/8 is in the file.
		{"10.1.2.3", "--", "Unknown"},
		{"127.0.0.1", "--", "Unknown"},
		{"::1", "--", "Unknown"},
		{"fe80::1%eth0", "--", "Unknown"},
		{"192.168.1.1", "--", "Unknown"},
		{"0.0.0.0", "--", "Unknown"},
		{"224.0.0.1", "--", "Unknown"},
		// Malformed record.
		{"67.43.156.1", "--", "Unknown"},
		// Unparsable.
		{"", "--", "Unknown"},
		{"not an ip", "--", "Unknown"},
		{"81.2.69.142:443", "--", "Unknown"},
		{"999.1.1.1", "--", "Unknown"},
		{strings.Repeat("1", 10000), "--", "Unknown"},
	}
	for _, c := range cases {
		code, name := l.Country(c.ip)
		if code != c.code || name != c.name {
			t.Errorf("Country(%.40q) = %q, %q; want %q, %q", c.ip, code, name, c.code, c.name)
		}
	}
}

func TestWriteCountryDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.mmdb")
	geotest.WriteCountryDB(t, path, map[string]string{"81.2.69.0/24": "FR", "2001:480::/32": "JP"})
	l, err := geo.Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer l.Close()
	if code, name := l.Country("81.2.69.1"); code != "fr" || name != "France" {
		t.Errorf("got %q %q", code, name)
	}
	if code, name := l.Country("2001:480::1"); code != "jp" || name != "Japan" {
		t.Errorf("got %q %q", code, name)
	}
}

func TestDisabledAndNil(t *testing.T) {
	for _, l := range []*geo.Locator{geo.Disabled(), nil, {}} {
		if code, name := l.Country("81.2.69.142"); code != geo.UnknownCode || name != geo.UnknownName {
			t.Errorf("got %q %q", code, name)
		}
		if err := l.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
}

func TestCloseThenLookup(t *testing.T) {
	l, err := geo.Open(writeTestDB(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if code, _ := l.Country("81.2.69.142"); code != "gb" {
		t.Fatalf("before Close: %q", code)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if code, name := l.Country("81.2.69.142"); code != "--" || name != "Unknown" {
		t.Errorf("after Close: %q %q", code, name)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeTestDB(t)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"garbage.mmdb": []byte("this is not a MaxMind database at all"),
		"empty.mmdb":   {},
		// The metadata sits at the end: keep only the first half.
		"truncated.mmdb": data[:len(data)/2],
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := geo.Open(path)
		if err == nil {
			_ = l.Close()
			t.Errorf("%s: Open succeeded", name)
			continue
		}
		if !strings.Contains(err.Error(), "geo:") || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: unclear error %q", name, err)
		}
	}
	if _, err := geo.Open(filepath.Join(dir, "missing.mmdb")); err == nil || !strings.Contains(err.Error(), "missing.mmdb") {
		t.Errorf("missing file: %v", err)
	}
	if _, err := geo.Open(""); err == nil {
		t.Error("empty path: Open succeeded")
	}
}

func TestConcurrentLookupsAndClose(t *testing.T) {
	l, err := geo.Open(writeTestDB(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				if code, _ := l.Country("89.160.20.128"); code != "se" && code != "--" {
					t.Errorf("unexpected %q", code)
					return
				}
			}
		}()
	}
	_ = l.Close()
	wg.Wait()
}

func TestCountryTablesComplete(t *testing.T) {
	// Every ISO 3166-1 alpha-2 code must have a name, so that a database
	// without names.en never yields "Unknown" for a real country.
	const iso = "ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw"
	path := filepath.Join(t.TempDir(), "all.mmdb")
	entries := map[string]string{}
	codes := strings.Fields(iso)
	if len(codes) != 249 {
		t.Fatalf("%d codes", len(codes))
	}
	for i, c := range codes {
		// One /24 per code in 1.0.0.0/8.
		entries[netFor(i)] = strings.ToUpper(c)
	}
	geotest.WriteCountryDB(t, path, entries)
	l, err := geo.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for i, c := range codes {
		ip := strings.TrimSuffix(netFor(i), "0/24") + "7"
		code, name := l.Country(ip)
		if code != c || name == "" || name == geo.UnknownName {
			t.Errorf("%s: got %q %q", c, code, name)
		}
	}
}

func netFor(i int) string {
	return "1.0." + strconv.Itoa(i) + ".0/24"
}

func BenchmarkCountry(b *testing.B) {
	path := filepath.Join(b.TempDir(), "b.mmdb")
	geotest.WriteCountryDB(b, path, map[string]string{"81.2.69.0/24": "GB"})
	l, err := geo.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l.Country("81.2.69.142")
	}
}
