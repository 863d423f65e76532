// Package testbrowser finds a Chromium for browser tests and gives the
// chromedp options every such test starts it with.
//
// It is imported by _test.go files only; nothing in the product uses it.
package testbrowser

import (
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
)

// names are the browser commands looked up in PATH, in order.
var names = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"}

// Chromium returns the browser to run: $CHROME_PATH, Debian's
// /usr/bin/chromium, or the first of chromium, chromium-browser,
// google-chrome(-stable) or headless-shell in PATH. Without one the test
// skips, except in CI (CI=true), where it fails.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	if st, err := os.Stat("/usr/bin/chromium"); err == nil && st.Mode().IsRegular() {
		return "/usr/bin/chromium"
	}
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.SkipOrFail(t, "no chromium found (CHROME_PATH, /usr/bin/chromium, or chromium, chromium-browser or google-chrome in PATH): browser test not run; install it with `apt-get install -y chromium`")
	return ""
}

// Options are the allocator options for a headless Chromium at execPath.
// The flags keep it off the network (tests use loopback only, and
// background fetches only slow it down) and work in containers (no
// sandbox, no GPU, no /dev/shm). Callers append their own (window size,
// output, profile directory).
func Options(execPath string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
	}
}
