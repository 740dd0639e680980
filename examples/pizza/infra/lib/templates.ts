// API Gateway mapping templates (VTL) of the direct integrations. They answer the
// truth: a PutEvents reply with FailedEntryCount > 0 and a FAILED or TIMED_OUT
// synchronous execution become errors, never the reference system's blanket 200;
// every error is an RFC 9457 problem (application/problem+json), as the local
// service answers. test/templates.test.ts renders them with a Velocity engine.

/** The media type of every error answer. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** The prefix of the problems' type URIs (workflow.ProblemTypePrefix in Go). */
export const PROBLEM_TYPE_PREFIX = 'https://github.com/storagefirst/storagefirst-go/problems/';

const problem = (status: number, type: string, title: string, detail: string) =>
  `{"type":"${PROBLEM_TYPE_PREFIX}${type}","title":"${title}","status":${status},"detail":"${detail}"}`;

// $util.escapeJavaScript escapes ' as \' (not JSON): undo that.
const jsonString = (expr: string) => `$util.escapeJavaScript(${expr}).replaceAll("\\\\'", "'")`;

/**
 * The order's ID on AWS, the same in the request and the response templates:
 * the request's time in epoch milliseconds (13 digits until the year 2286, so the
 * IDs sort in placement order) and API Gateway's request ID. The create-order
 * function checks its shape (lambda/create-order).
 */
export const ORDER_ID = '${context.requestTimeEpoch}-${context.requestId}';

/**
 * The PutEvents request. The event's detail is the create-order contract the
 * create-order function reads: {"id", "requested_at_ms", "request_id",
 * "idempotency_key" (the request's Idempotency-Key header, when given), "order"
 * (the request body)}. A client's retry with the same Idempotency-Key makes one
 * order: the function's idempotency key is the header's value.
 */
export function putEventsRequest(busName: string): string {
  return [
    `#set($body = ${jsonString("$input.json('$')")})`,
    `#set($key = ${jsonString(jsonString("$input.params('Idempotency-Key')"))})`,
    '{"Entries":[{"Source":"com.lee.pizza","DetailType":"CreateOrder","Detail":"{' +
      `\\"id\\":\\"${ORDER_ID}\\",\\"requested_at_ms\\":$context.requestTimeEpoch,\\"request_id\\":\\"$context.requestId\\",` +
      `#if($key != "")\\"idempotency_key\\":\\"$key\\",#end` +
      `\\"order\\":$body}","EventBusName":"${busName}"}]}`,
  ].join('\n');
}

const overrideProblem = (status: number) => [
  `#set($context.responseOverride.status = ${status})`,
  `#set($context.responseOverride.header.Content-Type = "${PROBLEM_CONTENT_TYPE}")`,
];

/** The PutEvents reply: 202 with the order's ID only when every entry was accepted. */
export const putEventsResponse = [
  `#set($failed = $input.path('$.FailedEntryCount'))`,
  `#if($failed && $failed > 0)`,
  ...overrideProblem(503),
  `#set($context.responseOverride.header.Retry-After = "1")`,
  problem(503, 'not-persisted', 'Service Unavailable', 'the request was not stored; retry it'),
  `#else`,
  // $context.path is the path the client called, the stage included (/prod/orders).
  `#set($context.responseOverride.header.Location = "$context.path/${ORDER_ID}")`,
  `{"id":"${ORDER_ID}"}`,
  `#end`,
].join('\n');

/** Any 4xx or 5xx from EventBridge. */
export const putEventsError = problem(503, 'not-persisted', 'Service Unavailable', 'the request was not stored; retry it');

/**
 * The StartSyncExecution request: the reference system's cancel input, and the
 * request's ID (shop.CancelInput.RequestID): the task's retries within the
 * execution carry it, so a retried cancel by username cancels one order.
 */
export function startSyncRequest(stateMachineArn: string): string {
  return [
    `#set($body = ${jsonString("$input.json('$')")})`,
    `{"stateMachineArn":"${stateMachineArn}","input":"{\\"actionType\\":\\"cancel\\",\\"requestId\\":\\"$context.requestId\\",\\"body\\":$body}"}`,
  ].join('\n');
}

/**
 * What a TIMED_OUT execution answers. The execution ended before its Catch could
 * run, so the request is NOT in the dead-letter queue (the retry schedule is
 * bounded to leave time for it, so this takes a task that overran its own
 * timeout): say so.
 */
export const TIMED_OUT_DETAIL =
  'the cancellation did not finish in time and was not recorded in the dead-letter queue; it may or may not have taken effect: read the order, then retry';

/**
 * The detail of a FAILED execution whose error is not one the API names (a
 * failed dead-letter send, a States.* error...): its cause, which may hold a
 * driver message or a stack trace, stays in the execution's history, as the
 * local workflow.HTTPHandler keeps it in the log.
 */
export const UNLISTED_FAILURE_DETAIL =
  'the cancellation failed and was not recorded in the dead-letter queue; it may or may not have taken effect: read the order, then retry';

/**
 * Execution errors whose cause the client gets as the detail, besides those of
 * CANCEL_ERROR_STATUS: the workflow's own Fail state after the dead-letter send
 * (its cause is a fixed text written for the client).
 */
export const PUBLIC_CAUSE_ERRORS = ['CancelFailed'];

/** Execution errors and the status each answers (the local service's Status map). */
export const CANCEL_ERROR_STATUS: Record<string, [number, string]> = {
  OrderNotFound: [404, 'Not Found'],
  OrderNotCancellable: [409, 'Conflict'],
  InvalidRequest: [400, 'Bad Request'],
};

/** The StartSyncExecution reply (always HTTP 200): mapped by the execution's status and error. */
export const startSyncResponse = [
  `#set($status = $input.path('$.status'))`,
  `#if($status == 'SUCCEEDED')`,
  `$input.path('$.output')`,
  `#elseif($status == 'TIMED_OUT')`,
  ...overrideProblem(504),
  problem(504, 'workflow-timed-out', 'Gateway Timeout', TIMED_OUT_DETAIL),
  `#else`,
  `#set($error = $input.path('$.error'))`,
  `#set($code = 502)#set($title = 'Bad Gateway')#set($public = false)`,
  ...Object.entries(CANCEL_ERROR_STATUS).map(([e, [code, title]]) => `#if($error == '${e}')#set($code = ${code})#set($title = '${title}')#set($public = true)#end`),
  ...PUBLIC_CAUSE_ERRORS.map((e) => `#if($error == '${e}')#set($public = true)#end`),
  // A missing error or cause is null: #set keeps the earlier value, and quiet
  // references ($!) render nothing, never the reference's own text.
  `#set($detail = "")#set($errorText = "")`,
  `#if($error)#set($errorText = ${jsonString('$error')})#end`,
  `#if($public)#set($detail = ${jsonString("$input.path('$.cause')")})#else#set($detail = "${UNLISTED_FAILURE_DETAIL}")#end`,
  `#set($context.responseOverride.status = $code)`,
  `#set($context.responseOverride.header.Content-Type = "${PROBLEM_CONTENT_TYPE}")`,
  `{"type":"${PROBLEM_TYPE_PREFIX}workflow-failed","title":"$title","status":$code,"error":"$!errorText","detail":"$!detail"}`,
  `#end`,
].join('\n');

/** Any 4xx or 5xx from Step Functions: not started, so safe to retry. */
export const startSyncError = problem(503, 'workflow-not-started', 'Service Unavailable', 'the cancellation could not be started; retry it');

/**
 * A body the request model rejects (API Gateway's BAD_REQUEST_BODY). Gateway
 * responses cannot escape $context.error.validationErrorString into JSON (it
 * holds quotes), so the detail is fixed.
 */
export const badBody = problem(400, 'invalid-body', 'Bad Request', 'the body does not match the request model (see the API documentation)');

/** API Gateway's other errors (throttled, no such route, integration failure...); messageString is quoted JSON. */
export const gatewayError =
  '{"type":"about:blank","title":"$context.error.responseType","detail":$context.error.messageString}';
