package app

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sessionbridge/sessionbridge/internal/version"
)

// buildInfo is the constant 1 gauge sessionbridge_build_info whose labels
// say which binary is running (the Prometheus "info metric" idiom).
func buildInfo(v version.Info) prometheus.Collector {
	modified := "false"
	if v.Modified {
		modified = "true"
	}
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "sessionbridge_build_info",
		Help: "Always 1; the labels describe the running binary.",
		ConstLabels: prometheus.Labels{
			"version": v.Version, "revision": v.Revision, "vcs_time": v.Time,
			"modified": modified, "goversion": v.GoVersion,
		},
	}, func() float64 { return 1 })
}
