// Synthesises the stack offline and checks what matters: the integrations and their
// honest response mappings, retry policies, DLQs, destinations, alarms, timeouts,
// and IAM scoping.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { API_INTEGRATION_TIMEOUT, API_BURST_LIMIT, API_RATE_LIMIT, DB_READER, DB_USER, DB_WRITER, MIGRATION_DIRS } from '../lib/pizza-stack';
import { aslPath, assetDir, awsMethod, stackTemplate } from './stack';

const t = stackTemplate();
const json = (v: unknown) => JSON.stringify(v);
const method = (httpMethod: string) => awsMethod(t, httpMethod);

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
  // The mapping itself is rendered in templates.test.ts.
  assert.equal(m.Integration.IntegrationResponses[1].StatusCode, '503');
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
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CreateOrderEventsDlq'), 'Arn'] } },
    })],
  });
  t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
    MaximumRetryAttempts: 2,
    MaximumEventAgeInSeconds: 21600,
    DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CreateOrderFailures'), 'Arn'] } } },
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
  // A timed-out attempt must not run on beside its retry: the function stops first.
  const cancelFn = Object.values(t.findResources('AWS::Lambda::Function'))
    .find((r: any) => r.Properties.FunctionName === 'pizza-cancel-order') as any;
  assert.ok(cancelFn.Properties.Timeout <= task.TimeoutSeconds, 'cancel-order times out no later than its Task');
  assert.ok(p.DefinitionSubstitutions.CancelOrderFunctionArn);
  assert.ok(p.DefinitionSubstitutions.CancelDlqUrl);
});

test('every DLQ has an alarm on its depth that notifies the SNS topic', () => {
  t.resourceCountIs('AWS::SQS::Queue', 3);
  t.resourceCountIs('AWS::CloudWatch::Alarm', 3);
  t.resourceCountIs('AWS::SNS::Topic', 1);
  const topic = Object.keys(t.findResources('AWS::SNS::Topic'))[0];
  const queues = Object.keys(t.findResources('AWS::SQS::Queue')).sort();
  const alarms = Object.values(t.findResources('AWS::CloudWatch::Alarm')) as any[];
  const watched = alarms.map((a) => {
    const p = a.Properties;
    assert.equal(p.MetricName, 'ApproximateNumberOfMessagesVisible');
    assert.equal(p.Namespace, 'AWS/SQS');
    assert.equal(p.Threshold, 1);
    assert.equal(p.ComparisonOperator, 'GreaterThanOrEqualToThreshold');
    assert.deepEqual(p.AlarmActions, [{ Ref: topic }]);
    return p.Dimensions[0].Value['Fn::GetAtt'][0];
  });
  assert.deepEqual(watched.sort(), queues, 'one alarm per queue');
});

test('Aurora Serverless v2 behind RDS Proxy with IAM auth and TLS; migrations at deploy', () => {
  t.hasResourceProperties('AWS::RDS::DBCluster', {
    Engine: 'aurora-postgresql', ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 2 }, StorageEncrypted: true,
    EnableIAMDatabaseAuthentication: true,
  });
  // The proxy is IAM-only: no secret, so no password user can log in through it.
  const proxies = Object.values(t.findResources('AWS::RDS::DBProxy')) as any[];
  assert.equal(proxies.length, 1);
  const proxyProps = proxies[0].Properties;
  assert.equal(proxyProps.RequireTLS, true);
  assert.equal(proxyProps.DefaultAuthScheme, 'IAM_AUTH');
  assert.equal(proxyProps.Auth, undefined, `no secrets on the proxy: ${json(proxyProps.Auth)}`);
  // migrate connects to the cluster itself, as the master user with the secret
  // (TLS: lambdaenv's sslmode=require); every other function to the proxy, by IAM.
  const fnByName = (n: string) => (Object.values(t.findResources('AWS::Lambda::Function', { Properties: { FunctionName: n } })) as any[])[0].Properties;
  const migrateEnv = fnByName('pizza-migrate').Environment.Variables;
  assert.match(json(migrateEnv.PIZZA_DB_HOST), /Database[0-9A-F]+.*Endpoint\.Address/);
  assert.equal(migrateEnv.PIZZA_DB_USER, DB_USER);
  assert.equal(migrateEnv.PIZZA_DB_POOLED, 'false');
  assert.match(json(migrateEnv.PIZZA_DB_SECRET_ARN), /DatabaseSecretAttachment|DatabaseSecret/);
  for (const n of ['pizza-create-order', 'pizza-cancel-order', 'pizza-list-orders']) {
    const env = fnByName(n).Environment.Variables;
    assert.match(json(env.PIZZA_DB_HOST), /Proxy[0-9A-F]+.*Endpoint/, n);
    assert.equal(env.PIZZA_DB_SECRET_ARN, undefined, n);
  }
  // Only migrate may read the secret.
  const reads = (Object.values(t.findResources('AWS::IAM::Policy')) as any[])
    .filter((p) => json(p.Properties.PolicyDocument).includes('secretsmanager:GetSecretValue'));
  assert.equal(reads.length, 1);
  assert.match(json(reads[0].Properties.Roles), /MigrateFunction/);
  t.hasResourceProperties('AWS::EC2::VPCEndpoint', { ServiceName: Match.stringLikeRegexp('secretsmanager'), PrivateDnsEnabled: true });
  t.resourceCountIs('AWS::CloudFormation::CustomResource', 1);
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
  // Each function may connect as its own database user only (migrate uses the
  // master user's password, no IAM); the proxy (end-to-end IAM) as the
  // application roles only.
  const userOf = (s: any) => (json(s.Resource).match(/\/(pizza_[a-z]+)/) ?? [])[1];
  const connects = byAction('rds-db:connect');
  const users = connects.map(userOf).sort();
  assert.deepEqual(users, [DB_READER, DB_WRITER, DB_WRITER, DB_READER, DB_WRITER].sort(), json(connects.map((s) => s.Resource)));
  const invoke = byAction('lambda:InvokeFunction').filter((s) => json(s.Resource).includes('CancelOrder'));
  assert.ok(invoke.length >= 1, 'the state machine may invoke cancel-order');
  for (const s of byAction('sqs:SendMessage')) {
    assert.notEqual(s.Resource, '*');
  }
});

// The only statements allowed on every resource, and why.
const WILDCARD_RESOURCE_ALLOWED: Record<string, string> = {
  // Step Functions' CloudWatch Logs delivery: these actions do not support
  // resource-level permissions (AWS documents Resource "*" for them).
  'logs:CreateLogDelivery': 'vended log delivery', 'logs:GetLogDelivery': 'vended log delivery',
  'logs:UpdateLogDelivery': 'vended log delivery', 'logs:DeleteLogDelivery': 'vended log delivery',
  'logs:ListLogDeliveries': 'vended log delivery', 'logs:PutResourcePolicy': 'vended log delivery',
  'logs:DescribeResourcePolicies': 'vended log delivery', 'logs:DescribeLogGroups': 'vended log delivery',
};

test('IAM: every statement names its resources; * only for the listed actions that allow nothing narrower', () => {
  const policies = Object.entries(t.findResources('AWS::IAM::Policy')) as [string, any][];
  let checked = 0;
  for (const [id, p] of policies) {
    for (const s of p.Properties.PolicyDocument.Statement) {
      checked++;
      assert.equal(s.Effect, 'Allow');
      assert.ok(s.Resource !== undefined && s.NotResource === undefined, `${id}: ${json(s)}`);
      const resources = [].concat(s.Resource);
      assert.ok(resources.length > 0, `${id}: no resources`);
      for (const r of resources) {
        const flat = json(r);
        if (flat === '"*"') {
          for (const a of [].concat(s.Action)) {
            assert.ok(WILDCARD_RESOURCE_ALLOWED[a], `${id}: ${a} on * is not in the justified list`);
          }
          continue;
        }
        // A named resource: a reference to one of this stack's resources, or an ARN
        // built from one (never a pattern that ends in a bare wildcard).
        assert.match(flat, /"(Ref|Fn::GetAtt)"|arn:/, `${id}: ${flat}`);
        assert.doesNotMatch(flat, /:\*"$|\/\*"$/, `${id}: ${flat} ends in a wildcard`);
      }
    }
  }
  assert.ok(checked >= 14, `checked ${checked} statements`);
  // Managed policies: only the Lambda VPC execution role's, and the basic one.
  const managed = Object.values(t.findResources('AWS::IAM::Role')).flatMap((r: any) => r.Properties.ManagedPolicyArns ?? []).map(json);
  for (const m of managed) {
    assert.match(m, /service-role\/AWSLambda(BasicExecutionRole|VPCAccessExecutionRole)/);
  }
});

test('no account-wide API Gateway setting unless asked for; the stage is throttled', () => {
  t.resourceCountIs('AWS::ApiGateway::Account', 0);
  stackTemplate({ apiGatewayAccount: true }).resourceCountIs('AWS::ApiGateway::Account', 1);
  stackTemplate({}, { 'pizza:apiGatewayAccount': 'true' }).resourceCountIs('AWS::ApiGateway::Account', 1);
  t.hasResourceProperties('AWS::ApiGateway::Stage', {
    StageName: 'prod',
    MethodSettings: [Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: API_RATE_LIMIT, ThrottlingBurstLimit: API_BURST_LIMIT })],
  });
});

test('the migrations run again when a migration file changes', () => {
  const key = (tt: ReturnType<typeof stackTemplate>) =>
    (Object.values(tt.findResources('AWS::CloudFormation::CustomResource'))[0] as any).Properties;
  const props = key(t);
  assert.match(props.migrations, /^[0-9a-f]{64}$/);
  assert.match(props.code, /^[0-9a-f]{64}\.zip$/, 'keyed on the migrate function code too (the library version)');
  const other = assetDir();
  fs.writeFileSync(path.join(other, 'migrate.zip'), 'another build of migrate');
  assert.notEqual(key(stackTemplate({ assetDir: other })).code, props.code);
  // A copy of the migrations with one file changed gives another key.
  const copy = MIGRATION_DIRS.map((d) => {
    const to = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
    const dir = path.join(to, path.basename(d));
    fs.cpSync(d, dir, { recursive: true });
    return dir;
  });
  assert.equal(key(stackTemplate({ migrationDirs: copy })).migrations, props.migrations, 'same files, same key');
  const first = fs.readdirSync(copy[0]).filter((f) => f.endsWith('.sql')).sort().pop()!;
  fs.appendFileSync(path.join(copy[0], first), '\n-- a later change\n');
  assert.notEqual(key(stackTemplate({ migrationDirs: copy })).migrations, props.migrations);
  fs.writeFileSync(path.join(copy[1], '999_new.sql'), 'SELECT 1;');
  assert.notEqual(key(stackTemplate({ migrationDirs: [MIGRATION_DIRS[0], copy[1]] })).migrations, props.migrations);
});

// The worst case of a Task state: every attempt runs to its timeout, every retry
// waits its full interval.
function worstCaseSeconds(state: any): number {
  assert.ok(state.TimeoutSeconds > 0, `task ${json(state)} has a timeout`);
  let attempts = 1;
  let waits = 0;
  for (const r of state.Retry ?? []) {
    const max = r.MaxAttempts ?? 3;
    attempts += max;
    for (let i = 0; i < max; i++) waits += Math.min((r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** i, r.MaxDelaySeconds ?? Infinity);
  }
  return attempts * state.TimeoutSeconds + waits;
}

test('a cancel that cannot succeed reaches the DLQ before the execution times out', () => {
  const asl = JSON.parse(fs.readFileSync(aslPath, 'utf8'));
  const task = asl.States.CancelOrder;
  const catchAll = task.Catch.find((c: any) => c.ErrorEquals.includes('States.ALL'));
  assert.equal(catchAll.Next, 'SendToDLQ');
  assert.equal(catchAll.ResultPath, '$.error', 'the DLQ message keeps the input');
  const dlq = asl.States[catchAll.Next];
  const worst = worstCaseSeconds(task) + worstCaseSeconds(dlq);
  assert.ok(worst <= asl.TimeoutSeconds, `worst case ${worst} s within the execution's ${asl.TimeoutSeconds} s`);
  // The function gives up no later than the state machine's task does.
  const fn = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { FunctionName: 'pizza-cancel-order' } })) as any[];
  assert.equal(fn.length, 1);
  assert.ok(fn[0].Properties.Timeout <= task.TimeoutSeconds, `function timeout ${fn[0].Properties.Timeout} s`);
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
