package main

import (
	"fmt"
	"io"

	"github.com/sessionbridge/sessionbridge/providers/presets"
)

const providersUsage = `Usage: sessionbridge providers [NAME]

Without NAME, lists every provider preset (plus the generic types oidc and oauth2) with its
default scopes, required settings and whether it supports PKCE and refresh.
With NAME, prints a ready-to-paste YAML block for that provider.

`

func cmdProviders(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("providers", providersUsage, stdout, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usagef("providers: at most one NAME")
	}
	if name := fs.Arg(0); name != "" {
		block := presets.Describe(name)
		if block == "" {
			return usagef("providers: %s", presets.UnknownMessage(name))
		}
		fmt.Fprint(stdout, block)
		return nil
	}
	return presets.WriteTable(stdout)
}
