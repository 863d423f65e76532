package main

import (
	"fmt"
	"io"

	"github.com/sessionbridge/sessionbridge/internal/version"
)

const versionUsage = `Usage: sessionbridge version

Prints the version, commit, commit time, modified flag and Go version recorded in the binary.

`

func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", versionUsage, stdout, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, version.Get())
	return nil
}
