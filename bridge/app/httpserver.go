package app

import (
	"log/slog"
	"net/http"
	"time"
)

// Connection bounds of every listener (NewHTTPServer). Without them a
// client that sends a body a byte every few seconds holds a connection
// (and a goroutine) for as long as it likes.
const (
	// ServerReadHeaderTimeout bounds reading a request's headers.
	ServerReadHeaderTimeout = 10 * time.Second
	// ServerReadTimeout bounds reading a whole request, body included.
	ServerReadTimeout = 30 * time.Second
	// ServerWriteTimeout bounds handling a request and writing its answer.
	// Requests that legitimately wait longer (the API routes, which may
	// wait on a provider for a token exchange or refresh) extend their own
	// deadline with http.ResponseController (httpapi Options.ProviderWait).
	ServerWriteTimeout = 30 * time.Second
	// ServerIdleTimeout closes keep-alive connections left idle.
	ServerIdleTimeout = 2 * time.Minute
	// ServerMaxHeaderBytes bounds a request's headers (Go's default is 1 MiB).
	ServerMaxHeaderBytes = 64 << 10
)

// NewHTTPServer is the one constructor of every listener sessionbridge
// opens (serve's API, the refresh daemon's ops listener), so each gets
// the same read, write and idle bounds.
func NewHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ServerReadHeaderTimeout,
		ReadTimeout:       ServerReadTimeout,
		WriteTimeout:      ServerWriteTimeout,
		IdleTimeout:       ServerIdleTimeout,
		MaxHeaderBytes:    ServerMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}
