import * as fs from 'node:fs';
import * as path from 'node:path';
import { CustomResource, Duration, RemovalPolicy, Stack, StackProps, CfnOutput } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as cwactions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as crypto from 'node:crypto';
import { Construct } from 'constructs';
import * as tpl from './templates';

export interface PizzaStackProps extends StackProps {
  /** Directory holding create-order.zip, cancel-order.zip, list-orders.zip and migrate.zip. */
  assetDir: string;
  /** The cancel workflow's ASL, exported from the Go definition (tools/aslgen). */
  aslPath: string;
  /**
   * Directories of the SQL migrations the migrate function embeds (pgstore's and
   * the shop's). Default: MIGRATION_DIRS. The migrations custom resource is keyed
   * on their hash, so a deploy that changes them runs them.
   */
  migrationDirs?: string[];
  /**
   * Create the account-wide AWS::ApiGateway::Account setting (and its role) that
   * lets API Gateway write access and execution logs to CloudWatch. It is one per
   * account and region, shared by every API there, so it is off by default: turn
   * it on (or pass -c pizza:apiGatewayAccount=true) only in an account with no
   * other owner of that setting.
   */
  apiGatewayAccount?: boolean;
  /** Steady-state requests per second the API stage accepts. Default API_RATE_LIMIT. */
  apiRateLimit?: number;
  /** Burst the API stage accepts. Default API_BURST_LIMIT. */
  apiBurstLimit?: number;
}

/** The migrations' directories, relative to this file's build output (build/lib). */
export const MIGRATION_DIRS = [
  path.join(__dirname, '..', '..', '..', '..', '..', 'pgstore', 'migrations'),
  path.join(__dirname, '..', '..', '..', 'shop', 'pgshop', 'migrations'),
];

/**
 * The key of the migrations custom resource: a SHA-256 of every migration file's
 * name and contents, in name order per directory. CloudFormation calls the migrate
 * function again whenever it changes.
 */
export function migrationsHash(dirs: string[]): string {
  const h = crypto.createHash('sha256');
  for (const dir of dirs) {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
    if (files.length === 0) {
      throw new Error(`no migrations in ${dir}`);
    }
    for (const f of files) {
      h.update(`${path.basename(dir)}/${f}\0`);
      h.update(fs.readFileSync(path.join(dir, f)));
      h.update('\0');
    }
  }
  return h.digest('hex');
}

/** Default steady-state rate of the API stage (requests per second). */
export const API_RATE_LIMIT = 50;
/** Default burst of the API stage. */
export const API_BURST_LIMIT = 100;

/**
 * The cluster's master user: only the migrate function connects as it, straight
 * to the cluster endpoint (TLS) with the generated secret's password; RDS Proxy
 * is IAM-only and holds no secret.
 */
export const DB_USER = 'pizza_admin';
/**
 * The application roles the migrations create (pgshop.Roles), each granted
 * rds_iam and only what it needs: the writer the idempotency records and SELECT,
 * INSERT, UPDATE on orders (create-order and cancel-order), the reader may only
 * read the orders.
 */
export const DB_WRITER = 'pizza_writer';
export const DB_READER = 'pizza_reader';
/** Which database user each function connects as. */
export const FUNCTION_DB_USER: Record<string, string> = {
  'create-order': DB_WRITER,
  'cancel-order': DB_WRITER,
  'list-orders': DB_READER,
  migrate: DB_USER, // password (the cluster's secret), not IAM
};
/** API Gateway gives up on an integration after this long (the default). */
export const API_INTEGRATION_TIMEOUT = Duration.seconds(29);

/**
 * The pizza shop, storage-first on AWS: POST /orders is a direct integration to
 * EventBridge PutEvents, PUT /orders a direct integration to Step Functions
 * StartSyncExecution, and both answer the truth.
 */
export class PizzaStack extends Stack {
  public readonly api: apigw.RestApi;
  public readonly dlqs: sqs.Queue[];
  public readonly alarmTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: PizzaStackProps) {
    super(scope, id, props);

    // Network and database: Aurora Serverless v2 behind RDS Proxy, IAM auth, TLS.
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    const subnets = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const cluster = new rds.DatabaseCluster(this, 'Database', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
      writer: rds.ClusterInstance.serverlessV2('writer'),
      serverlessV2MinCapacity: 0.5,
      serverlessV2MaxCapacity: 2,
      vpc,
      vpcSubnets: subnets,
      credentials: rds.Credentials.fromGeneratedSecret(DB_USER),
      defaultDatabaseName: 'pizza',
      storageEncrypted: true,
      iamAuthentication: true,
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    // IAM end to end, and nothing else, through the proxy: from the functions to
    // the proxy and from the proxy to the database as the application roles, which
    // hold no password at all. The proxy holds no secret.
    const proxyRole = new iam.Role(this, 'ProxyRole', { assumedBy: new iam.ServicePrincipal('rds.amazonaws.com') });
    for (const user of [DB_WRITER, DB_READER]) {
      cluster.grantConnect(proxyRole, user);
    }
    const proxy = cluster.addProxy('Proxy', {
      vpc, vpcSubnets: subnets, iamAuth: true, requireTLS: true, role: proxyRole,
      defaultAuthScheme: rds.DefaultAuthScheme.IAM_AUTH,
    });
    const functionsSg = new ec2.SecurityGroup(this, 'FunctionsSg', { vpc, allowAllOutbound: false, description: 'pizza functions: RDS Proxy only' });
    functionsSg.addEgressRule(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.tcp(5432), 'to RDS Proxy');
    proxy.connections.allowFrom(functionsSg, ec2.Port.tcp(5432), 'pizza functions');
    // The migrate function, the master user (no rds_iam), connects to the cluster
    // itself with the secret's password, which it reads through a Secrets Manager
    // endpoint in the VPC (there is no NAT gateway).
    const migrateSg = new ec2.SecurityGroup(this, 'MigrateSg', { vpc, allowAllOutbound: false, description: 'pizza migrate: the cluster and Secrets Manager only' });
    migrateSg.addEgressRule(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.tcp(5432), 'to the cluster');
    migrateSg.addEgressRule(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.tcp(443), 'to the Secrets Manager endpoint');
    cluster.connections.allowFrom(migrateSg, ec2.Port.tcp(5432), 'pizza migrate');
    const secretsEndpointSg = new ec2.SecurityGroup(this, 'SecretsEndpointSg', { vpc, allowAllOutbound: false, description: 'Secrets Manager endpoint: from migrate only' });
    secretsEndpointSg.addIngressRule(migrateSg, ec2.Port.tcp(443), 'pizza migrate');
    vpc.addInterfaceEndpoint('SecretsManager', {
      service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, subnets, privateDnsEnabled: true, securityGroups: [secretsEndpointSg], open: false,
    });

    // The Lambda functions (provided.al2023, built by tools/build).
    const fn = (name: string, timeout: Duration) => {
      const f = new lambda.Function(this, name.replace(/(^|-)(\w)/g, (_, __, c: string) => c.toUpperCase()) + 'Function', {
        functionName: `pizza-${name}`,
        runtime: lambda.Runtime.PROVIDED_AL2023,
        architecture: lambda.Architecture.ARM_64,
        handler: 'bootstrap',
        code: lambda.Code.fromAsset(path.join(props.assetDir, `${name}.zip`)),
        memorySize: 256,
        timeout,
        vpc,
        vpcSubnets: subnets,
        securityGroups: [name === 'migrate' ? migrateSg : functionsSg],
        environment: {
          PIZZA_DB_USER: FUNCTION_DB_USER[name], PIZZA_DB_NAME: 'pizza', PIZZA_SCHEMA: 'pizza',
          ...(name === 'migrate'
            ? {
              PIZZA_DB_HOST: cluster.clusterEndpoint.hostname, PIZZA_DB_PORT: cluster.clusterEndpoint.port.toString(),
              PIZZA_DB_POOLED: 'false', PIZZA_DB_SECRET_ARN: cluster.secret!.secretArn,
              PIZZA_DB_WRITER: DB_WRITER, PIZZA_DB_READER: DB_READER,
            }
            : { PIZZA_DB_HOST: proxy.endpoint }),
        },
        logGroup: new logs.LogGroup(this, `${name}Logs`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
      });
      if (name === 'migrate') {
        cluster.secret!.grantRead(f);
      } else {
        proxy.grantConnect(f, FUNCTION_DB_USER[name]);
      }
      return f;
    };
    const createOrder = fn('create-order', Duration.seconds(10));
    // No longer than CancelOrder's TimeoutSeconds (shop.CancelTaskTimeout), so a
    // slow invocation ends with the attempt the state machine gave up on: no
    // attempt outlives its state.
    const cancelOrder = fn('cancel-order', Duration.seconds(4));
    const listOrders = fn('list-orders', Duration.seconds(10));
    const migrate = fn('migrate', Duration.minutes(2));

    // Migrations at deploy time.
    const provider = new cr.Provider(this, 'MigrationsProvider', { onEventHandler: migrate });
    const migrations = new CustomResource(this, 'Migrations', {
      serviceToken: provider.serviceToken,
      properties: {
        // Keyed on what the function applies: the migration files, and the code
        // that applies them (the asset's hash changes with the library's version).
        migrations: migrationsHash(props.migrationDirs ?? MIGRATION_DIRS),
        code: ((migrate.node.defaultChild as lambda.CfnFunction).code as lambda.CfnFunction.CodeProperty).s3Key,
      },
    });
    migrations.node.addDependency(cluster, proxy);

    // Dead-letter queues, each with an alarm on its depth.
    const queue = (name: string) =>
      new sqs.Queue(this, name, { retentionPeriod: Duration.days(14), encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true });
    const eventsDlq = queue('CreateOrderEventsDlq'); // EventBridge could not deliver to the function
    const createFailures = queue('CreateOrderFailures'); // the function failed after its retries
    const cancelDlq = queue('CancelOrderDlq'); // the cancel workflow caught a failure
    this.dlqs = [eventsDlq, createFailures, cancelDlq];
    // Alarms notify this topic: subscribe the operators to it.
    this.alarmTopic = new sns.Topic(this, 'DeadLetterAlarms', { displayName: 'pizza: dead letters to inspect and replay' });
    this.alarmTopic.addToResourcePolicy(new iam.PolicyStatement({
      effect: iam.Effect.DENY, principals: [new iam.AnyPrincipal()], actions: ['sns:Publish'], resources: [this.alarmTopic.topicArn],
      conditions: { Bool: { 'aws:SecureTransport': 'false' } },
    }));
    for (const q of this.dlqs) {
      const alarm = new cloudwatch.Alarm(this, `${q.node.id}Depth`, {
        alarmDescription: `Dead letters in ${q.node.id}: inspect and replay them with storagefirst dlq`,
        metric: q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new cwactions.SnsAction(this.alarmTopic));
    }

    // Create: the bus, the rule, the target with its retry policy and DLQ, and the
    // function's own asynchronous retries and on-failure destination.
    const bus = new events.EventBus(this, 'Bus', { eventBusName: 'pizza' });
    new events.Rule(this, 'CreateOrderRule', {
      eventBus: bus,
      eventPattern: { source: ['com.lee.pizza'], detailType: ['CreateOrder'] },
      targets: [new targets.LambdaFunction(createOrder, { retryAttempts: 8, maxEventAge: Duration.hours(2), deadLetterQueue: eventsDlq })],
    });
    createOrder.configureAsyncInvoke({
      retryAttempts: 2,
      maxEventAge: Duration.hours(6),
      onFailure: new destinations.SqsDestination(createFailures),
    });

    // Cancel: the Express state machine whose definition is the Go workflow's ASL.
    const stateMachine = new sfn.StateMachine(this, 'CancelOrder', {
      stateMachineName: 'pizza-cancel-order',
      stateMachineType: sfn.StateMachineType.EXPRESS,
      definitionBody: sfn.DefinitionBody.fromString(fs.readFileSync(props.aslPath, 'utf8')),
      definitionSubstitutions: { CancelOrderFunctionArn: cancelOrder.functionArn, CancelDlqUrl: cancelDlq.queueUrl },
      logs: {
        destination: new logs.LogGroup(this, 'CancelOrderExecutions', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
        level: sfn.LogLevel.ERROR,
      },
    });
    cancelOrder.grantInvoke(stateMachine);
    cancelDlq.grantSendMessages(stateMachine);

    // The API: direct integrations with honest responses, request validation.
    const accountSetting = props.apiGatewayAccount ?? this.node.tryGetContext('pizza:apiGatewayAccount') === 'true';
    this.api = new apigw.RestApi(this, 'Api', {
      restApiName: 'pizza',
      cloudWatchRole: accountSetting,
      deployOptions: {
        stageName: 'prod',
        throttlingRateLimit: props.apiRateLimit ?? API_RATE_LIMIT,
        throttlingBurstLimit: props.apiBurstLimit ?? API_BURST_LIMIT,
      },
    });
    const integrationRole = new iam.Role(this, 'ApiIntegrationRole', { assumedBy: new iam.ServicePrincipal('apigateway.amazonaws.com') });
    bus.grantPutEventsTo(integrationRole);
    stateMachine.grantStartSyncExecution(integrationRole);
    const validator = this.api.addRequestValidator('Body', { validateRequestBody: true });
    const username = { type: apigw.JsonSchemaType.STRING, minLength: 1, maxLength: 45 };
    const createModel = this.api.addModel('CreateOrder', {
      modelName: 'CreateOrder',
      contentType: 'application/json',
      schema: {
        type: apigw.JsonSchemaType.OBJECT,
        required: ['username'],
        additionalProperties: false,
        properties: {
          username,
          items: { type: apigw.JsonSchemaType.ARRAY, maxItems: 20, items: { type: apigw.JsonSchemaType.STRING, minLength: 1, maxLength: 64 } },
        },
      },
    });
    const cancelModel = this.api.addModel('CancelOrder', {
      modelName: 'CancelOrder',
      contentType: 'application/json',
      schema: {
        type: apigw.JsonSchemaType.OBJECT,
        minProperties: 1,
        additionalProperties: false,
        properties: { username, id: { type: apigw.JsonSchemaType.STRING, minLength: 1, maxLength: 64 } },
      },
    });
    const problemHeaders = { 'method.response.header.Content-Type': true };
    const problemContentType = { 'method.response.header.Content-Type': `'${tpl.PROBLEM_CONTENT_TYPE}'` };
    // API Gateway's own answers (a body the model rejects, throttling, a missing
    // route, an integration failure) are problems too.
    const gatewayProblem = { 'Content-Type': `'${tpl.PROBLEM_CONTENT_TYPE}'` };
    this.api.addGatewayResponse('BadBody', {
      type: apigw.ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      responseHeaders: gatewayProblem,
      templates: { 'application/json': tpl.badBody },
    });
    for (const [id, type] of [['Default4xx', apigw.ResponseType.DEFAULT_4XX], ['Default5xx', apigw.ResponseType.DEFAULT_5XX]] as const) {
      this.api.addGatewayResponse(id, { type, responseHeaders: gatewayProblem, templates: { 'application/json': tpl.gatewayError } });
    }

    const orders = this.api.root.addResource('orders');
    orders.addMethod(
      'POST',
      new apigw.AwsIntegration({
        service: 'events',
        action: 'PutEvents',
        integrationHttpMethod: 'POST',
        options: {
          credentialsRole: integrationRole,
          passthroughBehavior: apigw.PassthroughBehavior.NEVER,
          timeout: API_INTEGRATION_TIMEOUT,
          requestParameters: {
            'integration.request.header.X-Amz-Target': "'AWSEvents.PutEvents'",
            'integration.request.header.Content-Type': "'application/x-amz-json-1.1'",
          },
          requestTemplates: { 'application/json': tpl.putEventsRequest(bus.eventBusName) },
          integrationResponses: [
            { statusCode: '202', selectionPattern: '2\\d{2}', responseTemplates: { 'application/json': tpl.putEventsResponse } },
            {
              statusCode: '503',
              selectionPattern: '[45]\\d{2}',
              responseParameters: { 'method.response.header.Retry-After': "'1'", ...problemContentType },
              responseTemplates: { 'application/json': tpl.putEventsError },
            },
          ],
        },
      }),
      {
        requestValidator: validator,
        requestModels: { 'application/json': createModel },
        methodResponses: [
          { statusCode: '202', responseParameters: { 'method.response.header.Location': true, 'method.response.header.Retry-After': true, ...problemHeaders } },
          { statusCode: '503', responseParameters: { 'method.response.header.Retry-After': true, ...problemHeaders } },
        ],
      },
    );
    orders.addMethod(
      'PUT',
      new apigw.AwsIntegration({
        service: 'states',
        action: 'StartSyncExecution',
        integrationHttpMethod: 'POST',
        options: {
          credentialsRole: integrationRole,
          passthroughBehavior: apigw.PassthroughBehavior.NEVER,
          timeout: API_INTEGRATION_TIMEOUT,
          requestTemplates: { 'application/json': tpl.startSyncRequest(stateMachine.stateMachineArn) },
          integrationResponses: [
            { statusCode: '200', selectionPattern: '2\\d{2}', responseTemplates: { 'application/json': tpl.startSyncResponse } },
            {
              statusCode: '503',
              selectionPattern: '[45]\\d{2}',
              responseParameters: { 'method.response.header.Retry-After': "'1'", ...problemContentType },
              responseTemplates: { 'application/json': tpl.startSyncError },
            },
          ],
        },
      }),
      {
        requestValidator: validator,
        requestModels: { 'application/json': cancelModel },
        methodResponses: [
          { statusCode: '200', responseParameters: problemHeaders },
          { statusCode: '503', responseParameters: { 'method.response.header.Retry-After': true, ...problemHeaders } },
        ],
      },
    );
    const list = new apigw.LambdaIntegration(listOrders);
    orders.addMethod('GET', list);
    orders.addResource('{id}').addMethod('GET', list);

    new CfnOutput(this, 'ApiUrl', { value: this.api.urlForPath('/orders') });
    for (const q of this.dlqs) {
      new CfnOutput(this, `${q.node.id}Url`, { value: q.queueUrl });
    }
  }
}
