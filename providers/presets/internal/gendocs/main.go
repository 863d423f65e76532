// Command gendocs writes docs/providers.md from the preset data; it runs
// through `go generate ./providers/presets`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sessionbridge/sessionbridge/providers/presets"
)

func main() {
	out := flag.String("o", "docs/providers.md", "output file")
	flag.Parse()
	if err := os.WriteFile(*out, presets.Markdown(), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
