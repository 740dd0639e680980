package main

import "github.com/storagefirst/storagefirst-go/storagefirst"

// errPermanentDemo marks the demo's injected create failures permanent, so they go
// to the dead letters at once.
var errPermanentDemo = storagefirst.Permanentf("injected")
