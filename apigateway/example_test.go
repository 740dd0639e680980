package apigateway_test

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/storagefirst/storagefirst-go/apigateway"
)

func ExampleV2() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":%q}`, r.PathValue("id"))
	})
	// In main: lambda.Start(apigateway.V2(mux))
	resp, _ := apigateway.V2(mux)(context.Background(), events.APIGatewayV2HTTPRequest{RawPath: "/orders/o1",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET"}}})
	fmt.Println(resp.StatusCode, resp.Headers["Content-Type"], resp.Body)
	// Output: 200 application/json {"id":"o1"}
}
