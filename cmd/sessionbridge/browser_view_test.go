package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// viewport is a screen the pages are looked at on.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var viewports = []viewport{{"desktop", 1280, 800, false}, {"phone", 390, 844, true}}

var colorSchemes = []string{"light", "dark"}

// screenshotDir is where the pages' screenshots go: $SESSIONBRIDGE_SCREENSHOTS
// when set (to look at them), else the test's temp dir.
func screenshotDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("SESSIONBRIDGE_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// emulate sets the viewport and the prefers-color-scheme of the tab.
func emulate(ctx context.Context, v viewport, scheme string) error {
	if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
		Width: v.width, Height: v.height, DeviceScaleFactor: 1, Mobile: v.mobile,
	}); err != nil {
		return err
	}
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	return err
}

// overflowJS measures how far the page is wider than the viewport.
const overflowJS = `document.documentElement.scrollWidth - document.documentElement.clientWidth`

// shootPage takes the current page's screenshot on every viewport in
// both colour schemes, and fails when the page scrolls sideways on the
// phone. The tab is left on the desktop light settings.
func shootPage(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	for _, v := range viewports {
		for _, scheme := range colorSchemes {
			if err := emulate(ctx, v, scheme); err != nil {
				t.Fatalf("emulate %s %s: %v", v.name, scheme, err)
			}
			over, err := chromedp.Run(ctx, chromedp.Evaluate[int](overflowJS))
			if err != nil {
				t.Fatal(err)
			}
			if v.mobile && over > 0 {
				t.Errorf("%s page at %dx%d scrolls sideways by %d px", name, v.width, v.height, over)
			}
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			if len(png) < 8 || string(png[1:4]) != "PNG" {
				t.Fatalf("screenshot of %s is not a PNG", name)
			}
			file := filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", name, v.name, scheme))
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := emulate(ctx, viewports[0], "light"); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the %s page in %s", name, dir)
}

// tabTo presses Tab until the element with id has the focus, as a
// keyboard user would, and fails after max presses.
func tabTo(t *testing.T, ctx context.Context, id string, max int) {
	t.Helper()
	for i := 0; i < max; i++ {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ""`))
		if err != nil {
			t.Fatal(err)
		}
		if got == id {
			return
		}
	}
	t.Fatalf("#%s never got the keyboard focus after %d Tab presses", id, max)
}

// focusVisible reports whether the focused element draws a focus outline.
const focusVisibleJS = `(() => { const s = getComputedStyle(document.activeElement); return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; })()`

// typeKeys types text into the focused element key by key.
func typeKeys(t *testing.T, ctx context.Context, text string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent(text)); err != nil {
		t.Fatal(err)
	}
}

// clearField selects the focused field's text with Ctrl+A, so the next
// keys replace it.
func clearField(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierCtrl))); err != nil {
		t.Fatal(err)
	}
}

func hasText(s, sub string) bool { return strings.Contains(strings.Join(strings.Fields(s), " "), sub) }
