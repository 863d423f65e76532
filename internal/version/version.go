// Package version reports what binary is running: the version, commit,
// commit time and Go version recorded by the Go toolchain (go build in a
// checkout records vcs.*; go install …@version records the module
// version), optionally overridden by a release build's -ldflags:
//
//	go build -ldflags "-X github.com/sessionbridge/sessionbridge/internal/version.version=v1.2.0 \
//	  -X github.com/sessionbridge/sessionbridge/internal/version.date=2026-12-03T12:00:00Z" ./cmd/sessionbridge
package version

import (
	"fmt"
	"runtime/debug"
)

// Stamped by -ldflags -X at release time; empty otherwise. They are the
// only way a build can set them, so they are never written at run time.
var (
	version string
	date    string
)

// Info describes the running binary.
type Info struct {
	Version   string // release version, module version, or "devel"
	Revision  string // VCS commit, "" when unknown
	Time      string // commit time (or the -ldflags build date), RFC 3339; "" when unknown
	Modified  bool   // the checkout had uncommitted changes
	GoVersion string
}

// Get reads the binary's build information.
func Get() Info {
	return fromBuild(debug.ReadBuildInfo())
}

func fromBuild(bi *debug.BuildInfo, ok bool) Info {
	i := Info{Version: "devel"}
	if ok {
		i.GoVersion = bi.GoVersion
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			i.Version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				i.Revision = s.Value
			case "vcs.time":
				i.Time = s.Value
			case "vcs.modified":
				i.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		i.Version = version
	}
	if date != "" {
		i.Time = date
	}
	return i
}

// ShortRevision is the first 12 characters of the commit.
func (i Info) ShortRevision() string {
	if len(i.Revision) > 12 {
		return i.Revision[:12]
	}
	return i.Revision
}

// String is the one-line form `sessionbridge version` prints.
func (i Info) String() string {
	s := "sessionbridge " + i.Version
	if i.Revision != "" {
		s += " commit " + i.ShortRevision()
		if i.Modified {
			s += "+modified"
		}
	}
	if i.Time != "" {
		s += " built from " + i.Time
	}
	return s + fmt.Sprintf(" (%s)", i.GoVersion)
}

// LogAttrs are the key/value pairs of the startup log line.
func (i Info) LogAttrs() []any {
	return []any{"version", i.Version, "commit", i.Revision, "commit_time", i.Time, "modified", i.Modified, "go", i.GoVersion}
}
