// Package workflow runs synchronous, Step-Functions-Express-like workflows: the
// cancel path of the reference system, where a request is persisted as workflow
// state, a task runs with retries, a caught failure goes to a dead-letter queue, and
// the caller gets the real outcome inside API Gateway's 29 seconds.
//
//   - [Definition] describes a workflow in Go with Amazon States Language
//     semantics: [Task] (a Go function), [Pass], [Choice], [Succeed] and [Fail]
//     states; per-task Retry and Catch (ErrorEquals, IntervalSeconds, MaxRetries and
//     NoRetries for ASL's MaxAttempts, BackoffRate, MaxDelaySeconds,
//     JitterStrategy; Catch Next and ResultPath);
//     timeouts per task and per execution, in whole seconds as ASL has them; a
//     bound on the input and a check of it ([Definition].MaxInputBytes and
//     ValidateInput) applied before anything is stored. [New] validates it, and
//     refuses retry schedules that cannot fit the execution's timeout, on the
//     longest path through Next, Choice and Catch ([Task.RetryBudget]).
//   - [Engine] runs it locally. StartSync persists the execution (input, current
//     state, attempts, history) before the first state runs, records each step,
//     and returns a [Result] whose status is SUCCEEDED, FAILED or TIMED_OUT; a
//     FAILED or TIMED_OUT execution is also returned as an error, never as a
//     success. Executions live in a [Store] (memory here, Postgres in pgstore,
//     SQLite in sqlitestore). [Engine.Sweep] finds executions interrupted by a
//     crash (see [Recovery] for what happens to them and the guarantee that
//     follows) and prunes finished ones past [EngineConfig].Retention. An
//     execution that ends on an error no Catch handled (timed out, interrupted,
//     failed anywhere but in a Fail state) is dead-lettered by the engine, and
//     becomes terminal only once its dead letter is durable; until then it stays
//     RUNNING (never pruned) and a later sweep sends it. What an execution
//     stores is bounded: task results and state outputs at [MaxDataBytes]
//     (States.DataLimitExceeded), causes at [MaxCauseLength] characters, inputs
//     so that a dead letter fits its destination
//     ([EngineConfig].MaxDeadLetterBytes, [DeadLetterOverhead]).
//     One injected Clock times deadlines, task timeouts and waits. An execution
//     started under a name ([WithExecutionName]) runs at most once: a second
//     start finds the first.
//   - [Workflow.ASL] exports the same definition as Amazon States Language for Step
//     Functions, and [ParseASL] reads it back; the subpackage sfn starts it with
//     StartSyncExecution and returns the same Result; the subpackage awslambda
//     turns the Go task function into the Lambda handler behind a lambda:invoke
//     Task.
//   - [HTTPHandler] is the front door: 200 with the output on success, a mapped
//     4xx/5xx problem+json on failure, 504 on timeout, 400/413 for input the
//     workflow refuses, 500 with the execution ID when the outcome could not be
//     recorded after a state ran, 503 only when nothing started. Its problems
//     are the module's one problem+json format (package problem): instance is the
//     correlation ID (X-Correlation-Id, kept or generated, on every answer), and
//     execution_id and error name the execution and its error. The
//     Idempotency-Key header names the execution, so a retry finds the first. The
//     subpackage apigateway serves it behind API Gateway (through the module's
//     apigateway adapter).
//
// # Where it sits
//
// workflow imports storagefirst and problem only, and no AWS package: the ASL export and
// parser are plain JSON. A dead-letter state sends to any dlq-style destination
// (pgstore.Queue, dlq/sqs.Destination) through the small
// [DeadLetterDestination] interface declared here.
package workflow
