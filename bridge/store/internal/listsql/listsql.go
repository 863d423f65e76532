// Package listsql builds the SQL of Appwrite-style paged lists (filters,
// search, cursor, limit, offset, total) once for both SQL backends, which
// differ only in placeholders and in their substring function.
package listsql

import (
	"strconv"
	"strings"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// Dialect is what differs between backends.
type Dialect struct {
	// Placeholder renders the n-th (1-based) argument; a placeholder may
	// be repeated to reuse its argument.
	Placeholder func(n int) string
	// Contains renders "column contains the argument, ignoring case" (the
	// database's lower() on both sides, so both agree on what case is).
	Contains func(column, placeholder string) string
}

// SQLite numbers its placeholders ?N and finds substrings with instr.
var SQLite = Dialect{
	Placeholder: func(n int) string { return "?" + strconv.Itoa(n) },
	Contains:    func(col, ph string) string { return "instr(lower(" + col + "), lower(" + ph + ")) > 0" },
}

// Postgres numbers its placeholders $N and finds substrings with strpos.
var Postgres = Dialect{
	Placeholder: func(n int) string { return "$" + strconv.Itoa(n) },
	Contains:    func(col, ph string) string { return "strpos(lower(" + col + "), lower(" + ph + ")) > 0" },
}

// Spec describes one list: its table, the columns to return, where a
// search looks, and equality filters (column → accepted values; an empty
// list does not filter). Table and column names are constants of the
// caller, never input.
type Spec struct {
	Table    string
	Columns  string
	SearchIn []string
	Filters  []Filter
}

// Filter keeps rows whose Column equals one of Values.
type Filter struct {
	Column string
	Values []string
}

// Query is a statement and its arguments.
type Query struct {
	SQL  string
	Args []any
}

// Build returns the statement counting the matching rows, the one
// checking that the cursor exists (SQL "" when there is none) and the one
// returning the page.
func Build(d Dialect, s Spec, p store.Page) (count, cursor, page Query) {
	b := &builder{d: d}
	var conds []string
	for _, f := range s.Filters {
		if len(f.Values) == 0 {
			continue
		}
		phs := make([]string, len(f.Values))
		for i, v := range f.Values {
			phs[i] = b.arg(v)
		}
		conds = append(conds, f.Column+" IN ("+strings.Join(phs, ", ")+")")
	}
	if p.Search != "" {
		ph := b.arg(p.Search)
		alts := make([]string, len(s.SearchIn))
		for i, col := range s.SearchIn {
			alts[i] = d.Contains(col, ph)
		}
		conds = append(conds, "("+strings.Join(alts, " OR ")+")")
	}
	count = Query{SQL: "SELECT COUNT(*) FROM " + s.Table + where(conds), Args: append([]any(nil), b.args...)}
	if p.CursorAfter != "" {
		cursor = Query{SQL: "SELECT 1 FROM " + s.Table + " WHERE id = " + d.Placeholder(1), Args: []any{p.CursorAfter}}
		ph := b.arg(p.CursorAfter)
		conds = append(conds, "(created_at, id) > (SELECT created_at, id FROM "+s.Table+" WHERE id = "+ph+")")
	}
	limit, offset := b.arg(max(p.Limit, 0)), b.arg(max(p.Offset, 0))
	page = Query{
		SQL: "SELECT " + s.Columns + " FROM " + s.Table + where(conds) +
			" ORDER BY created_at, id LIMIT " + limit + " OFFSET " + offset,
		Args: b.args,
	}
	return count, cursor, page
}

type builder struct {
	d    Dialect
	args []any
}

func (b *builder) arg(v any) string {
	b.args = append(b.args, v)
	return b.d.Placeholder(len(b.args))
}

func where(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}
