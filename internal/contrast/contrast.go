// Package contrast parses CSS hex colours and computes their WCAG 2.2
// contrast ratio, so configuration checks, the generated brand stylesheet
// and the stylesheet tests share one definition of "readable".
package contrast

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MinText is WCAG 2.2 AA's minimum contrast for normal text (1.4.3).
const MinText = 4.5

// RGB is an sRGB colour with 8 bits per channel.
type RGB struct{ R, G, B uint8 }

// Hex formats c as #rrggbb.
func (c RGB) Hex() string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

// Parse reads #rgb or #rrggbb (case-insensitive); nothing else is a colour
// here, so a typo cannot silently become black.
func Parse(s string) (RGB, error) {
	h := strings.TrimPrefix(strings.TrimSpace(s), "#")
	if !strings.HasPrefix(strings.TrimSpace(s), "#") || (len(h) != 3 && len(h) != 6) {
		return RGB{}, fmt.Errorf("%q is not a colour in #rrggbb or #rgb form", s)
	}
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	v, err := strconv.ParseUint(h, 16, 32)
	if err != nil {
		return RGB{}, fmt.Errorf("%q is not a colour in #rrggbb or #rgb form", s)
	}
	return RGB{uint8(v >> 16), uint8(v >> 8), uint8(v)}, nil
}

// Luminance is the WCAG relative luminance of c.
func (c RGB) Luminance() float64 {
	ch := func(v uint8) float64 {
		x := float64(v) / 255
		if x <= 0.04045 {
			return x / 12.92
		}
		return math.Pow((x+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
}

// Ratio is the WCAG contrast ratio of two colours, from 1 to 21.
func Ratio(a, b RGB) float64 {
	la, lb := a.Luminance(), b.Luminance()
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}
