// Command floor is the size floor of a pizza Lambda bootstrap: only what every
// function needs at least (aws-lambda-go, the AWS config, RDS IAM authentication
// and pgx), doing what they do at start (connect with an IAM token). The build
// tool builds it beside the functions and reports each one's size against it.
package main

import (
	"context"
	"log"

	"github.com/aws/aws-lambda-go/lambda"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	ctx := context.Background()
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		log.Fatal(err)
	}
	pc, err := pgxpool.ParseConfig("postgres://proxy:5432/pizza")
	if err != nil {
		log.Fatal(err)
	}
	pc.BeforeConnect = func(ctx context.Context, cc *pgx.ConnConfig) error {
		tok, err := auth.BuildAuthToken(ctx, "proxy:5432", cfg.Region, "pizza_writer", cfg.Credentials)
		cc.Password = tok
		return err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		log.Fatal(err)
	}
	lambda.Start(func(ctx context.Context, in map[string]any) (int, error) {
		var n int
		err := pool.QueryRow(ctx, "SELECT 1").Scan(&n)
		return n, err
	})
}
