package contrast

import (
	"math"
	"testing"
)

func TestRatio(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"#000", "#fff", 21},
		{"#ffffff", "#ffffff", 1},
		{"#777777", "#ffffff", 4.48}, // the classic just-failing grey
		{"#98a2b3", "#f6f7fb", 2.41}, // the old footer (issue 14)
	} {
		a, err := Parse(c.a)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Parse(c.b)
		if err != nil {
			t.Fatal(err)
		}
		if got := Ratio(a, b); math.Abs(got-c.want) > 0.01 {
			t.Errorf("Ratio(%s, %s) = %.3f, want %.2f", c.a, c.b, got, c.want)
		}
	}
}

func TestParseRefusesNonHex(t *testing.T) {
	for _, s := range []string{"", "red", "#12", "#12345", "#gggggg", "123456", "#1234567"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
	if c, err := Parse("#AbC"); err != nil || c.Hex() != "#aabbcc" {
		t.Errorf("Parse(#AbC) = %v, %v", c.Hex(), err)
	}
}
