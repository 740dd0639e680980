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
import { Construct } from 'constructs';
import * as tpl from './templates';

export interface PizzaStackProps extends StackProps {
  /** Directory holding create-order.zip, cancel-order.zip, list-orders.zip and migrate.zip. */
  assetDir: string;
  /** The cancel workflow's ASL, exported from the Go definition (tools/aslgen). */
  aslPath: string;
}

/** The database user the functions connect as, through RDS Proxy with IAM auth. */
export const DB_USER = 'pizza_admin';
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
      removalPolicy: RemovalPolicy.SNAPSHOT,
    });
    const proxy = cluster.addProxy('Proxy', { secrets: [cluster.secret!], vpc, vpcSubnets: subnets, iamAuth: true, requireTLS: true });
    const functionsSg = new ec2.SecurityGroup(this, 'FunctionsSg', { vpc, allowAllOutbound: false, description: 'pizza functions: Postgres only' });
    functionsSg.addEgressRule(ec2.Peer.ipv4(vpc.vpcCidrBlock), ec2.Port.tcp(5432), 'to RDS Proxy');
    proxy.connections.allowFrom(functionsSg, ec2.Port.tcp(5432), 'pizza functions');

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
        securityGroups: [functionsSg],
        environment: { PIZZA_DB_HOST: proxy.endpoint, PIZZA_DB_USER: DB_USER, PIZZA_DB_NAME: 'pizza', PIZZA_SCHEMA: 'pizza' },
        logGroup: new logs.LogGroup(this, `${name}Logs`, { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY }),
      });
      proxy.grantConnect(f, DB_USER);
      return f;
    };
    const createOrder = fn('create-order', Duration.seconds(10));
    const cancelOrder = fn('cancel-order', Duration.seconds(3)); // <= CancelOrder's TimeoutSeconds: no attempt outlives its state
    const listOrders = fn('list-orders', Duration.seconds(10));
    const migrate = fn('migrate', Duration.minutes(2));

    // Migrations at deploy time.
    const provider = new cr.Provider(this, 'MigrationsProvider', { onEventHandler: migrate });
    const migrations = new CustomResource(this, 'Migrations', {
      serviceToken: provider.serviceToken,
      properties: { asl: fs.readFileSync(props.aslPath, 'utf8').length },
    });
    migrations.node.addDependency(cluster, proxy);

    // Dead-letter queues, each with an alarm on its depth.
    const queue = (name: string) =>
      new sqs.Queue(this, name, { retentionPeriod: Duration.days(14), encryption: sqs.QueueEncryption.SQS_MANAGED, enforceSSL: true });
    const eventsDlq = queue('CreateOrderEventsDlq'); // EventBridge could not deliver to the function
    const createFailures = queue('CreateOrderFailures'); // the function failed after its retries
    const cancelDlq = queue('CancelOrderDlq'); // the cancel workflow caught a failure
    this.dlqs = [eventsDlq, createFailures, cancelDlq];
    for (const q of this.dlqs) {
      new cloudwatch.Alarm(this, `${q.node.id}Depth`, {
        alarmDescription: `Dead letters in ${q.node.id}: inspect and replay them with storagefirst dlq`,
        metric: q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
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
    this.api = new apigw.RestApi(this, 'Api', { restApiName: 'pizza', deployOptions: { stageName: 'prod' } });
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
    this.api.addGatewayResponse('BadBody', {
      type: apigw.ResponseType.BAD_REQUEST_BODY,
      statusCode: '400',
      templates: {
        'application/json':
          '{"type":"https://github.com/storagefirst/storagefirst-go/problems/invalid-body","title":"Bad Request","status":400,"detail":"$context.error.validationErrorString"}',
      },
    });

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
              responseParameters: { 'method.response.header.Retry-After': "'1'" },
              responseTemplates: { 'application/json': tpl.putEventsError },
            },
          ],
        },
      }),
      {
        requestValidator: validator,
        requestModels: { 'application/json': createModel },
        methodResponses: [
          { statusCode: '202' },
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
            { statusCode: '502', selectionPattern: '[45]\\d{2}', responseTemplates: { 'application/json': tpl.startSyncError } },
          ],
        },
      }),
      {
        requestValidator: validator,
        requestModels: { 'application/json': cancelModel },
        methodResponses: [{ statusCode: '200' }, { statusCode: '502', responseParameters: problemHeaders }],
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
