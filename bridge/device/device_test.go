package device

import (
	"strings"
	"sync"
	"testing"
)

// newTestParser builds one Parser per test; New compiles uap-go's
// regexes, which is what a process does once at start-up.
func newTestParser(t testing.TB) *Parser {
	t.Helper()
	p, err := New()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// Fields, in order: OSCode OSName OSVersion | ClientType ClientCode
// ClientName ClientVersion ClientEngine ClientEngineVersion | DeviceName
// DeviceBrand DeviceModel. Expected values are what Appwrite (Matomo
// device-detector, bot detection skipped) reports for these user agents.
var parseCases = []struct {
	name string
	ua   string
	want Info
}{
	// Desktop browsers
	{"win10 chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		Info{"WIN", "Windows", "10", "browser", "CH", "Chrome", "120.0.0.0", "Blink", "120.0.0.0", "desktop", "", ""}},
	{"win10 edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
		Info{"WIN", "Windows", "10", "browser", "PS", "Microsoft Edge", "120.0.2210.91", "Blink", "120.0.0.0", "desktop", "", ""}},
	{"win10 legacy edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/70.0.3538.102 Safari/537.36 Edge/18.19582",
		Info{"WIN", "Windows", "10", "browser", "PS", "Microsoft Edge", "18.19582", "Edge", "18.19582", "desktop", "", ""}},
	{"win10 firefox", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
		Info{"WIN", "Windows", "10", "browser", "FF", "Firefox", "121.0", "Gecko", "121.0", "desktop", "", ""}},
	{"win10 opera", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0",
		Info{"WIN", "Windows", "10", "browser", "OP", "Opera", "106.0.0.0", "Blink", "120.0.0.0", "desktop", "", ""}},
	{"win10 vivaldi", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Vivaldi/6.5.3206.48",
		Info{"WIN", "Windows", "10", "browser", "VI", "Vivaldi", "6.5.3206.48", "Blink", "120.0.0.0", "desktop", "", ""}},
	{"win7 ie11", "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
		Info{"WIN", "Windows", "7", "browser", "IE", "Internet Explorer", "11.0", "Trident", "7.0", "desktop", "", ""}},
	{"win8.1 firefox esr", "Mozilla/5.0 (Windows NT 6.3; Win64; x64; rv:115.0) Gecko/20100101 Firefox/115.0",
		Info{"WIN", "Windows", "8.1", "browser", "FF", "Firefox", "115.0", "Gecko", "115.0", "desktop", "", ""}},
	{"mac safari", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
		Info{"MAC", "Mac", "10.15.7", "browser", "SF", "Safari", "17.1", "WebKit", "605.1.15", "desktop", "Apple", ""}},
	{"mac chrome", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		Info{"MAC", "Mac", "10.15.7", "browser", "CH", "Chrome", "120.0.0.0", "Blink", "120.0.0.0", "desktop", "Apple", ""}},
	{"mac firefox", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:121.0) Gecko/20100101 Firefox/121.0",
		Info{"MAC", "Mac", "10.15", "browser", "FF", "Firefox", "121.0", "Gecko", "121.0", "desktop", "Apple", ""}},
	{"linux chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		Info{"LIN", "GNU/Linux", "", "browser", "CH", "Chrome", "120.0.0.0", "Blink", "120.0.0.0", "desktop", "", ""}},
	{"ubuntu firefox", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
		Info{"UBT", "Ubuntu", "", "browser", "FF", "Firefox", "121.0", "Gecko", "121.0", "desktop", "", ""}},
	{"fedora firefox", "Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
		Info{"FED", "Fedora", "", "browser", "FF", "Firefox", "121.0", "Gecko", "121.0", "desktop", "", ""}},
	{"chromeos chrome", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		Info{"COS", "Chrome OS", "120.0.0.0", "browser", "CH", "Chrome", "120.0.0.0", "Blink", "120.0.0.0", "desktop", "", ""}},

	// iOS and iPadOS
	{"iphone safari", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
		Info{"IOS", "iOS", "17.1.2", "browser", "MF", "Mobile Safari", "17.1.2", "WebKit", "605.1.15", "smartphone", "Apple", "iPhone"}},
	{"iphone chrome", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
		Info{"IOS", "iOS", "17.1", "browser", "CI", "Chrome Mobile iOS", "120.0.6099.119", "WebKit", "605.1.15", "smartphone", "Apple", "iPhone"}},
	{"iphone firefox", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
		Info{"IOS", "iOS", "17.1", "browser", "F1", "Firefox Mobile iOS", "121.0", "WebKit", "605.1.15", "smartphone", "Apple", "iPhone"}},
	{"iphone edge", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 EdgiOS/120.2210.126 Mobile/15E148 Safari/605.1.15",
		Info{"IOS", "iOS", "17.1", "browser", "PS", "Microsoft Edge", "120.2210.126", "WebKit", "605.1.15", "smartphone", "Apple", "iPhone"}},
	{"ipad safari", "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
		Info{"IPA", "iPadOS", "17.1", "browser", "MF", "Mobile Safari", "17.1", "WebKit", "605.1.15", "tablet", "Apple", "iPad"}},
	{"ipad ios12 safari", "Mozilla/5.0 (iPad; CPU OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1",
		Info{"IOS", "iOS", "12.5.7", "browser", "MF", "Mobile Safari", "12.1.2", "WebKit", "605.1.15", "tablet", "Apple", "iPad"}},
	{"facebook in-app ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/441.0.0.28.111;FBBV/540226458;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1.2;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBRV/541807316]",
		Info{"IOS", "iOS", "17.1.2", "mobile app", "", "Facebook", "441.0.0.28.111", "", "", "smartphone", "Apple", "iPhone 13"}},
	{"instagram in-app ios", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 309.0.2.18.115 (iPhone14,2; iOS 17_1_2; en_US; en; scale=3.00; 1170x2532; 537288532)",
		Info{"IOS", "iOS", "17.1.2", "mobile app", "", "Instagram App", "309.0.2.18.115", "", "", "smartphone", "Apple", "iPhone 13 Pro"}},

	// Android
	{"samsung chrome", "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
		Info{"AND", "Android", "13", "browser", "CM", "Chrome Mobile", "120.0.6099.144", "Blink", "120.0.6099.144", "smartphone", "Samsung", "Galaxy S23 Ultra"}},
	{"samsung internet", "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
		Info{"AND", "Android", "13", "browser", "SB", "Samsung Browser", "23.0", "Blink", "115.0.0.0", "smartphone", "Samsung", "Galaxy S23"}},
	{"samsung webview", "Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36",
		Info{"AND", "Android", "13", "browser", "CV", "Chrome Webview", "120.0.6099.144", "Blink", "120.0.6099.144", "smartphone", "Samsung", "Galaxy A53 5G"}},
	{"samsung tablet chrome", "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Safari/537.36",
		Info{"AND", "Android", "13", "browser", "CH", "Chrome", "120.0.6099.144", "Blink", "120.0.6099.144", "tablet", "Samsung", "Galaxy Tab S8"}},
	{"pixel chrome", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
		Info{"AND", "Android", "14", "browser", "CM", "Chrome Mobile", "120.0.6099.144", "Blink", "120.0.6099.144", "smartphone", "Google", "Pixel 8"}},
	{"pixel tablet chrome", "Mozilla/5.0 (Linux; Android 13; Pixel Tablet) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Safari/537.36",
		Info{"AND", "Android", "13", "browser", "CH", "Chrome", "120.0.6099.144", "Blink", "120.0.6099.144", "tablet", "Google", "Pixel Tablet"}},
	{"xiaomi chrome", "Mozilla/5.0 (Linux; Android 11; Redmi Note 9 Pro) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
		Info{"AND", "Android", "11", "browser", "CM", "Chrome Mobile", "120.0.6099.144", "Blink", "120.0.6099.144", "smartphone", "Xiaomi", "Redmi Note 9 Pro"}},
	{"reduced ua chrome", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
		Info{"AND", "Android", "10", "browser", "CM", "Chrome Mobile", "120.0.0.0", "Blink", "120.0.0.0", "smartphone", "", ""}},
	{"reduced ua tablet chrome", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		Info{"AND", "Android", "10", "browser", "CH", "Chrome", "120.0.0.0", "Blink", "120.0.0.0", "tablet", "", ""}},
	{"android firefox", "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
		Info{"AND", "Android", "14", "browser", "FM", "Firefox Mobile", "121.0", "Gecko", "121.0", "smartphone", "", ""}},
	{"android opera", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 OPR/79.1.4195.76385",
		Info{"AND", "Android", "10", "browser", "OM", "Opera Mobile", "79.1.4195.76385", "Blink", "120.0.0.0", "smartphone", "", ""}},
	{"android edge", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115",
		Info{"AND", "Android", "10", "browser", "PS", "Microsoft Edge", "120.0.2210.115", "Blink", "120.0.0.0", "smartphone", "", ""}},
	{"facebook in-app android", "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/444.0.0.0.110;]",
		Info{"AND", "Android", "14", "mobile app", "", "Facebook", "444.0.0.0.110", "", "", "smartphone", "Samsung", "Galaxy S23 Ultra"}},
	{"instagram in-app android", "Mozilla/5.0 (Linux; Android 13; Pixel 7 Build/TQ3A.230901.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 Instagram 311.0.0.32.118 Android (33/13; 420dpi; 1080x2400; Google/google; Pixel 7; panther; panther; en_US; 545986883)",
		Info{"AND", "Android", "13", "mobile app", "", "Instagram App", "311.0.0.32.118", "", "", "smartphone", "Google", "Pixel 7"}},

	// Crawlers: Appwrite skips Matomo's bot detection, so a crawler is
	// reported as whatever it imitates, or as nothing.
	{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		Info{}},
	{"googlebot desktop chrome", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/120.0.6099.224 Safari/537.36",
		Info{"", "", "", "browser", "CH", "Chrome", "120.0.6099.224", "Blink", "120.0.6099.224", "", "", ""}},
	{"googlebot smartphone", "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.224 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		Info{"AND", "Android", "6.0.1", "browser", "CM", "Chrome Mobile", "120.0.6099.224", "Blink", "120.0.6099.224", "smartphone", "LG", "Nexus 5X"}},
	{"bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		Info{}},

	// Libraries and SDKs
	{"curl", "curl/8.4.0", Info{"", "", "", "library", "", "curl", "8.4.0", "", "", "", "", ""}},
	{"wget", "Wget/1.21.4", Info{"", "", "", "library", "", "Wget", "1.21.4", "", "", "", "", ""}},
	{"wget linux", "Wget/1.21.2 (linux-gnu)", Info{"LIN", "GNU/Linux", "", "library", "", "Wget", "1.21.2", "", "", "desktop", "", ""}},
	{"python requests", "python-requests/2.31.0", Info{"", "", "", "library", "", "Python Requests", "2.31.0", "", "", "", "", ""}},
	{"go http client", "Go-http-client/1.1", Info{"", "", "", "library", "", "Go-http-client", "1.1", "", "", "", "", ""}},
	{"go http client h2", "Go-http-client/2.0", Info{"", "", "", "library", "", "Go-http-client", "2.0", "", "", "", "", ""}},
	{"node-appwrite linux", "AppwriteNodeJSSDK/14.2.0 (linux; x64) Node.js/v20.11.0",
		Info{"LIN", "GNU/Linux", "", "", "", "", "", "", "", "desktop", "", ""}},
	{"node-appwrite macos", "AppwriteNodeJSSDK/25.1.0 (darwin; arm64) Node.js/22",
		Info{"MAC", "Mac", "", "", "", "", "", "", "", "desktop", "Apple", ""}},
	{"appwrite cli terminal", "Appwrite/6.1.0 Terminal",
		Info{"", "", "", "desktop", "terminal", "Terminal", "6.1.0", "", "", "", "", ""}},

	// Nothing to go on
	{"empty", "", Info{}},
	{"no letters", "12345 / -- ()", Info{}},
	{"unknown token", "SomethingNobodyKnows", Info{}},
}

func TestParse(t *testing.T) {
	p := newTestParser(t)
	if len(parseCases) < 40 {
		t.Fatalf("only %d cases", len(parseCases))
	}
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got := p.Parse(tc.ua)
			if got != tc.want {
				t.Errorf("Parse(%q)\n got %+v\nwant %+v", tc.ua, got, tc.want)
			}
			// A second call is served from the cache and must agree.
			if again := p.Parse(tc.ua); again != got {
				t.Errorf("cached result differs: %+v", again)
			}
		})
	}
}

func TestParseHostileInput(t *testing.T) {
	p := newTestParser(t)
	chrome := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
	inputs := []string{
		strings.Repeat("A", 1<<20),
		strings.Repeat("Mozilla/5.0 (iPhone; ", 10000),
		"\xff\xfe\xfd Android \xc3\x28 Chrome/\xff",
		"Mozilla/5.0 (Linux; Android 13; SM-\x00S918B)",
		strings.Repeat("(compatible;", 500),
		"$1 $2 Terminal",
		"Terminal",
	}
	for _, in := range inputs {
		_ = p.Parse(in) // must not panic
	}
	// The cap keeps the first MaxUserAgentLength bytes: a real user agent
	// padded with junk still parses as itself.
	padded := chrome + strings.Repeat(" x", MaxUserAgentLength)
	if got, want := p.Parse(padded), p.Parse(chrome); got != want {
		t.Errorf("padded user agent: got %+v, want %+v", got, want)
	}
	if got := p.Parse("Terminal"); got.ClientName != "Terminal" || got.ClientVersion != "" {
		t.Errorf("bare Terminal: %+v", got)
	}
}

func TestParseNilParser(t *testing.T) {
	var p *Parser
	if got := p.Parse("curl/8.4.0"); got != (Info{}) {
		t.Errorf("nil parser: %+v", got)
	}
}

func TestParseConcurrent(t *testing.T) {
	p := newTestParser(t)
	var wg sync.WaitGroup
	errs := make(chan string, len(parseCases)*4)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, tc := range parseCases {
				if got := p.Parse(tc.ua); got != tc.want {
					errs <- tc.name
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for name := range errs {
		t.Errorf("concurrent parse of %s differs", name)
	}
}

func TestVersionAtLeast(t *testing.T) {
	cases := []struct {
		v, min string
		want   bool
	}{
		{"120.0.0.0", "28", true}, {"27.0.1453.116", "28", false}, {"28", "28", true},
		{"", "28", false}, {"3.5", "3.5", true}, {"3.1", "3.5", false}, {"15.0", "15", true},
	}
	for _, c := range cases {
		if got := versionAtLeast(c.v, c.min); got != c.want {
			t.Errorf("versionAtLeast(%q, %q) = %v", c.v, c.min, got)
		}
	}
}

// BenchmarkParseCached measures the common case: a user agent seen before.
func BenchmarkParseCached(b *testing.B) {
	p := newTestParser(b)
	ua := parseCases[23].ua
	p.Parse(ua)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Parse(ua)
	}
}

// BenchmarkParseUncached measures a first sighting, bypassing the cache.
func BenchmarkParseUncached(b *testing.B) {
	p := newTestParser(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.parse(parseCases[i%len(parseCases)].ua)
	}
}

func TestRequiredLiterals(t *testing.T) {
	cases := []struct {
		pattern string
		want    []string
	}{
		{`Edg[ /](\d+[\.\d]+)`, []string{"edg"}},
		{`(?:lib)?curl(?:/(\d+[.\d]+))?`, []string{"curl"}},
		{`XBLWP7|Windows Phone`, []string{"xblwp7", "windows phone"}},
		{`(?:iPod|iPhone|iPad)`, []string{"ip"}}, // common prefix factored out by the parser
		{`Linux(?:OS)?[^a-z]|Cinnamon/(?:\d+[\.\d]+)`, []string{"linux", "cinnamon/"}},
		{`(?:Version/(\d+[\.\d]+).*)?Mobile.*Safari/`, []string{"safari/"}},
	}
	for _, c := range cases {
		got := requiredLiterals(c.pattern)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("requiredLiterals(%q) = %q, want %q", c.pattern, got, c.want)
		}
	}
	// Every rule's literals must be lower-case (they are compared with
	// the lower-cased user agent).
	for _, r := range append(append([]rule{}, osRules...), clientRuleBases()...) {
		for _, l := range r.anyOf {
			if l != strings.ToLower(l) {
				t.Errorf("rule %q has literal %q", r.re, l)
			}
		}
	}
}

func clientRuleBases() []rule {
	out := make([]rule, len(clientRules))
	for i := range clientRules {
		out[i] = clientRules[i].rule
	}
	return out
}
