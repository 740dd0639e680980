package lambdaenv_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/lambda/lambdaenv"
)

// fakeSecretsManager answers GetSecretValue for arn with secret, and records
// whether each request was SigV4-signed for Secrets Manager.
func fakeSecretsManager(t *testing.T, arn, secret string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct{ SecretId string }
		_ = json.Unmarshal(body, &in)
		auth := r.Header.Get("Authorization")
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || in.SecretId != arn ||
			!strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(auth, "/eu-west-1/secretsmanager/aws4_request") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"no such secret"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"ARN": arn, "SecretString": secret})
	}))
	t.Cleanup(srv.Close)
	return srv
}

func setAWSEnv(t *testing.T, endpoint string) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	t.Setenv(lambdaenv.EnvSecretsManagerEndpoint, endpoint)
}

// The migrate function connects to the cluster directly, as the master user,
// with the password of the cluster's secret (the RDS Proxy is IAM-only):
// MigrationPool reads it from Secrets Manager, signed, and uses it instead of an IAM token.
func TestPoolUsesTheSecretsPassword(t *testing.T) {
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pizza-db"
	srv := fakeSecretsManager(t, arn, `{"username":"pizza_admin","password":"s3cr3t!"}`)
	setAWSEnv(t, srv.URL)
	t.Setenv(lambdaenv.EnvDatabaseURL, "")
	t.Setenv(lambdaenv.EnvDBHost, "cluster.example.internal")
	t.Setenv(lambdaenv.EnvDBUser, "pizza_admin")
	t.Setenv(lambdaenv.EnvPooled, "false")
	t.Setenv(lambdaenv.EnvDBSecretARN, arn)
	pool, err := lambdaenv.MigrationPool(context.Background()) // connects lazily
	require.NoError(t, err)
	defer pool.Close()
	cfg := pool.Config()
	require.Equal(t, "s3cr3t!", cfg.ConnConfig.Password)
	require.Nil(t, cfg.BeforeConnect, "a password, not an IAM token")
	require.NotNil(t, cfg.ConnConfig.TLSConfig, "TLS to the cluster")

	t.Setenv(lambdaenv.EnvDBSecretARN, arn+"-other")
	_, err = lambdaenv.MigrationPool(context.Background())
	require.ErrorIs(t, err, lambdaenv.ErrSecret)
	require.Contains(t, err.Error(), "ResourceNotFoundException")

	// The other functions' Pool: IAM authentication (through the proxy), even
	// with a secret named.
	pool, _, err = lambdaenv.Pool(context.Background())
	require.NoError(t, err)
	defer pool.Close()
	require.Empty(t, pool.Config().ConnConfig.Password)
	require.NotNil(t, pool.Config().BeforeConnect)

	// Without a secret: IAM authentication for the migrations too.
	t.Setenv(lambdaenv.EnvDBSecretARN, "")
	pool, err = lambdaenv.MigrationPool(context.Background())
	require.NoError(t, err)
	defer pool.Close()
	require.Empty(t, pool.Config().ConnConfig.Password)
	require.NotNil(t, pool.Config().BeforeConnect)
}
