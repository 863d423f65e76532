package walls

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// module is the import path prefix of this module.
const module = "github.com/sessionbridge/sessionbridge/"

// rule forbids the packages matching from to depend (directly or through
// other packages) on packages matching forbidden. Patterns are paths
// relative to the module; a trailing "/..." also matches the path itself
// and everything below it, as in the go command.
type rule struct {
	from, forbidden string
	why             string
}

// rules are the walls. Append to the table to add one.
var rules = []rule{
	{
		from: "providers/...", forbidden: "bridge/...",
		why: "provider clients are plug-ins of the application, not part of it: " +
			"they own their configuration and must build without the bridge (architecture issue #12)",
	},
}

// matches reports whether the module-relative path pkg matches pattern.
func matches(pattern, pkg string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

// TestMatches pins the pattern semantics the rules rely on.
func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		pattern, pkg string
		want         bool
	}{
		{"providers/...", "providers", true},
		{"providers/...", "providers/oidc", true},
		{"providers/...", "providersx", false},
		{"bridge/...", "bridge/config", true},
		{"bridge", "bridge/config", false},
		{"bridge", "bridge", true},
	} {
		if got := matches(tc.pattern, tc.pkg); got != tc.want {
			t.Errorf("matches(%q, %q) = %v, want %v", tc.pattern, tc.pkg, got, tc.want)
		}
	}
}

// TestWalls lists every package of the module with its dependencies and
// the direct imports of its tests, and fails for each one a rule forbids.
func TestWalls(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH; the walls are checked in CI")
	}
	_, self, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(self), "..", "..")
	cmd := exec.Command(goBin, "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}`, "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	checked := 0
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		pkg, ok := strings.CutPrefix(fields[0], module)
		if !ok {
			continue
		}
		checked++
		for _, r := range rules {
			if !matches(r.from, pkg) {
				continue
			}
			for _, dep := range fields[1:] {
				if d, ok := strings.CutPrefix(dep, module); ok && matches(r.forbidden, d) {
					t.Errorf("wall crossed: %s (or its tests) depends on %s (rule: %s must not depend on %s, because %s)",
						pkg, d, r.from, r.forbidden, r.why)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("go list printed no package of the module; the walls were not checked")
	}
}
