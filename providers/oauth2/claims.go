package oauth2

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A claim path names a value in a decoded JSON document:
//
//	id                      top-level member
//	data.user.id            nested members
//	emails.0.value          array index
//	first_name + last_name  values joined with a space (empty ones skipped)
//	mail | userPrincipalName the first alternative that yields a value
//	token:stripe_user_id    read from the token answer instead of user info
//
// Numbers are rendered exactly as the provider wrote them (documents are
// decoded with UseNumber), so a 64-bit numeric ID never becomes 1.2e+19.

// tokenPrefix selects the token answer as the document of a path.
const tokenPrefix = "token:"

// CheckPath reports a claim path that can never match.
func CheckPath(expr string) error {
	for _, alt := range strings.Split(expr, "|") {
		for _, part := range strings.Split(alt, "+") {
			part = strings.TrimPrefix(strings.TrimSpace(part), tokenPrefix)
			if part == "" {
				return fmt.Errorf("%q has an empty path", expr)
			}
			for _, seg := range strings.Split(part, ".") {
				if seg == "" {
					return fmt.Errorf("%q has an empty segment (two dots, or a leading or trailing dot)", expr)
				}
			}
		}
	}
	return nil
}

// Extract evaluates a claim path against the user-info document and the
// token document and returns the value as a string ("" when absent).
func Extract(userinfo, token any, expr string) string {
	for _, alt := range strings.Split(expr, "|") {
		var parts []string
		for _, part := range strings.Split(alt, "+") {
			part = strings.TrimSpace(part)
			doc := userinfo
			if rest, ok := strings.CutPrefix(part, tokenPrefix); ok {
				doc, part = token, rest
			}
			if v, ok := Lookup(doc, part); ok {
				if s := scalarString(v); s != "" {
					parts = append(parts, s)
				}
			}
		}
		if len(parts) > 0 {
			return strings.Join(parts, " ")
		}
	}
	return ""
}

// Lookup follows a dotted path through maps and arrays.
func Lookup(doc any, path string) (any, bool) {
	cur := doc
	for _, seg := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, cur != nil
}

// scalarString renders strings, numbers and booleans; objects, arrays and
// null render as "".
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case float64: // only from documents decoded without UseNumber
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return ""
	}
}

// ParseBool reads an email_verified-style value: true, "true", 1, "1",
// "yes" are true; everything else false.
func ParseBool(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes":
		return true
	}
	return false
}

// DecodeJSON decodes a JSON document keeping numbers exact. It refuses
// trailing data.
func DecodeJSON(body []byte) (any, error) {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON document")
	}
	return v, nil
}
