package httpapi

import (
	"fmt"
	"net/http"
	"sort"

	"golang.org/x/text/language"

	"github.com/sessionbridge/sessionbridge/templates"
)

// pageText chooses the language of a page among the shipped translations
// (templates/locales) from the browser's Accept-Language.
type pageText struct {
	tags     []language.Tag
	catalogs []map[string]string // in the order of tags; the default first
	matcher  language.Matcher
}

func newPageText() (*pageText, error) {
	all, err := templates.Catalogs()
	if err != nil {
		return nil, fmt.Errorf("page strings: %w", err)
	}
	names := make([]string, 0, len(all))
	for name := range all {
		if name != templates.DefaultLanguage {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	names = append([]string{templates.DefaultLanguage}, names...)
	pt := &pageText{}
	for _, name := range names {
		tag, err := language.Parse(name)
		if err != nil {
			return nil, fmt.Errorf("page strings: locales/%s.json: %w", name, err)
		}
		pt.tags = append(pt.tags, tag)
		pt.catalogs = append(pt.catalogs, all[name])
	}
	pt.matcher = language.NewMatcher(pt.tags)
	return pt, nil
}

// forRequest returns the language tag and strings for r; the default
// language when the browser prefers none of the shipped ones.
func (pt *pageText) forRequest(r *http.Request) (string, map[string]string) {
	wanted, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(wanted) == 0 {
		return pt.tags[0].String(), pt.catalogs[0]
	}
	_, i, conf := pt.matcher.Match(wanted...)
	if conf == language.No {
		i = 0
	}
	return pt.tags[i].String(), pt.catalogs[i]
}
