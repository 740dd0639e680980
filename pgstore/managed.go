package pgstore

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ConfigurePool prepares a pool config for a transaction pooler such as RDS Proxy or
// PgBouncer in transaction mode, where no session state survives a transaction:
// queries run with pgx.QueryExecModeExec (no prepared statements to pin a
// connection). Pair it with Config.Pooled, which turns LISTEN/NOTIFY off.
//
// Use it when the database is reached through such a pooler (Lambda functions behind
// RDS Proxy, the pizza example on AWS); a service with its own long-lived pool
// talking straight to Postgres needs neither.
func ConfigurePool(cfg *pgxpool.Config) {
	cfg.ConnConfig.DefaultQueryExecMode = pgx.QueryExecModeExec
	cfg.ConnConfig.StatementCacheCapacity = 0
	cfg.ConnConfig.DescriptionCacheCapacity = 0
}

// PasswordFunc returns the password of a new connection to endpoint
// ("host:port") as user, e.g. a short-lived token (pgstore/rdsiam makes RDS IAM
// authentication tokens).
type PasswordFunc func(ctx context.Context, endpoint, user string) (string, error)

// PasswordAuth makes each new connection of the pool take its password from
// password (in pgx's BeforeConnect, after one already set), reusing a password
// for the same endpoint and user for reuseFor (zero: ask for every new
// connection). Passwords are checked only when a connection is opened, so open
// connections outlive a short-lived one safely. For RDS IAM authentication use
// rdsiam.Auth, which calls this.
func PasswordAuth(cfg *pgxpool.Config, password PasswordFunc, reuseFor time.Duration) {
	type cached struct {
		password string
		expires  time.Time
	}
	var (
		mu    sync.Mutex
		cache = map[[2]string]cached{} // by endpoint and user: a token is good for one pair
	)
	prev := cfg.BeforeConnect
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		if prev != nil {
			if err := prev(ctx, cc); err != nil {
				return err
			}
		}
		endpoint := net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))
		if reuseFor <= 0 { // nothing to share: no lock, so connections ask at once
			p, err := password(ctx, endpoint, cc.User)
			if err != nil {
				return fmt.Errorf("pgstore: password for %s: %w", endpoint, err)
			}
			cc.Password = p
			return nil
		}
		key := [2]string{endpoint, cc.User}
		// Held while asking, so that connections opening at once ask once.
		mu.Lock()
		defer mu.Unlock()
		c, ok := cache[key]
		if !ok || !time.Now().Before(c.expires) {
			p, err := password(ctx, endpoint, cc.User)
			if err != nil {
				return fmt.Errorf("pgstore: password for %s: %w", endpoint, err)
			}
			c = cached{password: p, expires: time.Now().Add(reuseFor)}
			for k, old := range cache { // drop what has expired: the map stays as small as the pairs in use
				if !time.Now().Before(old.expires) {
					delete(cache, k)
				}
			}
			cache[key] = c
		}
		cc.Password = c.password
		return nil
	}
}
