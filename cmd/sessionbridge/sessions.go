package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessionbridge/sessionbridge/bridge/app"
	"github.com/sessionbridge/sessionbridge/bridge/lifecycle"
	"github.com/sessionbridge/sessionbridge/bridge/store"
)

const sessionsUsage = `Usage:
  sessionbridge sessions list   [--config FILE] [--user ID] [--provider KEY] [--format table|json]
  sessionbridge sessions revoke [--config FILE] [--yes] (ID | --user ID | --provider KEY)

list prints every session of the configured store (or those of one user or provider): provider,
user, created, expire, access-token expiry, next refresh, refresh state and consecutive failures.
No token is ever printed.

revoke ends one session, all of a user's, or all of a provider's, through the same path as an
API revoke (every instance sees it at once). It lists what it will end and asks for
confirmation unless --yes is given, then prints what it ended.

`

// adminPage is how many sessions the commands read per query.
const adminPage = 500

func cmdSessions(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, sessionsUsage)
		if len(args) == 0 {
			return usagef("sessions: list or revoke?")
		}
		return nil
	}
	switch args[0] {
	case "list":
		return sessionsList(args[1:], stdout, stderr)
	case "revoke":
		return sessionsRevoke(args[1:], stdin, stdout, stderr)
	}
	return usagef("sessions: unknown subcommand %q (list or revoke)", args[0])
}

// openAdmin loads the configuration and opens its store.
func openAdmin(path string) (*app.Admin, func(), error) {
	file := configPath(path)
	if file == "" {
		return nil, nil, usagef("--config FILE is required")
	}
	cfg, err := loadConfig(file)
	if err != nil {
		return nil, nil, err
	}
	a, err := app.OpenAdmin(context.Background(), cfg, newLogger(cfg, io.Discard))
	if err != nil {
		return nil, nil, err
	}
	return a, func() { _ = a.Close() }, nil
}

// scanAll reads every session matching f, page by page.
func scanAll(ctx context.Context, st store.Admin, f store.SessionFilter) ([]store.Session, error) {
	var out []store.Session
	after := ""
	for {
		page, err := st.ScanSessions(ctx, f, after, adminPage)
		if err != nil {
			return nil, err
		}
		if len(page) == 0 {
			return out, nil
		}
		out = append(out, page...)
		after = page[len(page)-1].ID
	}
}

// sessionView is a session as the operator sees it: no token, no secret.
type sessionView struct {
	ID                string `json:"id"`
	Provider          string `json:"provider"`
	UserID            string `json:"userId"`
	Created           string `json:"created"`
	Expire            string `json:"expire"`
	AccessTokenExpiry string `json:"accessTokenExpiry"`
	NextRefresh       string `json:"nextRefresh"`
	RefreshState      string `json:"refreshState"`
	Failures          int    `json:"failures"`
}

func viewOf(s store.Session, now time.Time) sessionView {
	return sessionView{
		ID: s.ID, Provider: s.Provider, UserID: s.UserID,
		Created: stamp(s.CreatedAt), Expire: stamp(s.Expire),
		AccessTokenExpiry: stamp(s.AccessTokenExpiry), NextRefresh: stamp(s.RefreshAt),
		RefreshState: refreshState(s, now), Failures: s.RefreshFailures,
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// refreshState is what the store says about the grant: the store keeps
// no log of refreshes, so this is the state the last one left behind
// (failing with its count of consecutive failures, in flight, expired).
func refreshState(s store.Session, now time.Time) string {
	switch {
	case !s.Expire.After(now):
		return "expired"
	case len(s.RefreshTokenSealed) == 0:
		return "no refresh token"
	case s.LeaseUntil.After(now):
		return "refreshing"
	case s.RefreshFailures > 0:
		return "failing"
	case !s.AccessTokenExpiry.IsZero() && !s.AccessTokenExpiry.After(now):
		return "token expired"
	case s.RefreshAt.IsZero():
		return "not scheduled"
	}
	return "ok"
}

func sessionsList(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sessions list", sessionsUsage, stdout, stderr)
	path := fs.String("config", "", "configuration file (default $SESSIONBRIDGE_CONFIG)")
	user := fs.String("user", "", "only this user's sessions")
	provider := fs.String("provider", "", "only this provider's sessions")
	format := fs.String("format", "table", "table | json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *format != "table" && *format != "json" {
		return usagef("sessions list: --format %q: want table or json", *format)
	}
	a, done, err := openAdmin(*path)
	if err != nil {
		return err
	}
	defer done()
	list, err := scanAll(context.Background(), a.Store, store.SessionFilter{UserID: *user, Provider: strings.ToLower(*provider)})
	if err != nil {
		return err
	}
	now := time.Now()
	views := make([]sessionView, len(list))
	for i, s := range list {
		views[i] = viewOf(s, now)
	}
	if *format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(views)
	}
	return writeTable(stdout, views)
}

func writeTable(w io.Writer, views []sessionView) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tPROVIDER\tUSER\tCREATED\tEXPIRE\tTOKEN EXPIRY\tNEXT REFRESH\tREFRESH\tFAILURES")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n", v.ID, v.Provider, v.UserID, v.Created, v.Expire,
			dash(v.AccessTokenExpiry), dash(v.NextRefresh), v.RefreshState, v.Failures)
	}
	fmt.Fprintf(tw, "%d session(s)\n", len(views))
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func sessionsRevoke(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("sessions revoke", sessionsUsage, stdout, stderr)
	path := fs.String("config", "", "configuration file (default $SESSIONBRIDGE_CONFIG)")
	user := fs.String("user", "", "end all of this user's sessions")
	provider := fs.String("provider", "", "end all of this provider's sessions")
	yes := fs.Bool("yes", false, "do not ask for confirmation")
	id, rest := splitID(args)
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	given := 0
	for _, v := range []string{id, *user, *provider} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return usagef("sessions revoke: give exactly one of ID, --user ID or --provider KEY")
	}
	a, done, err := openAdmin(*path)
	if err != nil {
		return err
	}
	defer done()
	ctx := context.Background()
	targets, err := revokeTargets(ctx, a, id, *user, strings.ToLower(*provider))
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		fmt.Fprintln(stdout, "no session matches; nothing ended")
		return nil
	}
	for _, s := range targets {
		fmt.Fprintf(stdout, "  %s  provider %s  user %s  created %s\n", s.ID, s.Provider, s.UserID, stamp(s.CreatedAt))
	}
	if !*yes && !confirm(stdin, stdout, fmt.Sprintf("End these %d session(s)? [y/N] ", len(targets))) {
		return errors.New("sessions revoke: not confirmed; nothing ended")
	}
	ended := 0
	for _, s := range targets {
		// The domain path of an API revoke: counted as lifecycle.Revoked,
		// deleted through the store (every instance sees it at once).
		if err := a.Service.DeleteSession(ctx, s.UserID, s.ID, lifecycle.Revoked); err != nil {
			fmt.Fprintf(stderr, "sessionbridge: session %s: %v\n", s.ID, err)
			continue
		}
		ended++
		fmt.Fprintf(stdout, "ended session %s (user %s, provider %s)\n", s.ID, s.UserID, s.Provider)
	}
	fmt.Fprintf(stdout, "%d session(s) ended\n", ended)
	return nil
}

// splitID takes a leading session ID off args (flags may follow it).
func splitID(args []string) (string, []string) {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		return args[0], args[1:]
	}
	return "", args
}

// revokeTargets are the live sessions a revoke names (expired ones no
// longer authenticate; the janitor removes them).
func revokeTargets(ctx context.Context, a *app.Admin, id, user, provider string) ([]store.Session, error) {
	var list []store.Session
	if id != "" {
		s, err := a.Store.GetSession(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		list = []store.Session{s}
	} else {
		var err error
		if list, err = scanAll(ctx, a.Store, store.SessionFilter{UserID: user, Provider: provider}); err != nil {
			return nil, err
		}
	}
	now := time.Now()
	live := list[:0]
	for _, s := range list {
		if s.Expire.After(now) {
			live = append(live, s)
		}
	}
	return live, nil
}

// confirm asks a yes/no question on stdin.
func confirm(stdin io.Reader, stdout io.Writer, question string) bool {
	fmt.Fprint(stdout, question)
	line, _ := bufio.NewReader(stdin).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}
