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
// They reach Postgres (or any URL in PIZZA_DATABASE_URL, for local runs), set up
// once per container: create-order and cancel-order as the writer role,
// list-orders as the reader role (the roles the migrations create, see
// pgshop.Roles), through RDS Proxy with IAM authentication; migrate as the master
// user, on the cluster endpoint, with the password of the cluster's secret
// (lambdaenv.MigrationPool). Each wires only what it runs (lambdaenv.Creates,
// Cancels, Reads, Migrate: create-order an idempotency store without a
// pgstore.Store, migrate pgstore.Migrate), so that it links no more: go run
// ./examples/pizza/tools/build prints each size against the floor, and its test
// holds each within 0.3 MiB of it.
package lambda
