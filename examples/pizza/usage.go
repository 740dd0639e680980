package main

import (
	"flag"
	"fmt"
)

// usage is the -h text: what the program is, by a fixed name (go run builds it
// under a temporary path), then its flags.
func usage() {
	w := flag.CommandLine.Output()
	fmt.Fprint(w, `pizza: the storage-first reference pizza shop in one process (HTTP API, create-order consumer, cancel workflow).

Usage: pizza [flags]        (from a checkout: go run ./examples/pizza [flags])

Every flag may also come from the environment variable named in its text.
Flags:
`)
	flag.PrintDefaults()
}
