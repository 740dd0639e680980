package rdsiam_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/pgstore/rdsiam"
)

// The RDS signer builds a token locally.
func TestToken(t *testing.T) {
	t.Parallel()
	tok, err := rdsiam.Token("eu-west-1", staticCreds{})(context.Background(), "db.example:5432", "app")
	require.NoError(t, err)
	require.Contains(t, tok, "db.example:5432?Action=connect")
	require.Contains(t, tok, "DBUser=app")
}

// Auth gives a new connection a signed token as its password.
func TestAuthSetsTheTokenAsPassword(t *testing.T) {
	t.Parallel()
	cfg, err := pgxpool.ParseConfig("postgres://app@db.example:5432/app?sslmode=require")
	require.NoError(t, err)
	rdsiam.Auth(cfg, "eu-west-1", staticCreds{})
	cc := cfg.ConnConfig.Copy()
	require.NoError(t, cfg.BeforeConnect(context.Background(), cc))
	require.Contains(t, cc.Password, "db.example:5432?Action=connect")
	require.Contains(t, cc.Password, "DBUser=app")
}
