#!/usr/bin/env node
// The CDK app: one stack, the pizza shop. Build the functions first
// (go run ./examples/pizza/tools/build), then: npm run deploy.
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { PizzaStack } from '../lib/pizza-stack';

const app = new App();
new PizzaStack(app, 'PizzaShop', {
  assetDir: path.join(__dirname, '..', '..', 'dist'),
  aslPath: path.join(__dirname, '..', '..', 'cancel-order.asl.json'),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
