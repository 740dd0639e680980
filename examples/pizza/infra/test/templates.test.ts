// Renders the API's mapping templates with a Velocity engine, through the
// integration responses the stack synthesises, and checks what a client gets back.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderTemplate, respond, escapeJavaScript, Answer } from './vtl';
import { stackTemplate, awsMethod } from './stack';
import { PROBLEM_CONTENT_TYPE, TIMED_OUT_DETAIL, UNLISTED_FAILURE_DETAIL } from '../lib/templates';


const t = stackTemplate();
const post = awsMethod(t, 'POST');
const put = awsMethod(t, 'PUT');
const req = { requestId: 'c0ffee00-0000-4000-8000-000000000001', requestTimeEpoch: 1767225600123 };
const orderId = '1767225600123-c0ffee00-0000-4000-8000-000000000001';

function problem(a: Answer, status: number, type: RegExp) {
  assert.equal(a.status, status, a.body);
  assert.equal(a.headers['Content-Type'], PROBLEM_CONTENT_TYPE);
  const p = JSON.parse(a.body);
  assert.equal(p.status, status);
  assert.match(p.type, type);
  return p;
}

test('escapeJavaScript escapes as Commons Lang does', () => {
  assert.equal(String(escapeJavaScript(`a"b'c\\d/e\nf\u00e9`)), 'a\\"b\\\'c\\\\d\\/e\\nf\\u00E9');
});

// The create-order request: the event detail the function reads. The golden file
// is also the Go consumer's test input (lambda/lambdaenv).
const golden = path.join(__dirname, '..', '..', '..', 'lambda', 'lambdaenv', 'testdata', 'put-events-request.json');

test('POST /orders: the request becomes one event whose detail carries the id, request time, Idempotency-Key and body', () => {
  const body = { username: `O'Brien "the" \u00e9\u{1F355}`, items: ['margherita', 'a/b\\c'] };
  const { out } = renderTemplate(post.Integration.RequestTemplates['application/json'], {
    ...req, body, headers: { 'Idempotency-Key': `k-1"'/\u00e9` },
  });
  const entries = JSON.parse(out).Entries;
  assert.equal(entries.length, 1);
  assert.equal(entries[0].Source, 'com.lee.pizza');
  assert.equal(entries[0].DetailType, 'CreateOrder');
  const detail = JSON.parse(entries[0].Detail);
  assert.deepEqual(detail, {
    id: orderId, requested_at_ms: 1767225600123, request_id: req.requestId, idempotency_key: `k-1"'/\u00e9`, order: body,
  });
  if (process.env.UPDATE_GOLDEN === '1') fs.writeFileSync(golden, JSON.stringify(entries[0], null, 1) + '\n');
  assert.deepEqual(JSON.parse(fs.readFileSync(golden, 'utf8')), entries[0], 'the Go consumer test reads this event (UPDATE_GOLDEN=1 rewrites it)');

  const bare = JSON.parse(JSON.parse(renderTemplate(post.Integration.RequestTemplates['application/json'], { ...req, body: { username: 'ann' } }).out).Entries[0].Detail);
  assert.equal('idempotency_key' in bare, false, 'no key without the header');
  assert.deepEqual(bare.order, { username: 'ann' });
});

test('POST /orders: later requests get larger ids (placement order)', () => {
  const id = (ms: number, rid: string) => JSON.parse(respond(post, 200, { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] }, { requestTimeEpoch: ms, requestId: rid }).body).id;
  const ids = [id(1767225600123, 'ffff'), id(1767225600124, '0000'), id(1767225601000, '8888')];
  assert.deepEqual([...ids].sort(), ids);
});

test('POST /orders: all entries accepted answers 202 with the order id and its Location', () => {
  const a = respond(post, 200, { FailedEntryCount: 0, Entries: [{ EventId: '3f2e-random' }] }, req);
  assert.equal(a.status, 202);
  assert.deepEqual(JSON.parse(a.body), { id: orderId });
  assert.equal(a.headers.Location, `/prod/orders/${orderId}`, 'the stage is part of the path');
  assert.equal(respond(post, 200, { FailedEntryCount: 0, Entries: [{ EventId: 'e' }] }, { ...req, path: '/v1/orders' }).headers.Location,
    `/v1/orders/${orderId}`, 'another stage, or a base path mapping');
  assert.equal(a.headers['Content-Type'], 'application/json');
});

test('POST /orders: a partial FailedEntryCount answers 503 with Retry-After, a problem', () => {
  const a = respond(post, 200, { FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'x' }] }, req);
  const p = problem(a, 503, /not-persisted$/);
  assert.equal(a.headers['Retry-After'], '1');
  assert.match(p.detail, /not stored/);
});

test('POST /orders: a whole failure (EventBridge 4xx or 5xx) answers 503 with Retry-After, a problem', () => {
  for (const status of [400, 403, 500, 503]) {
    const a = respond(post, status, { __type: 'ThrottlingException', message: 'slow down' }, req);
    problem(a, 503, /not-persisted$/);
    assert.equal(a.headers['Retry-After'], '1');
  }
});

test('PUT /orders: the request is the cancel workflow input', () => {
  const body = { username: `O'Brien "x"` };
  const { out } = renderTemplate(put.Integration.RequestTemplates['application/json'], { ...req, body });
  const r = JSON.parse(out);
  assert.deepEqual(JSON.parse(r.input), { actionType: 'cancel', requestId: req.requestId, body },
    'the request id makes the task\'s retries cancel one order (shop.CancelInput.RequestID)');
});

test('PUT /orders: SUCCEEDED answers 200 with the execution output', () => {
  const output = JSON.stringify({ id: orderId, username: 'ann', status: 'cancelled' });
  const a = respond(put, 200, { status: 'SUCCEEDED', output }, req);
  assert.equal(a.status, 200);
  assert.deepEqual(JSON.parse(a.body), JSON.parse(output));
});

test('PUT /orders: FAILED answers the status of each mapped error, else 502, as problems', () => {
  // The API's own errors carry their cause (written for the client); any other
  // error's cause may be a driver message or a stack trace, and a failed
  // dead-letter send (States.TaskFailed from SendToDLQ) must not claim the DLQ.
  const cases: [string, number, boolean][] = [
    ['OrderNotFound', 404, true], ['OrderNotCancellable', 409, true], ['InvalidRequest', 400, true],
    ['CancelFailed', 502, true], ['States.Runtime', 502, false], ['States.TaskFailed', 502, false],
    ['Database.Unavailable', 502, false], ['Lambda.Unknown', 502, false],
  ];
  for (const [error, status, publicCause] of cases) {
    const cause = `because "${error}"\nsaid 'so' at pgx.(*Conn).Exec password=hunter2`;
    const p = problem(respond(put, 200, { status: 'FAILED', error, cause }, req), status, /workflow-failed$/);
    assert.equal(p.error, error);
    if (publicCause) {
      assert.equal(p.detail, cause, error);
    } else {
      assert.equal(p.detail, UNLISTED_FAILURE_DETAIL, error);
      assert.doesNotMatch(p.detail, /is in the dead-letter queue/);
    }
  }
});

test('PUT /orders: a FAILED reply without error or cause is still a problem', () => {
  const p = problem(respond(put, 200, { status: 'FAILED' }, req), 502, /workflow-failed$/);
  assert.equal(p.error, '');
  assert.equal(p.detail, UNLISTED_FAILURE_DETAIL);
  const q = problem(respond(put, 200, { status: 'FAILED', error: 'CancelFailed' }, req), 502, /workflow-failed$/);
  assert.equal(q.detail, '');
});

test('PUT /orders: TIMED_OUT answers 504 saying the request is not in the DLQ', () => {
  const p = problem(respond(put, 200, { status: 'TIMED_OUT' }, req), 504, /workflow-timed-out$/);
  assert.equal(p.detail, TIMED_OUT_DETAIL);
  assert.doesNotMatch(p.detail, /is in the dead-letter queue/);
});

test('PUT /orders: Step Functions refusing the start answers 503 with Retry-After', () => {
  for (const status of [400, 500]) {
    const a = respond(put, status, { __type: 'ExecutionLimitExceeded' }, req);
    problem(a, 503, /workflow-not-started$/);
    assert.equal(a.headers['Retry-After'], '1');
  }
});

test("API Gateway's own errors are problems", () => {
  const grs = Object.values(t.findResources('AWS::ApiGateway::GatewayResponse')) as any[];
  assert.deepEqual(grs.map((g) => g.Properties.ResponseType).sort(), ['BAD_REQUEST_BODY', 'DEFAULT_4XX', 'DEFAULT_5XX']);
  for (const g of grs) {
    assert.equal(g.Properties.ResponseParameters['gatewayresponse.header.Content-Type'], `'${PROBLEM_CONTENT_TYPE}'`);
    const { out } = renderTemplate(g.Properties.ResponseTemplates['application/json'], {});
    const ctx = out.replace('$context.error.messageString', '"throttled"').replace('$context.error.responseType', 'THROTTLED');
    assert.ok(JSON.parse(ctx).type, ctx);
  }
});
