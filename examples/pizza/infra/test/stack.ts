// The stack synthesised once for the tests, with stand-in function zips.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PizzaStack, PizzaStackProps } from '../lib/pizza-stack';

export const aslPath = path.join(__dirname, '..', '..', 'cancel-order.asl.json');

/** A directory of stand-in function zips: the assertions do not need the real binaries. */
export function assetDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pizza-assets-'));
  for (const f of ['create-order', 'cancel-order', 'list-orders', 'migrate']) {
    fs.writeFileSync(path.join(dir, `${f}.zip`), `stand-in for ${f}`);
  }
  return dir;
}

/** Synthesises a PizzaStack. */
export function stackTemplate(props: Partial<PizzaStackProps> = {}, context: Record<string, string> = {}): Template {
  const app = new App({ context });
  const stack = new PizzaStack(app, 'PizzaShop', { assetDir: assetDir(), aslPath, env: { account: '111122223333', region: 'us-east-1' }, ...props });
  return Template.fromStack(stack);
}

/** The properties of the one AWS-integration method for httpMethod. */
export function awsMethod(t: Template, httpMethod: string): any {
  const all = t.findResources('AWS::ApiGateway::Method', { Properties: { HttpMethod: httpMethod } });
  const found = Object.values(all).filter((m: any) => m.Properties.Integration?.Type === 'AWS');
  assert.equal(found.length, 1, `one AWS integration for ${httpMethod}`);
  return (found[0] as any).Properties;
}
