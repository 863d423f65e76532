package httpapi

import (
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/sessionbridge/sessionbridge/bridge/store"
	"github.com/sessionbridge/sessionbridge/templates"
)

type userView struct{ ID, Name, Email, Initials string }

// sessionRow is one session on the account page. Everything a user reads
// about the session, its refresh state included, is decided here on the
// server; the page's script only re-words times for the browser's locale.
type sessionRow struct {
	ID, ProviderKey, Provider, Device, IP, Country string
	Current, Confirm                               bool
	Renewed                                        bool // the refresher keeps its token fresh
	Created, Ends, Refreshed                       timeView
	Token                                          tokenView
}

// timeView is a <time>: ISO is the machine value ("" when unknown), Text
// the fallback shown until the script re-words it, Style relative or clock.
type timeView struct{ ISO, Text, Style string }

// tokenView is the provider token's state in words a user understands.
type tokenView struct {
	State string // fresh, valid, failing, expired, noexpiry or none: a CSS class
	Label string
	At    timeView
}

func newTimeView(t time.Time, style string) timeView {
	if t.IsZero() {
		return timeView{}
	}
	return timeView{ISO: appwriteTime(t), Text: t.UTC().Format("2006-01-02 15:04 UTC"), Style: style}
}

// tokenState describes the provider token of sess at now: failing
// refreshes first (the user should act), then expiry, then freshness.
func tokenState(sess store.Session, now time.Time, t map[string]string) tokenView {
	renewed := !sess.RefreshAt.IsZero()
	switch {
	case len(sess.AccessTokenSealed) == 0 && !renewed && sess.AccessTokenExpiry.IsZero():
		return tokenView{State: "none", Label: t["account.token_none"]}
	case sess.RefreshFailures > 0:
		return tokenView{State: "failing", Label: t["account.token_failing"]}
	case sess.AccessTokenExpiry.IsZero():
		return tokenView{State: "noexpiry", Label: t["account.token_no_expiry"]}
	case !sess.AccessTokenExpiry.After(now):
		return tokenView{State: "expired", Label: t["account.token_expired"], At: newTimeView(sess.AccessTokenExpiry, "relative")}
	case renewed:
		return tokenView{State: "fresh", Label: t["account.token_fresh_until"], At: newTimeView(sess.AccessTokenExpiry, "relative")}
	}
	return tokenView{State: "valid", Label: t["account.token_valid_until"], At: newTimeView(sess.AccessTokenExpiry, "relative")}
}

// deviceLabel names the device a session was created from the way people
// say it: "Chrome, Windows"; "Unknown device" when nothing was detected.
func deviceLabel(c store.Client, t map[string]string) string {
	parts := make([]string, 0, 3)
	if c.ClientName != "" {
		parts = append(parts, c.ClientName)
	}
	if c.OSName != "" {
		parts = append(parts, strings.TrimSpace(c.OSName+" "+c.OSVersion))
	}
	if model := strings.TrimSpace(c.DeviceBrand + " " + c.DeviceModel); model != "" && c.DeviceName != "desktop" {
		parts = append(parts, model)
	}
	if len(parts) == 0 {
		return templates.Translate(t, "account.unknown_device")
	}
	return strings.Join(parts, ", ")
}

// initials are up to two letters for the avatar: of the first and last
// word of the name, else of the email.
func initials(name, email string) string {
	words := strings.Fields(name)
	if len(words) == 0 && email != "" {
		words = []string{email}
	}
	out := []rune{}
	for i, w := range words {
		if i != 0 && i != len(words)-1 {
			continue
		}
		for _, r := range w {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				out = append(out, unicode.ToUpper(r))
				break
			}
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return string(out)
}

// sessionRows builds the account page's list; confirm is the session whose
// revocation awaits the user's confirmation ("" for none).
func (s *Server) sessionRows(list []store.Session, currentID, confirm string, t map[string]string) []sessionRow {
	now := s.o.Now()
	rows := make([]sessionRow, 0, len(list))
	for _, sess := range list {
		c := sess.Client
		row := sessionRow{
			ID: sess.ID, ProviderKey: sess.Provider, Provider: s.displayName(sess.Provider),
			Current: sess.ID == currentID, Confirm: sess.ID == confirm && sess.ID != currentID,
			Device:  deviceLabel(c, t),
			IP:      orDefault(c.IP, t["account.unknown"]),
			Country: c.CountryName,
			Created: newTimeView(sess.CreatedAt, "relative"),
			Ends:    newTimeView(sess.Expire, "relative"),
			Token:   tokenState(sess, now, t),
		}
		if c.CountryCode == "" || c.CountryCode == "--" {
			row.Country = t["account.unknown"]
		}
		row.Renewed = !sess.RefreshAt.IsZero()
		if sess.UpdatedAt.Sub(sess.CreatedAt) > time.Second && row.Renewed {
			row.Refreshed = newTimeView(sess.UpdatedAt, "relative")
		}
		rows = append(rows, row)
	}
	// This device first, then the newest sign-in.
	sort.SliceStable(rows, func(i, j int) bool {
		if rows[i].Current != rows[j].Current {
			return rows[i].Current
		}
		return rows[i].Created.ISO > rows[j].Created.ISO
	})
	return rows
}
