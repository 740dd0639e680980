package rdsiam

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/storagefirst/storagefirst-go/pgstore"
)

// TokenLifetime is how long an RDS IAM authentication token is valid.
const TokenLifetime = 15 * time.Minute

// TokenReuse is how long Auth reuses a token: until a minute before it
// expires.
const TokenReuse = TokenLifetime - time.Minute

// Token returns a pgstore.PasswordFunc that signs RDS IAM authentication
// tokens with github.com/aws/aws-sdk-go-v2/feature/rds/auth, for region and
// the credentials of an aws.Config (awsCfg.Credentials). Signing is local: no
// call to AWS is made.
func Token(region string, creds aws.CredentialsProvider) pgstore.PasswordFunc {
	return func(ctx context.Context, endpoint, user string) (string, error) {
		return auth.BuildAuthToken(ctx, endpoint, region, user, creds)
	}
}

// Auth makes each new connection of the pool authenticate with an RDS IAM
// token (Token), reusing a token for TokenReuse. RDS requires TLS for IAM
// authentication: keep sslmode=require or stricter in the URL.
func Auth(cfg *pgxpool.Config, region string, creds aws.CredentialsProvider) {
	pgstore.PasswordAuth(cfg, Token(region, creds), TokenReuse)
}
