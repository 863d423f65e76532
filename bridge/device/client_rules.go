package device

import (
	"regexp"
	"strconv"
	"strings"
)

// Client types as Matomo names them.
const (
	typeBrowser   = "browser"
	typeMobileApp = "mobile app"
	typeLibrary   = "library"
)

// engineDetect marks a browser whose engine Matomo detects from the user
// agent (browser_engine.yml) instead of stating it.
const engineDetect = ""

// engineStep switches a browser's engine from a browser version on, like
// the "versions:" maps of Matomo's browsers.yml (Chrome became Blink at 28).
type engineStep struct{ from, engine string }

var blinkFrom28 = []engineStep{{"28", "Blink"}}

// clientRule is an ordered client regex plus what Matomo reports for it.
type clientRule struct {
	rule
	kind    string
	code    string // browsers only: Matomo short code
	engine  string
	engines []engineStep
}

func app(pattern, name, version string) clientRule {
	return clientRule{rule: mustRule(pattern, name, version), kind: typeMobileApp}
}

func lib(pattern, name, version string) clientRule {
	return clientRule{rule: mustRule(pattern, name, version), kind: typeLibrary}
}

func browser(pattern, code, name, version, engine string, steps ...engineStep) clientRule {
	return clientRule{rule: mustRule(pattern, name, version), kind: typeBrowser, code: code, engine: engine, engines: steps}
}

// except adds an exclusion regex to a client rule (see rule.except).
func (c clientRule) except(pattern string) clientRule {
	c.rule = c.rule.except(pattern)
	return c
}

// clientRules follows Matomo's parser order (mobile apps, then browsers,
// then libraries) and, inside each, the order of its YAML files; it is a
// subset of those files covering the clients seen in practice.
var clientRules = []clientRule{
	// regexes/client/mobile_apps.yml
	app(`AudienceNetworkForAndroid.+(?:FBAV)(?:[ /]([\d\.]+))?`, "Facebook Audience Network", "$1"),
	app(`(?:mLite|MessengerLite(?:ForiOS)?).*(?:FBAV)(?:[ /]([\d\.]+))?`, "Facebook Messenger Lite", "$1"),
	app(`(?:MessengerForiOS|MESSENGER|FB_IAB/Orca-Android).*(?:FBAV)(?:[ /]([\d\.]+))?`, "Facebook Messenger", "$1"),
	app(`(?:GroupsForiOS).*(?:FBAV)(?:[ /]([\d\.]+))?`, "Facebook Groups", "$1"),
	app(`FBAN/EMA.+FBAV(?:[ /]([\d\.]+))?`, "Facebook Lite", "$1"),
	app(`FBAN/FBPageAdmin.+FBAV(?:[ /]([\d\.]+))?`, "Meta Business Suite", "$1"),
	app(`(?:FBAV|com\.facebook\.katana|facebook-mobile/1\.0|facebook-mobile/|Facebook/)(?:[ /]([\d\.]+))?`, "Facebook", "$1"),
	app(`(?:FBAN|FBSV|FBID|FBBV)/`, "Facebook", ""),
	app(`MicroMessenger/([\d\.]+)`, "WeChat", "$1"),
	app(`Pinterest(?: for (?:Android(?: Tablet)?|iOS))?(?:/([\d\.]+))?`, "Pinterest", "$1"),
	app(`WhatsApp(?:[ /]([\d\.]+))?`, "WhatsApp", "$1"),
	app(`Line(?:[ /]([\d\.]+))`, "Line", "$1"),
	app(`(?:com\.google\.GoogleMobile|GSA|GoogleApp)/([\d.]+)?`, "Google Search App", "$1"),
	app(`Instagram[ /]([\d\.]+)?`, "Instagram App", "$1"),
	app(`Twitter for iPhone/?([\d\.]+)?`, "Twitter", "$1"),
	app(`TwitterAndroid/?([\d\.]+)?`, "Twitter", "$1"),
	app(`(?:Safari/[\d\.]+)?Snapchat/?([\d\.]+)`, "Snapchat", "$1"),
	app(`LinkedIn(?:App)?(?:\]?/([\d\.]+))?`, "LinkedIn", "$1"),
	app(`(?:TikTok[/ ]|com\.zhiliaoapp\.musically|musical_ly_)(\d+\.(?:[\.\d]+))?`, "TikTok", "$1"),

	// regexes/client/browsers.yml
	browser(`Edge[ /](\d+[\.\d]+)`, "PS", "Microsoft Edge", "$1", "Edge"),
	browser(`EdgiOS[ /](\d+[\.\d]+)`, "PS", "Microsoft Edge", "$1", "WebKit"),
	browser(`EdgA[ /](\d+[\.\d]+)`, "PS", "Microsoft Edge", "$1", "Blink"),
	browser(`Edg[ /](\d+[\.\d]+)`, "PS", "Microsoft Edge", "$1", "Blink"),
	browser(`SailfishBrowser(?:/(\d+[\.\d]+))?`, "SA", "Sailfish Browser", "$1", "Gecko"),
	browser(`Waterfox(?:/(\d+[\.\d]+))?`, "WF", "Waterfox", "$1", "Gecko"),
	browser(`Brave(?:/(\d+[\.\d]+))?`, "BR", "Brave", "$1", "Blink"),
	browser(`(?:Focus|Klar)(?:/(\d+[\.\d]+))?`, "FK", "Firefox Focus", "$1", engineDetect),
	browser(`(?:Mobile|Tablet).*Firefox(?:/(\d+[\.\d]+))?`, "FM", "Firefox Mobile", "$1", "Gecko"),
	browser(`FxiOS/(\d+[\.\d]+)`, "F1", "Firefox Mobile iOS", "$1", "WebKit"),
	browser(`Firefox(?:/(\d+[\.\d]+))?`, "FF", "Firefox", "$1", "Gecko").except(`Opera[ /]`),
	browser(`OPRGX(?:/(\d+[\.\d]+))?`, "OX", "Opera GX", "$1", "Blink"),
	browser(`(?:Opera Tablet.*Version|Opera/.+Opera Mobi.+Version|Mobile.+OPR)/(\d+[\.\d]+)`, "OM", "Opera Mobile", "$1", "Presto", engineStep{"15", "Blink"}),
	browser(`OPT/(\d+[\.\d]+)`, "OO", "Opera Touch", "$1", "Blink"),
	browser(`Opera/(\d+[\.\d]+).+Opera Mobi`, "OM", "Opera Mobile", "$1", "Presto", engineStep{"15", "Blink"}),
	browser(`Opera ?Mini/(?:att/)?(\d+[\.\d]+)`, "OI", "Opera Mini", "$1", "Presto"),
	browser(`OPiOS/(\d+[\.\d]+)`, "O1", "Opera Mini iOS", "$1", "WebKit"),
	browser(`(?:Opera[/ ]?|OPR[/ ])(?:9.80.*Version/)?(\d+[\.\d]+)`, "OP", "Opera", "$1", engineDetect,
		engineStep{"3.5", "Elektra"}, engineStep{"7", "Presto"}, engineStep{"15", "Blink"}),
	browser(`YaBrowser(?:/(\d+[\.\d]*))(?: \((alpha|beta)\))?`, "YA", "Yandex Browser", "$1 $2", "Blink"),
	browser(`Vivaldi(?:/(\d+[\.\d]+))?`, "VI", "Vivaldi", "$1", "Blink"),
	browser(`Whale/(\d+[\.\d]+)`, "WH", "Whale Browser", "$1", "Blink"),
	browser(`(?:MIUIBrowser|MiuiBrowser)(?:/(\d+[\.\d]+))?`, "MU", "MIUI Browser", "$1", engineDetect),
	browser(`(?:coc_coc_browser|coccocbrowser)(?:/(\d+[\.\d]+))?`, "CC", "Coc Coc", "$1", "WebKit", blinkFrom28...),
	browser(`DuckDuckGo/(\d+[\.\d]*)`, "DD", "DuckDuckGo Privacy Browser", "$1", "Blink"),
	browser(`Samsung ?Browser(?:[/ ](\d+[\.\d]+))?`, "SB", "Samsung Browser", "$1", engineDetect),
	browser(`UC[ ]?Browser(?:[ /]?(\d+[\.\d]+))?`, "UC", "UC Browser", "$1", engineDetect),
	browser(`UCWEB(?:[ /]?(\d+[\.\d]+))?`, "UC", "UC Browser", "$1", engineDetect),
	browser(`Silk/(\d+[\.\d]+) like Chrome`, "MS", "Mobile Silk", "$1", "Blink"),
	browser(`Silk(?:/(\d+[\.\d]+))?`, "MS", "Mobile Silk", "$1", "WebKit"),
	browser(`Version/.* Chrome(?:/(\d+[\.\d]+))?`, "CV", "Chrome Webview", "$1", "WebKit", blinkFrom28...),
	browser(`CrMo(?:/(\d+[\.\d]+))?`, "CM", "Chrome Mobile", "$1", "WebKit", blinkFrom28...),
	browser(`CriOS(?:/(\d+[\.\d]+))?`, "CI", "Chrome Mobile iOS", "$1", "WebKit"),
	browser(`Chrome(?:/(\d+[\.\d]+))? Mobile`, "CM", "Chrome Mobile", "$1", "WebKit", blinkFrom28...),
	browser(`Chromium(?:/(\d+[\.\d]+))?`, "CR", "Chromium", "$1", "WebKit", blinkFrom28...),
	browser(`HeadlessChrome(?:/(\d+[\.\d]+))?`, "HC", "Headless Chrome", "$1", "Blink"),
	// "Chrome(?!book)" in Matomo; RE2 has no look-ahead.
	browser(`Chrome(?:/(\d+[\.\d]+))?(?:[^b]|$)`, "CH", "Chrome", "$1", "WebKit", blinkFrom28...),
	browser(`IEMobile[ /](\d+[\.\d]+)`, "IM", "IE Mobile", "$1", "Trident"),
	browser(`MSIE (\d+[\.\d]+).*XBLWP7`, "IM", "IE Mobile", "$1", "Trident"),
	browser(`MSIE.*Trident/4\.0`, "IE", "Internet Explorer", "8.0", "Trident"),
	browser(`MSIE.*Trident/5\.0`, "IE", "Internet Explorer", "9.0", "Trident"),
	browser(`MSIE.*Trident/6\.0`, "IE", "Internet Explorer", "10.0", "Trident"),
	browser(`Trident/[78]\.0`, "IE", "Internet Explorer", "11.0", "Trident"),
	browser(`MSIE (\d+[\.\d]+)`, "IE", "Internet Explorer", "$1", "Trident"),
	browser(`IE[ /](\d+[\.\d]+)`, "IE", "Internet Explorer", "$1", "Trident"),
	browser(`Kindle/(\d+[\.\d]+)`, "KI", "Kindle Browser", "$1", engineDetect),
	browser(`Lynx(?:/(\d+[\.\d]+))?`, "LX", "Lynx", "$1", "Text-based"),
	browser(`BlackBerry|PlayBook|BB10`, "BB", "BlackBerry Browser", "", engineDetect),
	browser(`Android`, "AN", "Android Browser", "", "WebKit"),
	browser(`(?:(?:iPod|iPad|iPhone).+Version|MobileSafari)/(\d+[\.\d]+)`, "MF", "Mobile Safari", "$1", "WebKit"),
	browser(`(?:Version/(\d+[\.\d]+).*)?Mobile.*Safari/`, "MF", "Mobile Safari", "$1", "WebKit"),
	browser(`(?:iPod|iPhone|iPad)`, "MF", "Mobile Safari", "", "WebKit"),
	browser(`Version/(\d+[\.\d]+).*Safari/|Safari/?\d+`, "SF", "Safari", "$1", "WebKit"),

	// regexes/client/libraries.yml
	lib(`Dart(?:/(\d+[.\d]+))?`, "Dart", "$1"),
	lib(`python-httpx(?:/(\d+[.\d]+))?`, "HTTPX", "$1"),
	lib(`Wget(?:/(\d+[.\d]+))?`, "Wget", "$1"),
	lib(`Guzzle(?:Http)?(?:/(\d+[.\d]+))?`, "Guzzle (PHP HTTP Client)", "$1"),
	lib(`(?:lib)?curl(?:/(\d+[.\d]+))?`, "curl", "$1"),
	lib(`python-requests(?:/(\d+[.\d]+))?`, "Python Requests", "$1"),
	lib(`Python-urllib3?(?:/?(\d+[.\d]+))?`, "Python urllib", "$1"),
	lib(`Apache-HttpClient(?:/?(\d+[.\d]+))?`, "Apache HTTP Client", "$1"),
	lib(`Java-http-client(?:/?(\d+[.\d]+))?`, "Java HTTP Client", "$1"),
	lib(`Java(?:/?(\d+[.\d]+))?`, "Java", "$1"),
	lib(`(?:perlclient|libwww-perl)(?:/?(\d+[.\d]+))?`, "Perl", "$1"),
	lib(`(?:okhttp|network-okhttp3)/([\d.]+)`, "OkHttp", "$1"),
	lib(`aiohttp(?:/(\d+[.\d]+))?`, "aiohttp", "$1"),
	lib(`(?:Go-http-client|Go )/?(?:(\d+[.\d]+))?(?: package http)?`, "Go-http-client", "$1"),
	lib(`HTTPie(?:/(\d+[.\d]+))?`, "HTTPie", "$1"),
	lib(`node-fetch/?(\d+[.\d]+)?`, "Node Fetch", "$1"),
	lib(`PostmanRuntime(?:/(\d+[.\d]+))?`, "Postman Desktop", "$1"),
	lib(`insomnia(?:/(\d+[.\d]+))?`, "Insomnia REST Client", "$1"),
	lib(`axios(?:/?(\d+[.\d]+))?`, "Axios", "$1"),
	lib(`^Deno/(\d+\.[.\d]+)`, "Deno", "$1"),
	lib(`^undici$`, "undici", ""),
}

// mobileOnlyBrowsers are the codes Matomo never counts as desktop even on
// a desktop OS (a subset of its list: the ones this package can report).
var mobileOnlyBrowsers = map[string]bool{
	"MF": true, "OI": true, "OM": true, "DD": true, "FM": true, "SB": true, "FK": true, "SA": true,
}

// clientResult is the detected client; zero value means unknown.
type clientResult struct {
	kind, code, name, version, engine, engineVersion string
}

// parseClient returns the first matching client rule's result, with the
// engine and engine version for browsers computed as Matomo does.
func parseClient(ua, lower string) clientResult {
	for i := range clientRules {
		r := &clientRules[i]
		m := r.match(ua, lower)
		if m == nil {
			continue
		}
		c := clientResult{kind: r.kind, code: r.code, name: expand(r.name, m), version: buildVersion(r.version, m)}
		if r.kind == typeBrowser {
			c.engine = browserEngine(ua, r, c.version)
			c.engineVersion = engineVersion(ua, c.engine)
		}
		return c
	}
	return clientResult{}
}

// browserEngine mirrors Matomo's Browser::buildEngine: the rule's default,
// overridden by version steps, else detected from the user agent.
func browserEngine(ua string, r *clientRule, version string) string {
	engine := r.engine
	for _, s := range r.engines {
		if versionAtLeast(version, s.from) {
			engine = s.engine
		}
	}
	if engine == "" {
		engine = detectEngine(ua)
	}
	return engine
}

var (
	engineNetFront = regexp.MustCompile(matomoPrefix + `NetFront)`)
	engineEdge     = regexp.MustCompile(matomoPrefix + `Edge/)`)
	engineTrident  = regexp.MustCompile(matomoPrefix + `Trident)`)
	engineChrome   = regexp.MustCompile(matomoPrefix + `Chrome/(\d+)\.)`)
	engineWebKit   = regexp.MustCompile(matomoPrefix + `(?:Apple)?WebKit)`)
	enginePresto   = regexp.MustCompile(matomoPrefix + `Presto)`)
	engineGecko    = regexp.MustCompile(`(?i)(like )?Gecko`)
	engineKHTML    = regexp.MustCompile(matomoPrefix + `KHTML)`)
)

// detectEngine mirrors Matomo's browser_engine.yml, in its order.
func detectEngine(ua string) string {
	switch {
	case engineNetFront.MatchString(ua):
		return "NetFront"
	case engineEdge.MatchString(ua):
		return "Edge"
	case engineTrident.MatchString(ua):
		return "Trident"
	case chromeIsBlink(ua):
		return "Blink"
	case engineWebKit.MatchString(ua):
		return "WebKit"
	case enginePresto.MatchString(ua):
		return "Presto"
	case geckoNotLike(ua):
		return "Gecko"
	case engineKHTML.MatchString(ua):
		return "KHTML"
	}
	return ""
}

// chromeIsBlink stands in for Matomo's `Chrome/(?!1?\d\.|2[0-7]\.)`:
// some Chrome token with a major version of 28 or more.
func chromeIsBlink(ua string) bool {
	for _, m := range engineChrome.FindAllStringSubmatch(ua, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil && n >= 28 || len(m[1]) > 2 {
			return true
		}
	}
	return false
}

// geckoNotLike stands in for Matomo's `(?<!like )Gecko`.
func geckoNotLike(ua string) bool {
	for _, m := range engineGecko.FindAllStringSubmatch(ua, -1) {
		if m[1] == "" {
			return true
		}
	}
	return false
}

var (
	geckoVersion = regexp.MustCompile(`(?i) rv[: ]([0-9.]+).*(?:g|cl)ecko/[0-9]{8,10}`)
	blinkVersion = regexp.MustCompile(`(?i)(?:Chr[o0]me|Chromium|Cronet)\s*[/_]?\s*(\d+[.\d]*)`)
	leadingVer   = regexp.MustCompile(`^\d+\.\d`)
)

// engineVersionRes holds the token regexes of the other engines; it is
// built once and only read afterwards.
var engineVersionRes = func() map[string]*regexp.Regexp {
	res := map[string]*regexp.Regexp{}
	for _, e := range []string{"Edge", "Trident", "WebKit", "Gecko", "Presto", "KHTML", "NetFront", "Goanna", "Servo"} {
		res[e] = regexp.MustCompile(`(?i)(?:` + e + `)\s*[/_]?\s*(\d+[.\d]*)`)
	}
	return res
}()

// engineVersion mirrors Matomo's Engine\Version parser: Gecko reads "rv:",
// Blink reads the Chrome token, the others read their own token.
func engineVersion(ua, engine string) string {
	if engine == "" {
		return ""
	}
	if engine == "Gecko" {
		if m := geckoVersion.FindStringSubmatch(ua); m != nil {
			return m[1]
		}
	}
	re := engineVersionRes[engine]
	if engine == "Blink" {
		re = blinkVersion
	}
	if re == nil {
		return ""
	}
	m := re.FindStringSubmatch(ua)
	if m == nil {
		return ""
	}
	v := m[1]
	if leadingVer.MatchString(v) {
		return v
	}
	// Matomo accepts a bare number of at most 7 digits.
	digits := strings.TrimRight(v, ".")
	if i := strings.IndexByte(digits, '.'); i >= 0 {
		digits = digits[:i]
	}
	if len(digits) > 7 {
		return ""
	}
	return digits
}
