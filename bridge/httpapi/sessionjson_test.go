package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"
)

// TestSessionJSONMatchesEncodingJSON: the hand-written Session JSON is
// byte for byte what encoding/json writes, for plain and hostile values.
func TestSessionJSONMatchesEncodingJSON(t *testing.T) {
	odd := []string{"", "plain", `quote " and \ backslash`, "<script>&amp;</script>", "tab\tnl\ncr\rbs\bff\f",
		"\x00\x01\x1f\x7f", "ünïcødé 日本 🙂", "bad utf8 \xff\xfe end", "\u2028line\u2029para", "trunc \xe6\x97"}
	for _, v := range odd {
		j := sessionJSON{ID: v, CreatedAt: "2026-01-01T00:00:00.000+00:00", UserID: v, Provider: v,
			ProviderAccessToken: v, DeviceModel: v, CountryName: v, Current: len(v)%2 == 0,
			Factors: []string{"email", v}, Secret: v}
		want, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		if got := j.appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("value %q:\n got %s\nwant %s", v, got, want)
		}
	}
	for _, factors := range [][]string{nil, {}} {
		j := sessionJSON{Factors: factors}
		want, _ := json.Marshal(j)
		if got := j.appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("factors %#v:\n got %s\nwant %s", factors, got, want)
		}
	}
}

func TestWriteSessionJSONMatchesWriteJSON(t *testing.T) {
	j := sessionJSON{ID: "s", Factors: []string{"oauth2"}, ProviderAccessToken: "tok<>"}
	a, b := httptest.NewRecorder(), httptest.NewRecorder()
	writeJSON(a, 201, j)
	writeSessionJSON(b, 201, &j)
	if a.Code != b.Code || a.Body.String() != b.Body.String() ||
		a.Header().Get("Content-Type") != b.Header().Get("Content-Type") || a.Header().Get("Cache-Control") != b.Header().Get("Cache-Control") {
		t.Fatalf("writeJSON %d %q %v\nwriteSessionJSON %d %q %v", a.Code, a.Body, a.Header(), b.Code, b.Body, b.Header())
	}
}
