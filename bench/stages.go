package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// A login's stages as sessionbridge's /metrics time them: its two routes
// (the start hop and the callback, the callback including the token
// request) and the store calls they make. Each is reported as mean
// milliseconds per login over one login row, from the difference of the
// histograms' _sum before and after the row.
var loginStages = []struct{ label, metric string }{
	{"start hop (route)", `sessionbridge_http_request_duration_seconds_sum{method="GET",route="/v1/account/sessions/oauth2/{provider}"}`},
	{"start hop: store create_flow", `sessionbridge_store_operation_duration_seconds_sum{operation="create_flow"}`},
	{"callback (route)", `sessionbridge_http_request_duration_seconds_sum{method="GET",route="/v1/account/sessions/oauth2/callback/{provider}/{project}"}`},
	{"callback: store consume_flow", `sessionbridge_store_operation_duration_seconds_sum{operation="consume_flow"}`},
	{"callback: store create_login_session", `sessionbridge_store_operation_duration_seconds_sum{operation="create_login_session"}`},
}

// loginCountMetric counts the logins a row completed (callbacks answered).
const loginCountMetric = `sessionbridge_http_request_duration_seconds_count{method="GET",route="/v1/account/sessions/oauth2/callback/{provider}/{project}"}`

// stageTimes is one row's mean time per login of each of loginStages.
type stageTimes struct {
	store, row string
	ms         []float64
}

// scrape reads the sample values of sessionbridge's /metrics at ops.
func scrape(ops string) (map[string]float64, error) {
	resp, err := http.Get("http://" + ops + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: HTTP %d", resp.StatusCode)
	}
	return parseSamples(resp.Body)
}

// parseSamples reads Prometheus text format: "name{labels} value" lines.
func parseSamples(r io.Reader) (map[string]float64, error) {
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// stagesBetween is the mean time per login of each stage between two
// scrapes; ok is false when no login completed in between.
func stagesBetween(before, after map[string]float64) ([]float64, bool) {
	n := after[loginCountMetric] - before[loginCountMetric]
	if n <= 0 {
		return nil, false
	}
	ms := make([]float64, len(loginStages))
	for i, s := range loginStages {
		ms[i] = 1000 * (after[s.metric] - before[s.metric]) / n
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
	for i, s := range loginStages {
		line := "| " + s.label + " |"
		for _, r := range rows {
			line += fmt.Sprintf(" %.3f |", r.ms[i])
		}
		fmt.Fprintln(w, line)
	}
}
