package config

import (
	"sort"
	"strconv"
	"strings"
)

// Problem is one thing wrong with a configuration, located by file, line
// and full key path (e.g. providers.corp.issuer or api_keys[0].secret).
// Messages never contain secret values.
type Problem struct {
	File    string
	Line    int
	Key     string
	Message string
}

// String formats the problem as "FILE:LINE: key: message", the format of
// `sessionbridge check`. Parts that are unknown (a programmatically built
// configuration has no file or lines; a YAML syntax error has no key) are
// left out rather than printed as empty or zero.
func (p Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(":")
		if p.Line > 0 {
			b.WriteString(strconv.Itoa(p.Line))
			b.WriteString(":")
		}
		b.WriteString(" ")
	} else if p.Line > 0 {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(p.Line))
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found in one configuration. It is the error
// returned by Load, Parse and Validate, so callers can print all of them
// at once (errors.As(err, &problems)).
type Problems []Problem

// Error lists the problems one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// collector gathers problems and the key → line index that places them.
type collector struct {
	file  string
	lines map[string]int  // key path → line of the key (or list item)
	null  map[string]bool // key paths written with an empty (null) value
	bad   map[string]bool // key paths whose value could not be decoded
	list  Problems
}

func newCollector(file string) *collector {
	return &collector{file: file, lines: make(map[string]int), null: make(map[string]bool), bad: make(map[string]bool)}
}

// add records a validation problem at the line of key, or of its nearest
// ancestor present in the file when key itself is absent (a missing
// required key). It is dropped when key or an ancestor already has a
// decoding problem.
func (c *collector) add(key, msg string) {
	for k := key; ; k = parentKey(k) {
		if c.bad[k] {
			return
		}
		if k == "" {
			break
		}
	}
	c.list = append(c.list, Problem{File: c.file, Line: c.lineOf(key), Key: key, Message: msg})
}

// addAt records a problem at an explicit line.
func (c *collector) addAt(line int, key, msg string) {
	c.list = append(c.list, Problem{File: c.file, Line: line, Key: key, Message: msg})
}

func (c *collector) has(key string) bool {
	_, ok := c.lines[key]
	return ok
}

func (c *collector) lineOf(key string) int {
	for key != "" {
		if line, ok := c.lines[key]; ok {
			return line
		}
		key = parentKey(key)
	}
	if line, ok := c.lines[""]; ok {
		return line
	}
	return 0
}

// err returns the problems sorted by line (stable, so problems on one line
// keep the order they were found in), or nil when there are none.
func (c *collector) err() error {
	if len(c.list) == 0 {
		return nil
	}
	sort.SliceStable(c.list, func(i, j int) bool { return c.list[i].Line < c.list[j].Line })
	return c.list
}

// parentKey strips the last ".name" or "[i]" from a key path.
func parentKey(key string) string {
	if strings.HasSuffix(key, "]") {
		if i := strings.LastIndexByte(key, '['); i >= 0 {
			return key[:i]
		}
	}
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

// join appends a mapping key to a key path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index appends a list index to a key path.
func index(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
