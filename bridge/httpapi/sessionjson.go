package httpapi

import (
	"net/http"
	"strconv"
	"sync"
	"unicode/utf8"
)

// The session check answers one Session on every page of an app, so its
// JSON is written by hand: the same bytes encoding/json writes (field
// order, HTML-safe escaping, the trailing newline; sessionjson_test.go
// compares them), without reflection and into a pooled buffer.

var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// writeSessionJSON writes one Session as writeJSON would.
func writeSessionJSON(w http.ResponseWriter, status int, j *sessionJSON) {
	bp := jsonBufs.Get().(*[]byte)
	b := j.appendJSON((*bp)[:0])
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
	*bp = b
	jsonBufs.Put(bp)
}

// appendJSON appends j as encoding/json marshals it.
func (j *sessionJSON) appendJSON(b []byte) []byte {
	strs := [...]struct{ key, val string }{
		{`{"$id":`, j.ID}, {`,"$createdAt":`, j.CreatedAt}, {`,"$updatedAt":`, j.UpdatedAt},
		{`,"userId":`, j.UserID}, {`,"expire":`, j.Expire}, {`,"provider":`, j.Provider},
		{`,"providerUid":`, j.ProviderUID}, {`,"providerAccessToken":`, j.ProviderAccessToken},
		{`,"providerAccessTokenExpiry":`, j.ProviderAccessTokenExpiry},
		{`,"providerRefreshToken":`, j.ProviderRefreshToken}, {`,"ip":`, j.IP},
		{`,"osCode":`, j.OSCode}, {`,"osName":`, j.OSName}, {`,"osVersion":`, j.OSVersion},
		{`,"clientType":`, j.ClientType}, {`,"clientCode":`, j.ClientCode}, {`,"clientName":`, j.ClientName},
		{`,"clientVersion":`, j.ClientVersion}, {`,"clientEngine":`, j.ClientEngine},
		{`,"clientEngineVersion":`, j.ClientEngineVersion}, {`,"deviceName":`, j.DeviceName},
		{`,"deviceBrand":`, j.DeviceBrand}, {`,"deviceModel":`, j.DeviceModel},
		{`,"countryCode":`, j.CountryCode}, {`,"countryName":`, j.CountryName},
	}
	for _, f := range strs {
		b = append(b, f.key...)
		b = appendJSONString(b, f.val)
	}
	b = append(b, `,"current":`...)
	b = strconv.AppendBool(b, j.Current)
	b = append(b, `,"factors":`...)
	if j.Factors == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, f := range j.Factors {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, f)
		}
		b = append(b, ']')
	}
	b = append(b, `,"secret":`...)
	b = appendJSONString(b, j.Secret)
	b = append(b, `,"mfaUpdatedAt":`...)
	b = appendJSONString(b, j.MFAUpdatedAt)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendJSONString is encoding/json's string encoding with HTML escaping
// (its default): <, > and & as \u00XX, U+2028 and U+2029 escaped, invalid
// UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendEscapedByte(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendEscapedByte(b []byte, c byte) []byte {
	switch c {
	case '\\', '"':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
}
