package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
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

// lowContrastJS lists the rendered text whose colour has less than 4.5:1
// contrast with the background it is drawn on (the first opaque
// background among its ancestors), as the browser computed them.
const lowContrastJS = `(() => {
  const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = c => { const f = v => { v /= 255; return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const bgOf = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c; } return [255, 255, 255]; };
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim() !== '');
    if (!own || el.getClientRects().length === 0) continue;
    const fg = rgb(getComputedStyle(el).color), bg = bgOf(el);
    const a = lum(fg), b = lum(bg), r = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (r < 4.5) out.push(el.tagName.toLowerCase() + '.' + el.className + ' "' + el.textContent.trim().slice(0, 40) + '" ' + r.toFixed(2));
  }
  return out;
})()`

// shootPage takes the current page's screenshot on every viewport in
// both colour schemes, and fails when the page scrolls sideways on the
// phone or draws text below 4.5:1 contrast. The tab is left on the desktop light settings.
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
			low, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](lowContrastJS))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range low {
				t.Errorf("%s page (%s, %s): text below 4.5:1: %s", name, v.name, scheme, l)
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
