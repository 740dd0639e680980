module github.com/storagefirst/storagefirst-go/internal/integration

go 1.25.0

require (
	github.com/Admiral-Piett/goaws v0.4.5
	github.com/aws/aws-lambda-go v1.54.0
	github.com/aws/aws-sdk-go-v2 v1.48.0
	github.com/aws/aws-sdk-go-v2/credentials v1.21.0
	github.com/aws/aws-sdk-go-v2/service/sqs v1.53.0
	github.com/aws/smithy-go v1.28.9
	github.com/sirupsen/logrus v1.10.2
	github.com/storagefirst/storagefirst-go v0.0.0
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/aws/aws-sdk-go-v2/internal/configsources v1.5.12 // indirect
	github.com/aws/aws-sdk-go-v2/internal/endpoints/v2 v2.8.12 // indirect
	github.com/cenkalti/backoff/v4 v4.3.0 // indirect
	github.com/gorilla/mux v1.8.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.47.0 // indirect
)

replace github.com/storagefirst/storagefirst-go => ../..
