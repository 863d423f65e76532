package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// profileDuring saves a CPU and an allocation profile of the sessionbridge
// whose ops listener is at ops, each covering d from now, into dir under
// names starting with name. wait blocks until both are written (errors are
// logged: a profile is a diagnostic, never a reason to fail a run).
func profileDuring(dir, ops, name string, d time.Duration) (wait func()) {
	seconds := strconv.Itoa(max(1, int(d.Seconds())))
	var wg sync.WaitGroup
	for _, p := range []struct{ path, file string }{
		{"/debug/pprof/profile?seconds=" + seconds, name + ".cpu.pprof"},
		{"/debug/pprof/allocs?seconds=" + seconds, name + ".allocs.pprof"},
	} {
		wg.Go(func() {
			if err := fetchProfile("http://"+ops+p.path, filepath.Join(dir, p.file)); err != nil {
				log.Printf("profile %s: %v", p.file, err)
			}
		})
	}
	return func() {
		wg.Wait()
		// The metrics after the row: the store calls' and routes' timings
		// (cumulative since start; compare two rows' files for one row).
		if err := fetchProfile("http://"+ops+"/metrics", filepath.Join(dir, name+".metrics.txt")); err != nil {
			log.Printf("metrics %s: %v", name, err)
		}
	}
}

func fetchProfile(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// profileName is a file-name-safe form of a row name.
func profileName(store, row string) string {
	return store + "-" + strings.NewReplacer(" ", "-", ",", "").Replace(row)
}
