package main

import (
	"runtime/debug"
	"strings"
)

// buildVersion is set by builds that have no .git to read, e.g.
// go build -ldflags "-X main.buildVersion=v1.2.0" (the Dockerfile's VERSION).
var buildVersion string

// version says which livepush this is: the version given at build time or
// the module's, then the commit it was built from, when known.
func version() string {
	bi, _ := debug.ReadBuildInfo()
	return versionString(bi, buildVersion)
}

// versionString is e.g. "v1.2.0 (3d62ef6abcde+dirty, 2026-12-01T09:10:39Z) go1.24.1", or
// "v0.0.0-20261201091039-3d62ef6abcde+dirty go1.24.1" as Go stamps a checkout.
func versionString(bi *debug.BuildInfo, override string) string {
	v := strings.TrimSpace(override)
	if bi == nil {
		if v == "" {
			v = "devel"
		}
		return v
	}
	if v == "" {
		v = bi.Main.Version
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, at string
	dirty := false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			at = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	// Go's own stamp (a pseudo-version) or git describe names the commit already.
	if rev != "" && !strings.Contains(v, rev[:min(7, len(rev))]) {
		if dirty {
			rev += "+dirty"
		}
		if at != "" {
			rev += ", " + at
		}
		v += " (" + rev + ")"
	}
	if bi.GoVersion != "" {
		v += " " + bi.GoVersion
	}
	return v
}
