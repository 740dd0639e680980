// Package lambda holds the pizza shop's AWS Lambda entry points, one command each,
// built for the provided.al2023 runtime with -tags lambda.norpc (see
// examples/pizza/tools/build):
//
//   - create-order: the EventBridge rule's target; creates the order exactly once.
//   - cancel-order: the Step Functions task of the cancel workflow (the same Go
//     function the local engine runs, through awslambda.Task).
//   - list-orders: GET /orders and GET /orders/{id} behind an API Gateway proxy.
//   - migrate: the deploy-time custom resource that applies the migrations.
//
// All of them reach Postgres through RDS Proxy with IAM authentication (or any URL
// in PIZZA_DATABASE_URL, for local runs), set up once per container: migrate as
// the master user, create-order and cancel-order as the writer role, list-orders
// as the reader role (the roles the migrations create, see pgshop.Roles). Each
// wires only what it runs (lambdaenv.Creates, Cancels, Reads), so that it links
// no more: go run ./examples/pizza/tools/build prints each size against the floor.
package lambda
