// Package sdk holds the wire-compatibility tests that run Appwrite's
// official SDKs, unchanged, against a real sessionbridge process: the
// server SDK node-appwrite under Node.js, and the web SDK appwrite in
// headless Chromium.
//
// The SDK versions are pinned in package.json (exact versions) and
// package-lock.json; install them with `npm ci` in this directory. The
// tests skip when Node.js, the installed packages or Chromium are missing,
// and fail instead when the environment variable CI is "true", so a CI run
// cannot pass by skipping them.
//
// The package has no non-test code; this file only documents it.
package sdk
