package shop_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/storagefirst/storagefirst-go/examples/pizza/shop"
	"github.com/storagefirst/storagefirst-go/ingest"
)

// validationCase is one row of testdata/create-order-cases.json, the table both
// validations of a create are held to: the API's (the local front door here; the
// JSON-schema model on AWS, in infra's validation.test.ts) and the consumer's.
type validationCase struct {
	Name     string          `json:"name"`
	Body     json.RawMessage `json:"body"`
	Valid    bool            `json:"valid"`    // the API accepts it
	Consumer *bool           `json:"consumer"` // the consumer accepts it (default: Valid)
}

func TestCreateValidationTable(t *testing.T) {
	b, err := os.ReadFile("testdata/create-order-cases.json")
	require.NoError(t, err)
	var cases []validationCase
	require.NoError(t, json.Unmarshal(b, &cases))
	require.NotEmpty(t, cases)
	for _, c := range cases {
		// The API: strict, as the front door decodes a request.
		_, err := ingest.Decode[shop.CreateOrder](c.Body, ingest.DecodeConfig{})
		require.Equal(t, c.Valid, err == nil, "API: %s: %v", c.Name, err)
		// The consumer: fields it does not know yet are ignored.
		consumer := c.Valid
		if c.Consumer != nil {
			consumer = *c.Consumer
		}
		_, err = ingest.Decode[shop.CreateOrder](c.Body, ingest.DecodeConfig{AllowUnknownFields: true})
		require.Equal(t, consumer, err == nil, "consumer: %s: %v", c.Name, err)
	}
}
