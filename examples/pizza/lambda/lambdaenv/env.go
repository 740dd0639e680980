// Package lambdaenv sets up what each pizza Lambda needs, once per container:
// the Postgres connection (RDS Proxy with IAM authentication, or a plain URL) and
// only the part of the shop that function runs (Creates, Cancels, Reads; Migrate for
// the migrations), so that each links no more than it uses.
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/apigateway"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/pgshop"
	"github.com/storagefirst/storagefirst-go/pgstore"
	"github.com/storagefirst/storagefirst-go/pgstore/rdsiam"
	"github.com/storagefirst/storagefirst-go/storagefirst"
)

// Environment variables read by Pool and the setups.
const (
	EnvDatabaseURL = "PIZZA_DATABASE_URL" // a full URL (local runs); else the next four
	EnvDBHost      = "PIZZA_DB_HOST"      // the RDS Proxy endpoint (the cluster's for migrate)
	EnvDBPort      = "PIZZA_DB_PORT"
	EnvDBUser      = "PIZZA_DB_USER"
	EnvDBName      = "PIZZA_DB_NAME"
	EnvSchema      = "PIZZA_SCHEMA"
	EnvPooled      = "PIZZA_DB_POOLED" // "false" for a direct connection
	// EnvDBSecretARN names the Secrets Manager secret whose password the migrate
	// function connects with (TLS, no IAM token): it connects to the cluster
	// directly as the master user (the proxy is IAM-only). Only MigrationPool
	// reads it; Pool always authenticates with IAM.
	EnvDBSecretARN = "PIZZA_DB_SECRET_ARN"
	// EnvDBWriter and EnvDBReader name the application roles the migrate function
	// creates (pgshop.Roles); unset, it creates none.
	EnvDBWriter = "PIZZA_DB_WRITER"
	EnvDBReader = "PIZZA_DB_READER"
)

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// schema is the shop's Postgres schema: EnvSchema, "pizza" when unset.
func schema() string { return getenv(EnvSchema, "pizza") }

// Migrate applies the migrations (pgshop.Migrate) to the database the
// environment describes and, when EnvDBWriter and EnvDBReader name them, creates
// the application roles: the migrate function's work, without a store.
func Migrate(ctx context.Context) error {
	pool, err := MigrationPool(ctx)
	if err != nil {
		return err
	}
	defer pool.Close()
	return pgshop.Migrate(ctx, pool, schema(),
		pgshop.Roles{Writer: os.Getenv(EnvDBWriter), Reader: os.Getenv(EnvDBReader)})
}

// Pool connects to the database the environment describes, with an IAM token
// per connection (pgstore/rdsiam) unless EnvDatabaseURL gives a whole URL;
// pooled reports a transaction pooler (RDS Proxy) in between.
func Pool(ctx context.Context) (pool *pgxpool.Pool, pooled bool, err error) {
	return connect(ctx, nil)
}

// MigrationPool is Pool for the migrate function: with EnvDBSecretARN set, it
// connects with the password of that Secrets Manager secret (the cluster's
// master user: the RDS Proxy is IAM-only) instead of an IAM token. The other
// functions use Pool, and so do not link the secret's reading.
func MigrationPool(ctx context.Context) (*pgxpool.Pool, error) {
	pool, _, err := connect(ctx, func(ctx context.Context, awsCfg aws.Config) (string, error) {
		arn := os.Getenv(EnvDBSecretARN)
		if arn == "" {
			return "", nil
		}
		return SecretPassword(ctx, http.DefaultClient, awsCfg.Region, awsCfg.Credentials, arn)
	})
	return pool, err
}

// connect is Pool; password, when not nil, may return a password to use
// instead of IAM authentication.
func connect(ctx context.Context, password func(context.Context, aws.Config) (string, error)) (pool *pgxpool.Pool, pooled bool, err error) {
	dsn := os.Getenv(EnvDatabaseURL)
	iam := dsn == ""
	if iam {
		host := os.Getenv(EnvDBHost)
		if host == "" {
			return nil, false, fmt.Errorf("set %s, or %s and the other PIZZA_DB_ variables", EnvDatabaseURL, EnvDBHost)
		}
		u := url.URL{Scheme: "postgres", User: url.User(getenv(EnvDBUser, "postgres")),
			Host: host + ":" + getenv(EnvDBPort, "5432"), Path: "/" + getenv(EnvDBName, "postgres"), RawQuery: "sslmode=require"}
		dsn = u.String()
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, false, err
	}
	cfg.MaxConns = 2 // one invocation at a time per container
	pooled = getenv(EnvPooled, "true") != "false"
	if pooled {
		pgstore.ConfigurePool(cfg)
	}
	if iam {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, false, err
		}
		pw := ""
		if password != nil {
			if pw, err = password(ctx, awsCfg); err != nil {
				return nil, false, err
			}
		}
		if pw != "" {
			cfg.ConnConfig.Password = pw
		} else {
			rdsiam.Auth(cfg, awsCfg.Region, awsCfg.Credentials)
		}
	}
	pool, err = pgxpool.NewWithConfig(ctx, cfg)
	return pool, pooled, err
}

// Reads serves GET /orders and GET /orders/{id} (shop.ReadHandler) from the
// database the environment describes, reading the orders table only.
func Reads(ctx context.Context) (http.Handler, error) {
	pool, _, err := Pool(ctx)
	if err != nil {
		return nil, err
	}
	return shop.ReadHandler(pgshop.NewTable(pool, schema()), logger()), nil
}

// Creates is the create-order consumer's handler chain (shop.CreateHandlerFor)
// on the backend the environment describes.
func Creates(ctx context.Context) (storagefirst.Handler, error) {
	pool, _, err := Pool(ctx)
	if err != nil {
		return nil, err
	}
	// The orders table and the idempotency records alone (no store, no queues):
	// the envelopes come from EventBridge.
	c, err := pgshop.NewCreator(pool, schema())
	if err != nil {
		pool.Close()
		return nil, err
	}
	h, err := shop.CreateHandlerFor(c, c.Idempotency())
	if err != nil {
		pool.Close()
		return nil, err
	}
	return h, nil
}

// Cancels is the cancel workflow's task (shop.CancelFunc) on the orders table of
// the database the environment describes.
func Cancels(ctx context.Context) (func(context.Context, shop.CancelInput) (shop.Order, error), error) {
	pool, _, err := Pool(ctx)
	if err != nil {
		return nil, err
	}
	return shop.CancelFunc(pgshop.NewTable(pool, schema())), nil
}

func logger() *slog.Logger { return slog.New(slog.NewJSONHandler(os.Stderr, nil)) }

// ProxyHandler serves h behind an API Gateway REST proxy integration: the
// module's apigateway.V1 (base64 bodies, multi-value headers and query, cookies).
func ProxyHandler(h http.Handler) func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return apigateway.V1(h)
}
