package bridge_test

import (
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// forbiddenImports are the domain's walls: it speaks no HTTP (the HTTP
// layer maps its error kinds to statuses), reaches the refresher only
// through its Refresher port, and the store only through bridge/store.
var forbiddenImports = map[string]string{
	"net/http": "status codes belong to bridge/httpapi (ErrorKind → status)",
	"github.com/sessionbridge/sessionbridge/bridge/refresh":        "the domain defines the Refresher port and its errors; bridge/app adapts the refresher",
	"github.com/sessionbridge/sessionbridge/bridge/httpapi":        "the HTTP layer uses the domain, not the other way round",
	"github.com/sessionbridge/sessionbridge/bridge/app":            "the composition root wires the domain",
	"github.com/sessionbridge/sessionbridge/bridge/store/sqlite":   "persistence goes through the bridge/store interfaces",
	"github.com/sessionbridge/sessionbridge/bridge/store/postgres": "persistence goes through the bridge/store interfaces",
	"github.com/sessionbridge/sessionbridge/templates":             "only the HTTP layer renders pages",
}

// TestDomainWalls fails when a production file of package bridge imports
// what the domain must not. (Packages it uses, such as providers, may
// themselves use net/http: the wall is about the domain's own code.)
func TestDomainWalls(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, entry := range entries {
		name := entry.Name()
		if entry.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if why, ok := forbiddenImports[path]; ok {
				t.Errorf("%s imports %s: %s", name, path, why)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no production files found: the test runs in the wrong directory")
	}
}
