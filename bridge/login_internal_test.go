package bridge

import (
	"strings"
	"testing"
)

func TestCleanDescription(t *testing.T) {
	for in, want := range map[string]string{
		"the user cancelled the login":         "the user cancelled the login",
		"  two\n lines\tand\x00 a NUL\u200b ":  "two lines and a NUL",
		"<script>alert(1)</script>":            "<script>alert(1)</script>", // escaping is the page's job
		"":                                     "",
		"\x1b[31mred\x1b[0m":                   "[31mred [0m",
		strings.Repeat("é", maxDescription+10): strings.Repeat("é", maxDescription-1) + "…",
	} {
		if got := cleanDescription(in); got != want {
			t.Errorf("cleanDescription(%q) = %q, want %q", in, got, want)
		}
	}
}
