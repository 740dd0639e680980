// Package rdsiam authenticates pgstore's connections to Amazon RDS (or Aurora,
// or RDS Proxy) with IAM authentication tokens: [Auth] sets a pgxpool.Config's
// BeforeConnect (through pgstore.PasswordAuth) to sign a token locally with
// the AWS SDK and reuse it until shortly before it expires.
//
// # Where it sits
//
// rdsiam imports pgstore, pgx and aws-sdk-go-v2 (aws, feature/rds/auth); pgstore
// does not import it, so a program that does not use IAM authentication does
// not link the AWS SDK.
package rdsiam
