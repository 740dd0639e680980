package pgstore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
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

// TokenFunc returns a password for a new connection to endpoint ("host:port") as
// user. RDSIAMToken makes one for RDS IAM authentication.
type TokenFunc func(ctx context.Context, endpoint, user string) (string, error)

// RDSIAMToken returns a TokenFunc that signs RDS IAM authentication tokens with
// github.com/aws/aws-sdk-go-v2/feature/rds/auth, for region and the credentials of
// an aws.Config (awsCfg.Credentials). Signing is local: no call to AWS is made.
func RDSIAMToken(region string, creds aws.CredentialsProvider) TokenFunc {
	return func(ctx context.Context, endpoint, user string) (string, error) {
		return auth.BuildAuthToken(ctx, endpoint, region, user, creds)
	}
}

// IAMTokenLifetime is how long an RDS IAM authentication token is valid.
const IAMTokenLifetime = 15 * time.Minute

// IAMAuth makes each new connection of the pool authenticate with a token from
// newToken (RDS IAM authentication), reusing a token until a minute before it
// expires. RDS requires TLS for IAM authentication: keep sslmode=require or
// stricter in the URL. Tokens are checked only when a connection is opened, so
// open connections outlive their token safely.
func IAMAuth(cfg *pgxpool.Config, newToken TokenFunc) {
	var (
		mu      sync.Mutex
		token   string
		expires time.Time
	)
	prev := cfg.BeforeConnect
	cfg.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		if prev != nil {
			if err := prev(ctx, cc); err != nil {
				return err
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if token == "" || time.Now().After(expires) {
			endpoint := fmt.Sprintf("%s:%d", cc.Host, cc.Port)
			t, err := newToken(ctx, endpoint, cc.User)
			if err != nil {
				return fmt.Errorf("pgstore: IAM token for %s: %w", endpoint, err)
			}
			token, expires = t, time.Now().Add(IAMTokenLifetime-time.Minute)
		}
		cc.Password = token
		return nil
	}
}
