// Command sessionbridge runs browser OAuth2/OpenID Connect logins, keeps
// provider tokens fresh and serves them over an Appwrite-compatible API.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sessionbridge/sessionbridge/bridge/config"
)

// Exit codes: 0 ok, 1 runtime failure, 2 bad usage or bad configuration.
const (
	exitOK      = 0
	exitRuntime = 1
	exitUsage   = 2
)

// usageError marks an error as bad usage or bad configuration (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

const topUsage = `sessionbridge: OAuth2/OpenID Connect logins as Appwrite sessions, with provider tokens kept fresh.

Usage:
  sessionbridge serve     [--config FILE] [--listen ADDR]   API, pages and refresher (no config: development mode)
  sessionbridge refresh   --config FILE                     the token refresher alone, as a daemon
  sessionbridge check     --config FILE [--online]          validate a configuration file
  sessionbridge providers [NAME]                            list the provider types
  sessionbridge sessions  list|revoke --config FILE ...     list or end sessions in the configured store
  sessionbridge keys      reseal --config FILE               re-encrypt provider tokens with the first token key
  sessionbridge health    [--url URL]                       probe a running server's /healthz (container health checks)
  sessionbridge version                                     print version, commit and Go version (also --version)

--config may also come from SESSIONBRIDGE_CONFIG. Run "sessionbridge COMMAND --help" for details.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(args[1:], stdout, stderr)
	case "refresh":
		err = cmdRefresh(args[1:], stdout, stderr)
	case "check":
		err = cmdCheck(args[1:], stdout, stderr)
	case "providers":
		err = cmdProviders(args[1:], stdout, stderr)
	case "sessions":
		err = cmdSessions(args[1:], os.Stdin, stdout, stderr)
	case "keys":
		err = cmdKeys(args[1:], stdout, stderr)
	case "health":
		err = cmdHealth(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		err = cmdVersion(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, topUsage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "sessionbridge: unknown command %q\n\n%s", args[0], topUsage)
		return exitUsage
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var problems config.Problems
	if errors.As(err, &problems) {
		fmt.Fprintln(stderr, problems.Error()) // FILE:LINE: key: message, one per line, unprefixed
		return exitUsage
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "sessionbridge:", ue.err)
		return exitUsage
	}
	if err != nil {
		fmt.Fprintln(stderr, "sessionbridge:", err)
		return exitRuntime
	}
	return exitOK
}

// newFlags makes a flag set that reports problems as usage errors.
func newFlags(name, usage string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		fs.SetOutput(stderr)
	}
	return fs
}

// parseFlags parses args; help is returned as flag.ErrHelp, other
// problems as usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 && fs.Name() != "providers" {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// configPath is --config, else SESSIONBRIDGE_CONFIG.
func configPath(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv("SESSIONBRIDGE_CONFIG")
}
