package main

import (
	"fmt"
	"io"
	"runtime"
)

// printTable prints the results as a Markdown table.
func printTable(w io.Writer, rs []result) {
	fmt.Fprintf(w, "\n%d CPUs (%s/%s); both peers measured in the same run\n\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintln(w, "| store | row | oauth2-proxy "+oauth2ProxyVersion+" | sessionbridge | ratio |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- |")
	for _, r := range rs {
		if r.noRatio {
			fmt.Fprintf(w, "| %s | %s | n/a | %s | |\n", r.store, r.row, r.note)
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %.0f %s | %.0f %s | %.2f× |\n", r.store, r.row, r.peer, r.unit, r.ours, r.unit, r.ours/r.peer)
	}
}
