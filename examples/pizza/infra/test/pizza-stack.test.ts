// Synthesises the stack offline and checks what matters: the integrations and their
// honest response mappings, retry policies, DLQs, destinations, alarms, timeouts,
// and IAM scoping.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { PizzaStack, API_INTEGRATION_TIMEOUT } from '../lib/pizza-stack';

// Stand-in function zips: the assertions do not need the real binaries.
const assetDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pizza-assets-'));
for (const f of ['create-order', 'cancel-order', 'list-orders', 'migrate']) {
  fs.writeFileSync(path.join(assetDir, `${f}.zip`), `stand-in for ${f}`);
}
const aslPath = path.join(__dirname, '..', '..', 'cancel-order.asl.json');
const app = new App();
const stack = new PizzaStack(app, 'PizzaShop', { assetDir, aslPath, env: { account: '111122223333', region: 'us-east-1' } });
const t = Template.fromStack(stack);
const json = (v: unknown) => JSON.stringify(v);

function method(httpMethod: string) {
  const all = t.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: httpMethod } });
  const found = Object.values(all).filter((m: any) => m.Properties.Integration?.Type === 'AWS');
  assert.equal(found.length, 1, `one AWS integration for ${httpMethod}`);
  return (found[0] as any).Properties;
}

test('POST /orders is a direct integration to PutEvents that never answers success for a failed write', () => {
  const m = method('POST');
  assert.match(json(m.Integration.Uri), /events:action\/PutEvents/);
  assert.equal(m.Integration.RequestParameters['integration.request.header.X-Amz-Target'], "'AWSEvents.PutEvents'");
  assert.match(json(m.Integration.RequestTemplates), /com\.lee\.pizza/);
  assert.match(json(m.Integration.RequestTemplates), /CreateOrder/);
  const [ok, failed] = m.Integration.IntegrationResponses;
  assert.equal(ok.StatusCode, '202');
  const okTemplate = ok.ResponseTemplates['application/json'];
  assert.match(okTemplate, /FailedEntryCount/);
  assert.match(okTemplate, /responseOverride\.status = 503/);
  assert.match(okTemplate, /Retry-After/);
  assert.equal(failed.StatusCode, '503');
  assert.equal(failed.SelectionPattern, '[45]\\d{2}');
  assert.match(failed.ResponseTemplates['application/json'], /"status":503/);
  assert.equal(m.Integration.TimeoutInMillis, API_INTEGRATION_TIMEOUT.toMilliseconds());
});

test('PUT /orders is a direct integration to StartSyncExecution mapping FAILED and TIMED_OUT to errors', () => {
  const m = method('PUT');
  assert.match(json(m.Integration.Uri), /states:action\/StartSyncExecution/);
  assert.match(json(m.Integration.RequestTemplates), /actionType/);
  const tpl: string = m.Integration.IntegrationResponses[0].ResponseTemplates['application/json'];
  assert.match(tpl, /'SUCCEEDED'/);
  assert.match(tpl, /'TIMED_OUT'[\s\S]*responseOverride\.status = 504/);
  assert.match(tpl, /'OrderNotFound'\)#set\(\$code = 404\)/);
  assert.match(tpl, /'OrderNotCancellable'\)#set\(\$code = 409\)/);
  assert.match(tpl, /#else#set\(\$code = 502\)/);
  assert.equal(m.Integration.IntegrationResponses[1].StatusCode, '502');
});

test('both writes validate their bodies against JSON schema models', () => {
  t.hasResourceProperties('AWS::ApiGateway::RequestValidator', { ValidateRequestBody: true });
  t.hasResourceProperties('AWS::ApiGateway::Model', {
    Name: 'CreateOrder',
    Schema: Match.objectLike({ required: ['username'], properties: Match.objectLike({ username: { type: 'string', minLength: 1, maxLength: 45 } }) }),
  });
  t.hasResourceProperties('AWS::ApiGateway::Model', { Name: 'CancelOrder', Schema: Match.objectLike({ minProperties: 1 }) });
  for (const verb of ['POST', 'PUT']) {
    assert.ok(method(verb).RequestValidatorId, `${verb} has a validator`);
  }
  t.hasResourceProperties('AWS::ApiGateway::GatewayResponse', { ResponseType: 'BAD_REQUEST_BODY', StatusCode: '400' });
});

test('the rule targets create-order with a retry policy and a DLQ; the function has its own retries and destination', () => {
  t.hasResourceProperties('AWS::Events::Rule', {
    EventPattern: { source: ['com.lee.pizza'], 'detail-type': ['CreateOrder'] },
    Targets: [Match.objectLike({
      RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 },
      DeadLetterConfig: { Arn: Match.anyValue() },
    })],
  });
  t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
    MaximumRetryAttempts: 2,
    MaximumEventAgeInSeconds: 21600,
    DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
  });
});

test('the cancel workflow is an Express state machine from the Go ASL, timing out before API Gateway does', () => {
  const sms = Object.values(t.findResources('AWS::StepFunctions::StateMachine')) as any[];
  assert.equal(sms.length, 1);
  const p = sms[0].Properties;
  assert.equal(p.StateMachineType, 'EXPRESS');
  assert.equal(p.DefinitionString, fs.readFileSync(aslPath, 'utf8'), 'the checked-in ASL, substitutions aside');
  const asl = JSON.parse(fs.readFileSync(aslPath, 'utf8'));
  assert.ok(asl.TimeoutSeconds * 1000 < API_INTEGRATION_TIMEOUT.toMilliseconds(), 'state machine timeout below the API timeout');
  assert.deepEqual(asl.States.CancelOrder.Retry[0], {
    ErrorEquals: ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.ClientExecutionTimeoutException'],
    IntervalSeconds: 1, MaxAttempts: 2, BackoffRate: 2,
  });
  // The function's ARN as the Resource: its result is the response itself, so the
  // Catch's ResultPath works as in the local engine (no OutputPath after it).
  assert.equal(asl.States.CancelOrder.Resource, '${CancelOrderFunctionArn}');
  assert.equal(asl.States.CancelOrder.OutputPath, undefined);
  // The worst case, every attempt to its timeout plus every retry wait, fits.
  const task = asl.States.CancelOrder;
  let attempts = 1;
  let waits = 0;
  for (const r of task.Retry) {
    attempts += r.MaxAttempts;
    for (let n = 0; n < r.MaxAttempts; n++) waits += r.IntervalSeconds * Math.pow(r.BackoffRate, n);
  }
  assert.ok(attempts * task.TimeoutSeconds + waits <= asl.TimeoutSeconds, 'the retry schedule fits the timeout');
  assert.equal(asl.States.SendToDLQ.Resource, 'arn:aws:states:::sqs:sendMessage');
  assert.ok(p.DefinitionSubstitutions.CancelOrderFunctionArn);
  assert.ok(p.DefinitionSubstitutions.CancelDlqUrl);
});

test('every DLQ has an alarm on its depth', () => {
  t.resourceCountIs('AWS::SQS::Queue', 3);
  t.resourceCountIs('AWS::CloudWatch::Alarm', 3);
  t.allResourcesProperties('AWS::CloudWatch::Alarm', {
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Namespace: 'AWS/SQS',
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold',
  });
});

test('Aurora Serverless v2 behind RDS Proxy with IAM auth and TLS; migrations at deploy', () => {
  t.hasResourceProperties('AWS::RDS::DBCluster', { Engine: 'aurora-postgresql', ServerlessV2ScalingConfiguration: Match.anyValue(), StorageEncrypted: true });
  t.hasResourceProperties('AWS::RDS::DBProxy', { RequireTLS: true, Auth: [Match.objectLike({ IAMAuth: 'REQUIRED' })] });
  t.resourceCountIs('AWS::CloudFormation::CustomResource', 1);
  t.allResourcesProperties('AWS::Lambda::Function', Match.anyValue());
  const fns = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Handler: 'bootstrap' } })) as any[];
  assert.equal(fns.length, 4);
  for (const f of fns) {
    assert.equal(f.Properties.Runtime, 'provided.al2023');
    assert.deepEqual(f.Properties.Architectures, ['arm64']);
    assert.ok(f.Properties.VpcConfig);
  }
});

test('IAM is least privilege: each role may do only what it needs, on the named resources', () => {
  const policies = Object.values(t.findResources('AWS::IAM::Policy')) as any[];
  const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
  for (const s of statements) {
    const actions = [].concat(s.Action);
    assert.ok(!actions.includes('*' as never), `no wildcard action: ${json(s)}`);
    assert.ok(!actions.some((a: string) => /^[a-z0-9-]+:\*$/.test(a)), `no service-wide action: ${json(s)}`);
  }
  const byAction = (a: string) => statements.filter((s) => [].concat(s.Action).includes(a as never));
  const put = byAction('events:PutEvents');
  assert.equal(put.length, 1);
  assert.match(json(put[0].Resource), /Bus/);
  const start = byAction('states:StartSyncExecution');
  assert.equal(start.length, 1);
  assert.match(json(start[0].Resource), /CancelOrder/);
  for (const s of byAction('rds-db:connect')) {
    assert.match(json(s.Resource), /dbuser:.*\/pizza_admin/);
  }
  assert.equal(byAction('rds-db:connect').length, 4, 'each function may connect as the app user only');
  const invoke = byAction('lambda:InvokeFunction').filter((s) => json(s.Resource).includes('CancelOrder'));
  assert.ok(invoke.length >= 1, 'the state machine may invoke cancel-order');
  for (const s of byAction('sqs:SendMessage')) {
    assert.notEqual(s.Resource, '*');
  }
});

test('the cancel workflow is valid Amazon States Language (asl-validator), as deployed', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const aslValidator = require('asl-validator');
  const deployed = fs.readFileSync(aslPath, 'utf8')
    .replace('${CancelOrderFunctionArn}', 'arn:aws:lambda:us-east-1:111122223333:function:cancel-order')
    .replace('${CancelDlqUrl}', 'https://sqs.us-east-1.amazonaws.com/111122223333/cancel-order-dlq');
  const { isValid, errorsText } = aslValidator(JSON.parse(deployed));
  assert.ok(isValid, errorsText('\n'));
  // The validator does catch a broken document.
  const broken = JSON.parse(deployed);
  broken.States.CancelOrder.Next = 'Nowhere';
  assert.equal(aslValidator(broken).isValid, false);
});
