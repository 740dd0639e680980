// Package integration is a module of its own (internal/integration/go.mod, with a
// replace directive to the library) for the wire tests that need test-only
// dependencies: goaws, an SQS emulator served in process (goawstest), and what it
// brings (logrus, gorilla/mux); chromedp, which drives headless Chromium through
// the operator console on the pizza shop. Keeping them here keeps them out of the library's
// go.mod, so a user's module graph never carries them. .ci/run tests this module
// too:
//
//	cd internal/integration && go test -race -count=1 ./...
package integration
