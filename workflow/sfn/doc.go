// Package sfn runs a workflow on AWS Step Functions: [Starter] starts an Express
// state machine (exported from a workflow.Definition with Workflow.ASL) with
// StartSyncExecution and returns the same workflow.Result as the local engine, so
// a workflow.HTTPHandler serves either. [WithoutHostPrefix] points the SDK client
// at a local endpoint.
//
// # Where it sits
//
// sfn imports workflow and the Step Functions SDK; the core package workflow
// imports no AWS package.
package sfn
