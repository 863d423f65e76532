package walls

import (
	"bufio"
	"bytes"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/sessionbridge/sessionbridge/internal/testenv"
)

// module is the import path prefix of this module.
const module = "github.com/sessionbridge/sessionbridge/"

// reach says how far a rule looks from a package.
type reach int

const (
	// everything (the zero value): the package's dependencies, direct or
	// not, plus the direct imports of its tests.
	_ reach = iota
	// ownImports: only what the package's own (non-test) files import. For
	// walls about a package's code rather than its closure: the domain
	// speaks no HTTP, yet the providers it calls do.
	ownImports
	// linked: the package's dependencies without its tests': what a binary
	// built from it contains.
	linked
)

// rule forbids the packages matching from (except those matching one of
// except) to reach packages matching forbidden. Patterns are paths
// relative to the module, or standard-library paths; a trailing "/..."
// also matches the path itself and everything below it, as in the go
// command.
type rule struct {
	from      string
	except    []string
	forbidden string
	reach     reach
	why       string
}

// domainWhy is the reason shared by the domain's walls.
const domainWhy = "the domain (package bridge) knows its ports, not the adapters behind them"

// rules are the walls. Append to the table to add one.
var rules = []rule{
	{from: "providers/...", forbidden: "bridge/...",
		why: "provider clients are plug-ins of the application, not part of it: they own their configuration and must build without the bridge"},
	{from: "bridge", forbidden: "net/http", reach: ownImports,
		why: "the domain knows nothing of HTTP: bridge/httpapi maps its error kinds to statuses"},
	{from: "bridge", forbidden: "bridge/refresh",
		why: "the domain reaches the refresher through its Refresher port; bridge/app adapts the refresher to it"},
	{from: "bridge", forbidden: "bridge/httpapi", why: domainWhy},
	{from: "bridge", forbidden: "bridge/app", why: domainWhy},
	{from: "bridge", forbidden: "bridge/store/sqlite", why: domainWhy},
	{from: "bridge", forbidden: "bridge/store/postgres", why: domainWhy},
	{from: "...", except: []string{"bridge/httpapi", "templates/..."}, forbidden: "templates", reach: ownImports,
		why: "the pages belong to the HTTP layer, which parses them itself"},
	{from: "cmd/...", forbidden: "internal/testenv/...", reach: linked,
		why: "fault injection and test drivers are test code and must not ship in the binary"},
	{from: "cmd/...", forbidden: "bridge/store/memstore", reach: linked,
		why: "the in-memory store is for tests only"},
	{from: "cmd/...", forbidden: "providers/providertest", reach: linked,
		why: "the fake providers are for tests only"},
	{from: "internal/devissuer", forbidden: "bridge/...",
		why: "the development issuer is a stand-alone OpenID provider, not part of the bridge"},
}

// matches reports whether the module-relative path pkg matches pattern.
func matches(pattern, pkg string) bool {
	if pattern == "..." {
		return true
	}
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
		{"...", "cmd/sessionbridge", true},
		{"net/http", "net/http", true},
		{"net/http", "net/http/httptest", false},
	} {
		if got := matches(tc.pattern, tc.pkg); got != tc.want {
			t.Errorf("matches(%q, %q) = %v, want %v", tc.pattern, tc.pkg, got, tc.want)
		}
	}
}

// pkgInfo is what go list says of one package of the module.
type pkgInfo struct {
	path        string   // module-relative
	imports     []string // own files' imports (module-relative or std)
	deps        []string // dependencies, direct or not, of the own files
	testImports []string // direct imports of the package's tests
}

// reached is what rule reach r looks at in package p.
func (p pkgInfo) reached(r reach) []string {
	switch r {
	case ownImports:
		return p.imports
	case linked:
		return p.deps
	default:
		return append(slices.Clip(p.deps), p.testImports...)
	}
}

// listFormat prints, per package and separated by "|": its path and own
// imports, its dependencies, and its tests' direct imports.
const listFormat = `{{.ImportPath}}{{range .Imports}} {{.}}{{end}} |{{range .Deps}} {{.}}{{end}} |{{range .TestImports}} {{.}}{{end}}{{range .XTestImports}} {{.}}{{end}}`

// listModule runs go list over the module.
func listModule(t *testing.T) []pkgInfo {
	goBin, err := exec.LookPath("go")
	if err != nil {
		testenv.SkipOrFail(t, "the go command is not on PATH (%v); the walls are checked in CI", err)
	}
	cmd := exec.Command(goBin, "list", "-f", listFormat, "./...")
	cmd.Dir = testenv.RepoRoot(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var list []pkgInfo
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), "|", 3)
		if len(parts) != 3 {
			t.Fatalf("go list printed an unexpected line: %q", sc.Text())
		}
		fields := strings.Fields(parts[0])
		if len(fields) == 0 {
			continue
		}
		pkg, ok := strings.CutPrefix(fields[0], module)
		if !ok {
			continue
		}
		list = append(list, pkgInfo{path: pkg, imports: relative(fields[1:]),
			deps: relative(strings.Fields(parts[1])), testImports: relative(strings.Fields(parts[2]))})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(list) == 0 {
		t.Fatal("go list printed no package of the module; the walls were not checked")
	}
	return list
}

// relative strips the module prefix from import paths.
func relative(paths []string) []string {
	for i, p := range paths {
		paths[i] = strings.TrimPrefix(p, module)
	}
	return paths
}

// applies reports whether rule r covers package pkg.
func (r rule) applies(pkg string) bool {
	return matches(r.from, pkg) && !slices.ContainsFunc(r.except, func(e string) bool { return matches(e, pkg) })
}

// TestWalls fails for each package that reaches what a rule forbids.
func TestWalls(t *testing.T) {
	for _, p := range listModule(t) {
		for _, r := range rules {
			if !r.applies(p.path) {
				continue
			}
			for _, dep := range p.reached(r.reach) {
				if matches(r.forbidden, dep) {
					t.Errorf("wall crossed: %s reaches %s (rule: %s must not reach %s, because %s)",
						p.path, dep, r.from, r.forbidden, r.why)
				}
			}
		}
	}
}
