// Package operator wires what only the long-running shop serves to its operators
// into a shop.Config: the admin guard and the console (package console) and the
// OpenTelemetry instrumentation (package sfotel). It is apart from package shop so
// that the Lambda functions, which link shop, link neither.
package operator

import (
	"net/http"

	"github.com/storagefirst/storagefirst-go/console"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/storagefirst"
	"github.com/storagefirst/storagefirst-go/storagefirst/sfotel"
)

// Configure returns cfg (whose Backend must be set) with /admin/ and /console/
// guarded by auth (with no credentials in auth, both refuse every request), the
// console under /console/ when auth has credentials, and, when tel is non-nil,
// tel as the shop's telemetry with the two queues' gauges registered.
func Configure(cfg shop.Config, auth console.Auth, tel *sfotel.Instrumentation) (shop.Config, error) {
	cfg.Admin = func(h http.Handler) http.Handler { return console.RequireAuth(auth, cfg.Logger, h) }
	cfg.Console = nil
	if auth.BearerToken != "" || len(auth.Users) > 0 {
		c, err := console.New(console.Config{Auth: auth, Path: "/console", Title: "Pizza shop console",
			Logger: cfg.Logger, Workflows: cfg.Backend.Workflows(), Queues: []console.Queue{
				{Name: "create-order", Stats: cfg.Backend.OrdersQueue(), Dead: cfg.Backend.OrdersQueue()},
				{Name: "cancel-order", Stats: cfg.Backend.CancelQueue(), Dead: cfg.Backend.CancelQueue()}}})
		if err != nil {
			return cfg, err
		}
		cfg.Console = c
	}
	if tel != nil {
		cfg.Telemetry = tel
		if _, err := tel.ObserveQueues(map[string]storagefirst.StatsReporter{
			"create-order": cfg.Backend.OrdersQueue(), "cancel-order": cfg.Backend.CancelQueue()}); err != nil {
			return cfg, err
		}
		if bs, ok := cfg.Backend.(batchStatser); ok {
			if _, err := tel.ObserveBatches(bs.BatchStoreName(), bs.PutBatchStats); err != nil {
				return cfg, err
			}
		}
	}
	return cfg, nil
}

// batchStatser is a Backend whose store group-commits its puts (pgshop): with
// telemetry its counters are measured (sfotel.ObserveBatches).
type batchStatser interface {
	BatchStoreName() string
	PutBatchStats() (envelopes, batches int64)
}
