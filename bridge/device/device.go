// Package device turns a User-Agent header into the device fields of an
// Appwrite Session (osCode, osName, ..., deviceModel).
//
// Appwrite fills those fields with Matomo's device-detector (with bot
// detection skipped) through its Detector class; the codes are Matomo's
// short codes (WIN, MAC, CH, FF, ...) and every field is a string, empty
// when unknown. This package reproduces that output for the clients that
// reach a login page in practice: ordered rule tables transcribed from
// Matomo's regex files give the OS and the client (so versions are the
// full strings Matomo reports, e.g. "120.0.6099.144"), and uap-go's device
// database supplies the hardware brand and model, renamed to Matomo's
// names by small tables. Exotic user agents may differ from Matomo; they
// then degrade to fewer or empty fields, never to an error.
package device

import (
	"fmt"
	"strings"

	lru "github.com/hashicorp/golang-lru"
	"github.com/ua-parser/uap-go/uaparser"
)

// MaxUserAgentLength caps the part of a User-Agent that is parsed: real
// user agents are a few hundred bytes, and the regexes run in linear
// time, so the cap bounds the work an attacker can cause per request.
const MaxUserAgentLength = 1024

// cacheSize bounds the memory of the result cache: user agents repeat
// heavily (one per browser build), so a few thousand entries hit almost
// always.
const cacheSize = 4096

// Info holds the Session device fields, named after Appwrite's JSON keys.
// Unknown fields are empty strings.
type Info struct {
	OSCode              string
	OSName              string
	OSVersion           string
	ClientType          string // "browser", "mobile app", "library", ...
	ClientCode          string // browsers only, e.g. "CH"
	ClientName          string
	ClientVersion       string
	ClientEngine        string
	ClientEngineVersion string
	DeviceName          string // "desktop", "smartphone", "tablet", ...
	DeviceBrand         string
	DeviceModel         string
}

// Parser parses user agents. It is safe for concurrent use.
type Parser struct {
	uap   *uaparser.Parser
	cache *lru.Cache // string -> Info
}

// New builds a Parser. It compiles uap-go's embedded device regexes, which
// takes a moment, so build one Parser per process and share it.
func New() (p *Parser, err error) {
	defer func() {
		// uap-go and this package's tables compile regexes with
		// MustCompile; report a broken table as an error, not a crash.
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("device: building user-agent parser: %v", r)
		}
	}()
	// uap-go's own caches would duplicate ours; keep them minimal (a
	// size of 0 is rejected by uap-go).
	uap, err := uaparser.New(uaparser.WithMode(uaparser.EDeviceLookUpMode), uaparser.WithCacheSize(1))
	if err != nil {
		return nil, fmt.Errorf("device: building user-agent parser: %w", err)
	}
	cache, err := lru.New(cacheSize)
	if err != nil {
		return nil, fmt.Errorf("device: building cache: %w", err)
	}
	return &Parser{uap: uap, cache: cache}, nil
}

// Parse returns the device fields for a User-Agent header value. It never
// fails: an empty or unrecognised user agent gives empty fields.
func (p *Parser) Parse(userAgent string) (info Info) {
	if len(userAgent) > MaxUserAgentLength {
		userAgent = userAgent[:MaxUserAgentLength]
	}
	// Matomo skips user agents without any letter.
	if !strings.ContainsFunc(userAgent, isASCIILetter) {
		return Info{}
	}
	if p == nil || p.cache == nil {
		return Info{}
	}
	if v, ok := p.cache.Get(userAgent); ok {
		if cached, ok := v.(Info); ok {
			return cached
		}
	}
	defer func() {
		// A parser bug must not take a login down with it.
		if r := recover(); r != nil {
			info = Info{}
		}
	}()
	info = p.parse(userAgent)
	p.cache.Add(userAgent, info)
	return info
}

func (p *Parser) parse(ua string) Info {
	lower := strings.ToLower(ua)
	os := parseOS(ua, lower)
	c := parseClient(ua, lower)
	hw := p.parseHardware(ua, os, c)
	info := Info{
		OSCode:              os.code,
		OSName:              os.name,
		OSVersion:           os.version,
		ClientType:          c.kind,
		ClientCode:          c.code,
		ClientName:          c.name,
		ClientVersion:       c.version,
		ClientEngine:        c.engine,
		ClientEngineVersion: c.engineVersion,
		DeviceName:          hw.deviceType,
		DeviceBrand:         hw.brand,
		DeviceModel:         hw.model,
	}
	applyTerminal(ua, &info)
	for _, f := range []*string{&info.OSCode, &info.OSName, &info.OSVersion, &info.ClientType, &info.ClientCode,
		&info.ClientName, &info.ClientVersion, &info.ClientEngine, &info.ClientEngineVersion,
		&info.DeviceName, &info.DeviceBrand, &info.DeviceModel} {
		*f = clean(*f)
	}
	return info
}

// MaxFieldLength bounds each Info field. Versions and models are copied
// from the user agent, so without it they could be as long as the UA;
// Appwrite's sessions collection holds 256 characters per field.
const MaxFieldLength = 256

// clean makes a field safe to store: captured versions and models may
// carry the UA's invalid UTF-8 (which PostgreSQL refuses in a text
// column, failing the login) and may be arbitrarily long.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) > MaxFieldLength {
		s = strings.ToValidUTF8(s[:MaxFieldLength], "")
	}
	return s
}

// applyTerminal reproduces the one rule Appwrite's Detector adds on top
// of Matomo: a user agent containing "Terminal" (Appwrite's CLI) is the
// client "Terminal", versioned by the first word's "/" suffix.
func applyTerminal(ua string, info *Info) {
	if !strings.Contains(ua, "Terminal") {
		return
	}
	first, _, _ := strings.Cut(ua, " ")
	_, version, _ := strings.Cut(first, "/")
	if i := strings.IndexByte(version, '/'); i >= 0 {
		version = version[:i]
	}
	info.ClientType = "desktop"
	info.ClientCode = "terminal"
	info.ClientName = "Terminal"
	info.ClientVersion = version
	info.ClientEngine = ""
	info.ClientEngineVersion = ""
}

func isASCIILetter(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
}
