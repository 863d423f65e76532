package device

import "strings"

// osNames maps Matomo's operating system names (lower-cased) to their
// canonical spelling and short code, for the systems this package can
// report. Matomo resolves a regex's name case-insensitively against its
// own list, so "ubuntu" in a user agent still yields "Ubuntu"/"UBT".
var osNames = map[string][2]string{
	"android":              {"Android", "AND"},
	"arch linux":           {"Arch Linux", "ARL"},
	"backtrack":            {"BackTrack", "BTR"},
	"blackberry os":        {"BlackBerry OS", "BLB"},
	"blackberry tablet os": {"BlackBerry Tablet OS", "QNX"},
	"centos":               {"CentOS", "CES"},
	"chrome os":            {"Chrome OS", "COS"},
	"debian":               {"Debian", "DEB"},
	"dragonfly":            {"DragonFly", "DFB"},
	"fedora":               {"Fedora", "FED"},
	"fire os":              {"Fire OS", "FIR"},
	"firefox os":           {"Firefox OS", "FOS"},
	"freebox":              {"Freebox", "FRE"},
	"freebsd":              {"FreeBSD", "BSD"},
	"gentoo":               {"Gentoo", "GNT"},
	"gnu/linux":            {"GNU/Linux", "LIN"},
	"haiku os":             {"Haiku OS", "HAI"},
	"harmonyos":            {"HarmonyOS", "HAR"},
	"ios":                  {"iOS", "IOS"},
	"ipados":               {"iPadOS", "IPA"},
	"kaios":                {"KaiOS", "KOS"},
	"knoppix":              {"Knoppix", "KNO"},
	"kubuntu":              {"Kubuntu", "KBT"},
	"lubuntu":              {"Lubuntu", "LBT"},
	"mac":                  {"Mac", "MAC"},
	"mandriva":             {"Mandriva", "MDR"},
	"mint":                 {"Mint", "MIN"},
	"netbsd":               {"NetBSD", "NBS"},
	"nintendo":             {"Nintendo", "WII"},
	"openbsd":              {"OpenBSD", "OBS"},
	"playstation":          {"PlayStation", "PS3"},
	"red hat":              {"Red Hat", "RHT"},
	"sabayon":              {"Sabayon", "SAB"},
	"sailfish os":          {"Sailfish OS", "SAF"},
	"slackware":            {"Slackware", "SLW"},
	"solaris":              {"Solaris", "SOS"},
	"suse":                 {"SUSE", "SSE"},
	"tizen":                {"Tizen", "TIZ"},
	"ubuntu":               {"Ubuntu", "UBT"},
	"webos":                {"webOS", "WOS"},
	"windows":              {"Windows", "WIN"},
	"windows ce":           {"Windows CE", "WCE"},
	"windows mobile":       {"Windows Mobile", "WMO"},
	"windows phone":        {"Windows Phone", "WPH"},
	"windows rt":           {"Windows RT", "WRT"},
	"xbox":                 {"Xbox", "XBX"},
	"xubuntu":              {"Xubuntu", "XBT"},
	"yunos":                {"YunOS", "YNS"},
}

// desktopOS lists the short codes whose Matomo OS family is a desktop
// family (Windows, Mac, GNU/Linux, Chrome OS, Unix, BeOS). A session from
// one of them, in a browser that is not mobile-only, is a "desktop".
var desktopOS = map[string]bool{
	"WIN": true, "MAC": true, "COS": true, "HAI": true,
	"LIN": true, "ARL": true, "DEB": true, "KNO": true, "MIN": true, "UBT": true, "KBT": true,
	"XBT": true, "LBT": true, "FED": true, "RHT": true, "MDR": true, "GNT": true, "SAB": true,
	"SLW": true, "SSE": true, "CES": true, "BTR": true, "SAF": true, "FRE": true,
	"SOS": true, "BSD": true, "NBS": true, "OBS": true, "DFB": true,
}

// androidFamily lists the short codes of Matomo's "Android" OS family.
var androidFamily = map[string]bool{"AND": true, "FIR": true, "YNS": true, "HAR": true}

// appleOS lists the OS names for which Matomo assumes the brand Apple.
var appleOS = map[string]bool{"iOS": true, "iPadOS": true, "Mac": true}

// osRules is an ordered subset of Matomo's regexes/oss.yml covering the
// systems that reach a login page in practice. Order matters exactly as
// in Matomo: e.g. Android before the generic Linux rule, iPadOS before
// iOS, iOS before Mac (iPhone UAs say "like Mac OS X").
var osRules = []rule{
	mustRule(`Tizen[ /]?(\d+[\.\d]+)?`, "Tizen", "$1"),
	mustRule(`(?:Ali)?YunOS[ /]?(\d+[\.\d]+)?`, "YunOS", "$1"),
	mustRule(`Windows Phone;FBSV/(\d+[\.\d]+)`, "Windows Phone", "$1"),
	mustRule(`(?:Windows Phone (?:OS)?|wds)[ /]?(\d+[\.\d]+)`, "Windows Phone", "$1"),
	mustRule(`XBLWP7|Windows Phone`, "Windows Phone", ""),
	mustRule(`Windows CE(?: (\d+[\.\d]+))?`, "Windows CE", "$1"),
	mustRule(`(?:IEMobile|Windows ?Mobile)(?: (\d+[\.\d]+))?`, "Windows Mobile", "$1"),
	mustRule(`Windows NT 6\.2; ARM;`, "Windows RT", ""),
	mustRule(`Windows NT 6\.3; ARM;`, "Windows RT", "8.1"),
	mustRule(`KAIOS(?:/(\d+[\.\d]+))?`, "KaiOS", "$1"),
	mustRule(`HarmonyOS(?:[/ ](\d+[\.\d]+))?`, "HarmonyOS", "$1"),
	mustRule(`Fire OS(?:/(\d+[\.\d]*))?`, "Fire OS", "$1"),
	// Android
	mustRule(`Android OS/(\d+[\.\d]*)`, "Android", "$1"),
	mustRule(`Android; (\d+[\.\d]*); Mobile;`, "Android", "$1"),
	mustRule(`(?:(?:Orca-)?Android|Adr)[ /]?(?:[a-z]+ )?(\d+[\.\d]*)`, "Android", "$1"),
	mustRule(`(?:Orca-Android|FB4A).*FBSV/(\d+[\.\d]*);`, "Android", "$1"),
	mustRule(` Adr |Android|Silk-Accelerated=[a-z]{4,5}`, "Android", ""),
	mustRule(`BeyondPod|AntennaPod|Podkicker|DoggCatcher|Player FM|okhttp|Podcatcher Deluxe`, "Android", ""),
	mustRule(`Sailfish|Jolla`, "Sailfish OS", ""),
	// Linux distributions named in the user agent
	mustRule(`Arch ?Linux(?:[ /\-](\d+[\.\d]+))?`, "Arch Linux", "$1"),
	mustRule(`Linux; .*((?:Debian|Knoppix|Mint|Ubuntu|Kubuntu|Xubuntu|Lubuntu|Fedora|Red Hat|Mandriva|Gentoo|Sabayon|Slackware|SUSE|CentOS|BackTrack))[ /](\d+[\.\d]+)`, "$1", "$2"),
	mustRule(`(Debian|Knoppix|Mint|Ubuntu|Kubuntu|Xubuntu|Lubuntu|Fedora|Red Hat|Mandriva|Gentoo|Sabayon|Slackware|SUSE|CentOS|BackTrack|Freebox)(?:(?: Enterprise)? Linux)?(?:[ /\-](\d+[\.\d]+))?`, "$1", "$2").except(`Mint Browser`),
	mustRule(`(?:Web0S; .*WEBOS|webOS|web0S|Palm webOS|hpwOS)(?:/?(\d+[\.\d]+))?`, "webOS", "$1"),
	// Windows
	mustRule(`mingw32|winhttp`, "Windows", ""),
	mustRule(`(?:Windows(?:-Update-Agent)?|Microsoft-(?:CryptoAPI|Delivery-Optimization|WebDAV-MiniRedir|WNS))/(\d+\.\d+)`, "Windows", "$1"),
	mustRule(`CYGWIN_NT-10\.0|Windows NT 10\.0|Windows 10`, "Windows", "10"),
	mustRule(`CYGWIN_NT-6\.4|Windows NT 6\.4|Windows 10|win10`, "Windows", "10"),
	mustRule(`CYGWIN_NT-6\.3|Windows NT 6\.3|Windows 8\.1`, "Windows", "8.1"),
	mustRule(`CYGWIN_NT-6\.2|Windows NT 6\.2|Windows 8`, "Windows", "8"),
	mustRule(`CYGWIN_NT-6\.1|Windows NT 6\.1|Windows 7|win7`, "Windows", "7"),
	mustRule(`CYGWIN_NT-6\.0|Windows NT 6\.0|Windows Vista`, "Windows", "Vista"),
	mustRule(`CYGWIN_NT-5\.2|Windows NT 5\.2|Windows Server 2003 / XP x64`, "Windows", "Server 2003"),
	mustRule(`CYGWIN_NT-5\.1|Windows NT 5\.1|Windows XP`, "Windows", "XP"),
	mustRule(`CYGWIN_NT-5\.0|Windows NT 5\.0|Windows 2000`, "Windows", "2000"),
	mustRule(`CYGWIN_NT-4\.0|Windows NT 4\.0|WinNT|Windows NT`, "Windows", "NT"),
	mustRule(`CYGWIN_ME-4\.90|Win 9x 4\.90|Windows ME`, "Windows", "ME"),
	mustRule(`CYGWIN_98-4\.10|Win98|Windows 98`, "Windows", "98"),
	mustRule(`CYGWIN_95-4\.0|Win32|Win95|Windows 95|Windows_95`, "Windows", "95"),
	mustRule(`Windows|.+win32|Win64|MSDW|Microsoft BITS`, "Windows", ""),
	mustRule(`Haiku`, "Haiku OS", ""),
	// iPadOS (iPads from iOS 13 on), then iOS
	mustRule(`iPad(?:; (?:iOS|iPadOS)|.+CPU (?:iPad )?OS) ((?:1[3-9]|[2-9]\d)(?:[_\.]\d+)*)`, "iPadOS", "$1"),
	mustRule(`^(?:iPad|iPhone)(?:\d+[\,\d]*)[/_](\d+[\.\d]+)`, "iOS", "$1"),
	mustRule(`(?:iPhone ?OS|iOS(?: Version)?)(?:/|; |,)(\d+[\.\d]+)`, "iOS", "$1"),
	mustRule(`CFNetwork/.+ Darwin/\d`, "iOS", "").except(`x86_64|i386`),
	mustRule(`iOS(\d+\.\d+\.\d+)`, "iOS", "$1"),
	mustRule(`(?:CPU OS|iPh(?:one)?[ _]OS|iOS)[ _/](\d+(?:[_\.]\d+)*)`, "iOS", "$1"),
	mustRule(`(?:FBIOS|Messenger(?:Lite)?ForiOS).*FBSV/ ?(\d+[\.\d]*);`, "iOS", "$1"),
	mustRule(`(?:Apple-)?(?:iPhone|iPad|iPod)(?:.*Mac OS X.*Version/(\d+\.\d+)|; Opera)?`, "iOS", "$1"),
	// Mac
	mustRule(`Mac[ +]OS[ +]?X(?:[ /,](?:Version )?(\d+(?:[_\.]\d+)+))?`, "Mac", "$1"),
	mustRule(`Mac (?:OS/)?(\d+(?:[_\.]\d+)+)`, "Mac", "$1"),
	mustRule(`(?:macOS[/,]|Mac-)(\d+[\.\d]+)`, "Mac", "$1"),
	mustRule(`Darwin|Macintosh|Mac_PowerPC|PPC|Mac PowerPC|iMac|MacBook|macOS|AppleExchangeWebServices|com\.apple\.trustd`, "Mac", ""),
	mustRule(`CrOS [a-z0-9_]+ .* Chrome/(\d+[\.\d]+)`, "Chrome OS", "$1"),
	// BlackBerry
	mustRule(`(?:BB10;.+Version|Black[Bb]erry[0-9a-z]+|Black[Bb]erry.+Version)/(\d+[\.\d]+)`, "BlackBerry OS", "$1"),
	mustRule(`RIM Tablet OS (\d+[\.\d]+)`, "BlackBerry Tablet OS", "$1"),
	mustRule(`RIM Tablet OS|QNX|Play[Bb]ook`, "BlackBerry Tablet OS", ""),
	mustRule(`BlackBerry`, "BlackBerry OS", ""),
	mustRule(`(?:Mobile|Tablet);.+Firefox/\d+\.\d+`, "Firefox OS", ""),
	// Unix
	mustRule(`(?:SunOS|Solaris)(?:[/ ](\d+[\.\d]+))?`, "Solaris", "$1"),
	mustRule(`FreeBSD(?:[/ ]?(\d+[\.\d]+))?`, "FreeBSD", "$1"),
	mustRule(`NetBSD(?:[/ ]?(\d+[\.\d]+))?`, "NetBSD", "$1"),
	mustRule(`OpenBSD(?:[/ ]?(\d+[\.\d]+))?`, "OpenBSD", "$1"),
	mustRule(`DragonFly(?:[/ ]?(\d+[\.\d]+))?`, "DragonFly", "$1"),
	// Consoles
	mustRule(`Nintendo (Wii|Switch)`, "Nintendo", "$1"),
	mustRule(`PlayStation ?([34])`, "PlayStation", "$1"),
	mustRule(`Xbox|KIN\.(?:One|Two)`, "Xbox", "360"),
	// Generic Linux comes last, as in Matomo.
	mustRule(`Linux(?:OS)?[^a-z]|Cinnamon/(?:\d+[\.\d]+)`, "GNU/Linux", ""),
}

// osResult is the detected operating system; zero value means unknown.
type osResult struct{ name, code, version string }

// parseOS returns the first matching OS rule's result.
func parseOS(ua, lower string) osResult {
	for i := range osRules {
		m := osRules[i].match(ua, lower)
		if m == nil {
			continue
		}
		name := expand(osRules[i].name, m)
		known, ok := osNames[strings.ToLower(name)]
		if !ok {
			continue
		}
		return osResult{name: known[0], code: known[1], version: buildVersion(osRules[i].version, m)}
	}
	return osResult{}
}
