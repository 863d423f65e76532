package device

import (
	"regexp"
	"strconv"
	"strings"
)

// Device types as Matomo names them.
const (
	deviceDesktop    = "desktop"
	deviceSmartphone = "smartphone"
	deviceTablet     = "tablet"
	devicePlayer     = "portable media player"
)

// hwResult is the detected hardware; zero value means unknown.
type hwResult struct{ deviceType, brand, model string }

var (
	// mobileHint selects the user agents worth a (costly) uap-go device
	// lookup; desktop user agents never name their hardware.
	mobileHint = regexp.MustCompile(`(?i)android|iphone|ipad|ipod|mobile|tablet|kindle|silk|playbook|bb10|blackberry|windows phone|fbdv/|\bSM-[A-Z]`)
	// botSegment removes "(compatible; Googlebot/2.1; ...)" so that the
	// device of a crawler's smartphone user agent is still recognised:
	// Appwrite skips Matomo's bot detection and reports such UAs as the
	// device they imitate.
	botSegment = regexp.MustCompile(`(?i)\(compatible;[^)]*\)`)

	samsungCode   = regexp.MustCompile(`^(?:SAMSUNG[- ])?(SM-[A-Z]\d{3})`)
	androidTablet = regexp.MustCompile(matomoPrefix + `Android(?: [\.0-9]+)?; Tablet;|Opera Tablet|Tablet(?:[^ ]| [^P]| ?$)|.*\-tablet$)`)
	androidMobile = regexp.MustCompile(matomoPrefix + `Android(?: [\.0-9]+)?; Mobile;|.*\-mobile$)`)
	chromeToken   = regexp.MustCompile(matomoPrefix + `Chrome/[\.0-9]*)`)
	mobileToken   = regexp.MustCompile(matomoPrefix + `(?:Mobile|eliboM))`)
	touchToken    = regexp.MustCompile(matomoPrefix + `Touch)`)
)

// brandNames maps uap-go brand spellings to Matomo's where they differ.
var brandNames = map[string]string{
	"XiaoMi": "Xiaomi",
	"Oppo":   "OPPO",
}

// noBrand lists uap-go placeholder brands that mean "not recognised".
var noBrand = map[string]bool{
	"": true, "Generic": true, "Generic_Android": true, "Generic_Android_Tablet": true,
	"Generic_Inettv": true, "Spider": true, "Other": true,
}

// samsungModel is a Matomo marketing name for a Samsung model-code prefix.
type samsungModel struct {
	name   string
	tablet bool
}

// samsungModels maps the first part of Samsung model codes (the letter
// after it is the region) to Matomo's names, for recent popular devices.
// Unlisted codes keep the raw code, which is what uap-go reports.
var samsungModels = map[string]samsungModel{
	"SM-S901": {"Galaxy S22", false}, "SM-S906": {"Galaxy S22+", false}, "SM-S908": {"Galaxy S22 Ultra", false},
	"SM-S911": {"Galaxy S23", false}, "SM-S916": {"Galaxy S23+", false}, "SM-S918": {"Galaxy S23 Ultra", false},
	"SM-S921": {"Galaxy S24", false}, "SM-S926": {"Galaxy S24+", false}, "SM-S928": {"Galaxy S24 Ultra", false},
	"SM-G991": {"Galaxy S21 5G", false}, "SM-G996": {"Galaxy S21+ 5G", false}, "SM-G998": {"Galaxy S21 Ultra 5G", false},
	"SM-A536": {"Galaxy A53 5G", false}, "SM-A546": {"Galaxy A54 5G", false},
	"SM-X700": {"Galaxy Tab S8", true}, "SM-X706": {"Galaxy Tab S8 5G", true}, "SM-X800": {"Galaxy Tab S8+", true},
	"SM-X900": {"Galaxy Tab S8 Ultra", true}, "SM-X710": {"Galaxy Tab S9", true}, "SM-X810": {"Galaxy Tab S9+", true},
	"SM-X910": {"Galaxy Tab S9 Ultra", true},
}

// appleModels maps Apple hardware identifiers, which in-app browsers
// (Facebook's FBDV, Instagram) put in the user agent, to Matomo's names.
var appleModels = map[string]string{
	"iPhone12,1": "iPhone 11", "iPhone12,3": "iPhone 11 Pro", "iPhone12,5": "iPhone 11 Pro Max",
	"iPhone13,1": "iPhone 12 mini", "iPhone13,2": "iPhone 12", "iPhone13,3": "iPhone 12 Pro", "iPhone13,4": "iPhone 12 Pro Max",
	"iPhone14,4": "iPhone 13 mini", "iPhone14,5": "iPhone 13", "iPhone14,2": "iPhone 13 Pro", "iPhone14,3": "iPhone 13 Pro Max",
	"iPhone14,7": "iPhone 14", "iPhone14,8": "iPhone 14 Plus", "iPhone15,2": "iPhone 14 Pro", "iPhone15,3": "iPhone 14 Pro Max",
	"iPhone15,4": "iPhone 15", "iPhone15,5": "iPhone 15 Plus", "iPhone16,1": "iPhone 15 Pro", "iPhone16,2": "iPhone 15 Pro Max",
}

// parseHardware reproduces Matomo's device type, brand and model: the
// hardware database lookup (uap-go here) followed by Matomo's fallbacks
// (Chrome's "Mobile" token on Android, tablet/mobile fragments, desktop
// for desktop systems, Apple for Apple systems).
func (p *Parser) parseHardware(ua string, os osResult, c clientResult) hwResult {
	var hw hwResult
	if mobileHint.MatchString(ua) {
		hw = p.lookupHardware(ua, os)
	}
	if hw.deviceType == "" {
		hw.deviceType = fallbackType(ua, os, c)
	}
	if hw.brand == "" && appleOS[os.name] {
		hw.brand = "Apple"
	}
	return hw
}

// lookupHardware asks uap-go for brand and model and names them the way
// Matomo does.
func (p *Parser) lookupHardware(ua string, os osResult) hwResult {
	d := p.uap.ParseDevice(ua)
	if d.Brand == "Spider" {
		d = p.uap.ParseDevice(botSegment.ReplaceAllString(ua, ""))
	}
	brand, model := d.Brand, d.Model
	if noBrand[brand] {
		if samsungCode.MatchString(model) {
			brand = "Samsung"
		} else {
			return hwResult{}
		}
	}
	if b, ok := brandNames[brand]; ok {
		brand = b
	}
	hw := hwResult{brand: brand, model: model}
	switch brand {
	case "Apple":
		return appleHardware(model)
	case "Samsung":
		if m := samsungCode.FindStringSubmatch(model); m != nil {
			if s, ok := samsungModels[m[1]]; ok {
				hw.model = s.name
				if s.tablet {
					hw.deviceType = deviceTablet
				}
			}
		}
	}
	if hw.deviceType == "" {
		hw.deviceType = androidType(ua, os, d.Brand == "Generic_Android_Tablet" || strings.Contains(model, "Tablet"))
	}
	return hw
}

// appleHardware names Apple devices: a known identifier gives the
// marketing name, otherwise the product line as Matomo's generic rules do.
func appleHardware(model string) hwResult {
	hw := hwResult{brand: "Apple"}
	switch {
	case strings.HasPrefix(model, "iPad"):
		hw.deviceType, hw.model = deviceTablet, "iPad"
	case strings.HasPrefix(model, "iPod"):
		hw.deviceType, hw.model = devicePlayer, "iPod Touch"
	case strings.HasPrefix(model, "iPhone"):
		hw.deviceType, hw.model = deviceSmartphone, "iPhone"
		if name, ok := appleModels[model]; ok {
			hw.model = name
		}
	default:
		// "Mac" and other desktops: Matomo reports no model.
		return hwResult{}
	}
	return hw
}

// androidType decides phone or tablet for a recognised handheld.
func androidType(ua string, os osResult, tablet bool) string {
	if tablet {
		return deviceTablet
	}
	if t := androidHeuristic(ua, os); t != "" {
		return t
	}
	return deviceSmartphone
}

// androidHeuristic is Matomo's reasoning for Android user agents whose
// hardware it does not know.
func androidHeuristic(ua string, os osResult) string {
	if androidFamily[os.code] && chromeToken.MatchString(ua) {
		if mobileToken.MatchString(ua) {
			return deviceSmartphone
		}
		return deviceTablet
	}
	if androidTablet.MatchString(ua) {
		return deviceTablet
	}
	if androidMobile.MatchString(ua) {
		return deviceSmartphone
	}
	if os.name == "Android" && os.version != "" {
		if !versionAtLeast(os.version, "2.0") {
			return deviceSmartphone
		}
		if versionAtLeast(os.version, "3.0") && !versionAtLeast(os.version, "4.0") {
			return deviceTablet
		}
	}
	return ""
}

// fallbackType applies Matomo's rules when no hardware was recognised.
func fallbackType(ua string, os osResult, c clientResult) string {
	if t := androidHeuristic(ua, os); t != "" {
		return t
	}
	if (os.code == "WRT" || os.code == "WIN" && windowsAtLeast8(os.version)) && touchToken.MatchString(ua) {
		return deviceTablet
	}
	if desktopOS[os.code] && !mobileOnlyBrowsers[c.code] {
		return deviceDesktop
	}
	return ""
}

// windowsAtLeast8 compares Matomo's Windows version labels ("10", "8.1",
// "7", "XP", ...) with 8.
func windowsAtLeast8(v string) bool {
	n, err := strconv.ParseFloat(v, 64)
	return err == nil && n >= 8
}
