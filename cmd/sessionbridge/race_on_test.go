//go:build race

package main

// raceBuild is true when the tests run with -race, so the binary under
// test is built with the race detector too.
const raceBuild = true
