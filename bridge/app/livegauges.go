package app

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionbridge/sessionbridge/bridge/store"
)

// liveCacheTTL is how long one count of live sessions serves scrapes: a
// scrape every few seconds must not become a grouped count every few
// seconds on a large table. liveQueryBound bounds the query itself.
const (
	liveCacheTTL   = 30 * time.Second
	liveQueryBound = 5 * time.Second
)

var (
	liveSessionsDesc = prometheus.NewDesc("sessionbridge_sessions_live",
		"Sessions not yet expired, by provider (counted at most every 30 s).", []string{"provider"}, nil)
	liveGrantsDesc = prometheus.NewDesc("sessionbridge_grants_live",
		"Live sessions holding a refresh token the refresher keeps fresh, by provider (counted at most every 30 s).", []string{"provider"}, nil)
)

// liveGauges reports live sessions and grants per provider, computed at
// scrape time with one cached grouped count. Providers come from the
// configuration, so the label set is bounded even if old rows name a
// provider since removed (those are reported under their key as well,
// which the configuration once allowed).
type liveGauges struct {
	st  store.Admin
	now func() time.Time

	mu     sync.Mutex
	at     time.Time
	counts []store.ProviderCount
}

func (g *liveGauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- liveSessionsDesc
	ch <- liveGrantsDesc
}

func (g *liveGauges) Collect(ch chan<- prometheus.Metric) {
	for _, c := range g.current() {
		ch <- prometheus.MustNewConstMetric(liveSessionsDesc, prometheus.GaugeValue, float64(c.Sessions), c.Provider)
		ch <- prometheus.MustNewConstMetric(liveGrantsDesc, prometheus.GaugeValue, float64(c.Grants), c.Provider)
	}
}

// current returns the cached counts, recounting when they are older than
// liveCacheTTL; a failed count keeps the previous one.
func (g *liveGauges) current() []store.ProviderCount {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if !g.at.IsZero() && now.Sub(g.at) < liveCacheTTL {
		return g.counts
	}
	ctx, cancel := context.WithTimeout(context.Background(), liveQueryBound)
	defer cancel()
	if counts, err := g.st.CountLive(ctx, now); err == nil {
		g.counts, g.at = counts, now
	}
	return g.counts
}
