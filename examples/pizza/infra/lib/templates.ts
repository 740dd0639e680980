// API Gateway mapping templates (VTL) of the direct integrations. They answer the
// truth: a PutEvents reply with FailedEntryCount > 0 and a FAILED or TIMED_OUT
// synchronous execution become errors, never the reference system's blanket 200.

const problem = (status: number, type: string, title: string, detail: string) =>
  `{"type":"https://github.com/storagefirst/storagefirst-go/problems/${type}","title":"${title}","status":${status},"detail":"${detail}"}`;

/** The PutEvents request: the request body becomes the event's detail. */
export function putEventsRequest(busName: string): string {
  return [
    `#set($body = $util.escapeJavaScript($input.json('$')).replaceAll("\\\\'", "'"))`,
    `{"Entries":[{"Source":"com.lee.pizza","DetailType":"CreateOrder","Detail":"$body","EventBusName":"${busName}"}]}`,
  ].join('\n');
}

/** The PutEvents reply: 202 with the event ID only when every entry was accepted. */
export const putEventsResponse = [
  `#set($failed = $input.path('$.FailedEntryCount'))`,
  `#if($failed && $failed > 0)`,
  `#set($context.responseOverride.status = 503)`,
  `#set($context.responseOverride.header.Retry-After = "1")`,
  problem(503, 'not-persisted', 'Service Unavailable', 'the request was not stored; retry it'),
  `#else`,
  `{"id":"$input.path('$.Entries[0].EventId')"}`,
  `#end`,
].join('\n');

/** Any 4xx or 5xx from EventBridge. */
export const putEventsError = problem(503, 'not-persisted', 'Service Unavailable', 'the request was not stored; retry it');

/** The StartSyncExecution request: the reference system's cancel input. */
export function startSyncRequest(stateMachineArn: string): string {
  return [
    `#set($body = $util.escapeJavaScript($input.json('$')).replaceAll("\\\\'", "'"))`,
    `{"stateMachineArn":"${stateMachineArn}","input":"{\\"actionType\\":\\"cancel\\",\\"body\\":$body}"}`,
  ].join('\n');
}

/** The StartSyncExecution reply (always HTTP 200): mapped by the execution's status and error. */
export const startSyncResponse = [
  `#set($status = $input.path('$.status'))`,
  `#if($status == 'SUCCEEDED')`,
  `$input.path('$.output')`,
  `#elseif($status == 'TIMED_OUT')`,
  `#set($context.responseOverride.status = 504)`,
  problem(504, 'workflow-timed-out', 'Gateway Timeout', 'the cancellation did not finish in time; it is in the dead-letter queue'),
  `#else`,
  `#set($error = $input.path('$.error'))`,
  `#if($error == 'OrderNotFound')#set($code = 404)#set($title = 'Not Found')`,
  `#elseif($error == 'OrderNotCancellable')#set($code = 409)#set($title = 'Conflict')`,
  `#elseif($error == 'InvalidRequest')#set($code = 400)#set($title = 'Bad Request')`,
  `#else#set($code = 502)#set($title = 'Bad Gateway')#end`,
  `#set($context.responseOverride.status = $code)`,
  `{"type":"https://github.com/storagefirst/storagefirst-go/problems/workflow-failed","title":"$title","status":$code,"error":"$util.escapeJavaScript($error)","detail":"$util.escapeJavaScript($input.path('$.cause'))"}`,
  `#end`,
].join('\n');

/** Any 4xx or 5xx from Step Functions. */
export const startSyncError = problem(502, 'workflow-not-started', 'Bad Gateway', 'the cancellation could not be started');
