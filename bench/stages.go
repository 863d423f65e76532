package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// series names one histogram of sessionbridge's /metrics by its family
// and one label.
type series struct{ family, label, value string }

const (
	routeHistogram = "sessionbridge_http_request_duration_seconds"
	storeHistogram = "sessionbridge_store_operation_duration_seconds"
	callbackRoute  = "/v1/account/sessions/oauth2/callback/{provider}/{project}"
)

// A login's stages as sessionbridge's /metrics time them: its two routes
// (the start hop and the callback, the callback including the token
// request) and the store calls they make. Each is reported as mean
// milliseconds per login over one login row, from the difference of the
// histograms' sums before and after the row.
var loginStages = []struct {
	label string
	s     series
}{
	{"start hop (route)", series{routeHistogram, "route", "/v1/account/sessions/oauth2/{provider}"}},
	{"start hop: store `create_flow`", series{storeHistogram, "operation", "create_flow"}},
	{"callback (route)", series{routeHistogram, "route", callbackRoute}},
	{"callback: store `consume_flow`", series{storeHistogram, "operation", "consume_flow"}},
	{"callback: store `create_login_session`", series{storeHistogram, "operation", "create_login_session"}},
}

// loginCount counts the logins a row completed (callbacks answered).
var loginCount = series{routeHistogram, "route", callbackRoute}

// histogram is one histogram's sum and count at a scrape.
type histogram struct{ sum, count float64 }

// stageTimes is one row's mean time per login of each of loginStages.
type stageTimes struct {
	store, row string
	ms         []float64
}

// scrape reads the histograms of sessionbridge's /metrics at ops.
func scrape(ops string) (map[series]histogram, error) {
	resp, err := http.Get("http://" + ops + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: HTTP %d", resp.StatusCode)
	}
	return histograms(resp.Body)
}

// histograms reads the Prometheus text format and returns, for each label
// of each histogram family, the sum of the samples that carry it (a route
// answered to GET and POST counts once for both).
func histograms(r io.Reader) (map[series]histogram, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, fmt.Errorf("/metrics: %w", err)
	}
	out := map[series]histogram{}
	for name, f := range families {
		if f.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				k := series{name, l.GetName(), l.GetValue()}
				h := out[k]
				h.sum += m.GetHistogram().GetSampleSum()
				h.count += float64(m.GetHistogram().GetSampleCount())
				out[k] = h
			}
		}
	}
	return out, nil
}

// stagesBetween is the mean time per login of each stage between two
// scrapes; ok is false when no login completed in between.
func stagesBetween(before, after map[series]histogram) ([]float64, bool) {
	n := after[loginCount].count - before[loginCount].count
	if n <= 0 {
		return nil, false
	}
	ms := make([]float64, len(loginStages))
	for i, st := range loginStages {
		ms[i] = 1000 * (after[st.s].sum - before[st.s].sum) / n
	}
	return ms, true
}

// printStages prints where a sessionbridge login's server time went, one
// column per login row.
func printStages(w io.Writer, rows []stageTimes) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\nsessionbridge's server time per login (mean ms; the callback includes the token request and the ID token's verification):")
	fmt.Fprintln(w)
	head, sep := "| stage |", "| --- |"
	for _, r := range rows {
		head += " " + r.store + ", " + strings.TrimPrefix(r.row, "browser login, ") + " |"
		sep += " --- |"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, sep)
	for i, st := range loginStages {
		line := "| " + st.label + " |"
		for _, r := range rows {
			line += fmt.Sprintf(" %.3f |", r.ms[i])
		}
		fmt.Fprintln(w, line)
	}
}
