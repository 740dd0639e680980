package lambdaenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// EnvSecretsManagerEndpoint overrides the Secrets Manager endpoint (the AWS SDKs'
// own variable; for tests and VPC endpoints without private DNS).
const EnvSecretsManagerEndpoint = "AWS_ENDPOINT_URL_SECRETS_MANAGER"

// secretTimeout bounds the secret's read.
const secretTimeout = 10 * time.Second

// maxSecretBytes bounds the answer read.
const maxSecretBytes = 64 << 10

// ErrSecret marks a database secret that could not be read.
var ErrSecret = errors.New("lambdaenv: reading the database secret")

// SecretPassword reads the password field of the Secrets Manager secret arn (an
// RDS-generated one holds username and password as JSON) with one signed
// GetSecretValue call: the migrate function's only AWS call, without linking
// the Secrets Manager SDK client.
func SecretPassword(ctx context.Context, hc *http.Client, region string, creds aws.CredentialsProvider, arn string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, secretTimeout)
	defer cancel()
	endpoint := os.Getenv(EnvSecretsManagerEndpoint)
	if endpoint == "" {
		endpoint = "https://secretsmanager." + region + ".amazonaws.com"
	}
	body, err := json.Marshal(map[string]string{"SecretId": arn})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSecret, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "secretsmanager.GetSecretValue")
	c, err := creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: credentials: %w", ErrSecret, err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, c, req, hex.EncodeToString(sum[:]), "secretsmanager", region, time.Now()); err != nil {
		return "", fmt.Errorf("%w: signing: %w", ErrSecret, err)
	}
	res, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSecret, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxSecretBytes))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSecret, err)
	}
	if res.StatusCode != http.StatusOK {
		// The error's type and message only (never a secret): Secrets Manager's JSON error body.
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		return "", fmt.Errorf("%w: %s: %s %s", ErrSecret, res.Status, e.Type, e.Message)
	}
	var out struct{ SecretString string }
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("%w: the answer is not GetSecretValue's: %w", ErrSecret, err)
	}
	var secret struct {
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(out.SecretString), &secret); err != nil || secret.Password == "" {
		return "", fmt.Errorf("%w: the secret holds no password field", ErrSecret)
	}
	return secret.Password, nil
}
