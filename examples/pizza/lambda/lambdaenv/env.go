// Package lambdaenv sets up what every pizza Lambda needs, once per container:
// the Postgres backend (RDS Proxy with IAM authentication, or a plain URL) and the
// shop wired on it.
package lambdaenv

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"

	"github.com/aws/aws-lambda-go/events"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/apigateway"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/examples/pizza/shop/pgshop"
	"github.com/storagefirst/storagefirst-go/pgstore"
)

// Environment variables read by Open.
const (
	EnvDatabaseURL = "PIZZA_DATABASE_URL" // a full URL (local runs); else the next four
	EnvDBHost      = "PIZZA_DB_HOST"      // the RDS Proxy endpoint
	EnvDBPort      = "PIZZA_DB_PORT"
	EnvDBUser      = "PIZZA_DB_USER"
	EnvDBName      = "PIZZA_DB_NAME"
	EnvSchema      = "PIZZA_SCHEMA"
	EnvPooled      = "PIZZA_DB_POOLED" // "false" for a direct connection
)

func getenv(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// Open opens the backend described by the environment. migrate applies the
// migrations (the migrate function only).
func Open(ctx context.Context, migrate bool) (*pgshop.Postgres, error) {
	dsn := os.Getenv(EnvDatabaseURL)
	iam := dsn == ""
	if iam {
		host := os.Getenv(EnvDBHost)
		if host == "" {
			return nil, fmt.Errorf("set %s, or %s and the other PIZZA_DB_ variables", EnvDatabaseURL, EnvDBHost)
		}
		u := url.URL{Scheme: "postgres", User: url.User(getenv(EnvDBUser, "postgres")),
			Host: host + ":" + getenv(EnvDBPort, "5432"), Path: "/" + getenv(EnvDBName, "postgres"), RawQuery: "sslmode=require"}
		dsn = u.String()
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 2 // one invocation at a time per container
	pooled := getenv(EnvPooled, "true") != "false"
	if pooled {
		pgstore.ConfigurePool(cfg)
	}
	if iam {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, err
		}
		pgstore.IAMAuth(cfg, pgstore.RDSIAMToken(awsCfg.Region, awsCfg.Credentials))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	b, err := pgshop.OpenPostgresPool(ctx, pool, pgshop.PostgresOptions{Schema: getenv(EnvSchema, "pizza"), Pooled: pooled, Migrate: migrate})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return b, nil
}

// Shop opens the backend and wires the shop on it.
func Shop(ctx context.Context) (*shop.Shop, error) {
	b, err := Open(ctx, false)
	if err != nil {
		return nil, err
	}
	return shop.New(shop.Config{Backend: b, Logger: slog.New(slog.NewJSONHandler(os.Stderr, nil))})
}

// ProxyHandler serves h behind an API Gateway REST proxy integration: the
// module's apigateway.V1 (base64 bodies, multi-value headers and query, cookies).
func ProxyHandler(h http.Handler) func(ctx context.Context, e events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
	return apigateway.V1(h)
}
