// Package testenv holds the test-support code several test packages need
// alike: the CI rule for missing tools, the module root, a shared RSA key,
// random secrets, loopback ports and a goroutine-safe output buffer. The
// sessionbridge subprocess helpers are in process.go; PostgreSQL and
// Chromium, which pull in large modules, live in the subpackages testpg and
// testbrowser so that a test importing only this package does not link them.
//
// It is imported by _test.go files only; nothing in the product uses it.
package testenv

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true), where a missing tool
// or service is a broken setup rather than a reason to skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// SkipOrFail skips the test because something it needs is missing, except
// in CI, where it fails it: a CI run must not pass by skipping.
func SkipOrFail(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI=true: this test must run)", msg)
	}
	t.Skip(msg)
}

// FindRepoRoot returns the module root: the first directory at or above the
// working directory (the test's package directory) that holds go.mod.
func FindRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// RepoRoot is FindRepoRoot that fails the test when there is no module root.
func RepoRoot(t testing.TB) string {
	t.Helper()
	root, err := FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// signingKey is generated once per test binary: a 2048-bit RSA key takes long
// enough that one per issuer would dominate the run time.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("testenv: generate RSA key: %v", err))
	}
	return k
})

// SigningKey returns the RSA key shared by every test issuer (devissuer) of
// this test binary.
func SigningKey() *rsa.PrivateKey { return signingKey() }

// RandomHex returns n random bytes, hex-encoded (crypto/rand does not fail).
func RandomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RandomBase64 returns n random bytes in standard base64, the form of the
// bridge's session and token keys when n is 32.
func RandomBase64(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// FreeAddr returns a loopback host:port that was free a moment ago. The
// process meant to listen on it starts right after, so the window for a
// clash is small; callers that must be sure retry on "address already in
// use".
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Buffer is an io.Writer that one goroutine (a subprocess's output copier, a
// logger) may write while the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Tail returns the last n lines of s, saying how many were left out, so that
// a long process log printed on failure stays readable.
func Tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d earlier lines)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
