package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildReadsVCSSettings(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"},
		{Key: "vcs.time", Value: "2026-12-01T10:00:00Z"},
		{Key: "vcs.modified", Value: "true"},
	}}
	i := fromBuild(bi, true)
	if i.Version != "devel" || i.Revision != "0123456789abcdef0123" || i.Time != "2026-12-01T10:00:00Z" || !i.Modified || i.GoVersion != "go1.26.8" {
		t.Fatalf("got %+v", i)
	}
	if s := i.String(); !strings.Contains(s, "commit 0123456789ab+modified") || !strings.Contains(s, "go1.26.8") {
		t.Errorf("String() = %q", s)
	}
}

func TestFromBuildModuleVersion(t *testing.T) {
	// go install …@v1.4.0 records the module version and no vcs.* keys.
	i := fromBuild(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}}, true)
	if i.Version != "v1.4.0" || i.Revision != "" || i.Modified {
		t.Fatalf("got %+v", i)
	}
}

func TestLdflagsOverride(t *testing.T) {
	version, date = "v9.9.9", "2026-12-03T00:00:00Z"
	defer func() { version, date = "", "" }()
	i := fromBuild(&debug.BuildInfo{Main: debug.Module{Version: "v1.0.0"}, Settings: []debug.BuildSetting{{Key: "vcs.time", Value: "2020-01-01T00:00:00Z"}}}, true)
	if i.Version != "v9.9.9" || i.Time != "2026-12-03T00:00:00Z" {
		t.Fatalf("got %+v", i)
	}
}
