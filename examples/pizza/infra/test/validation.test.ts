// The API's JSON-schema model for POST /orders is held to the same table of cases
// as the Go validation (examples/pizza/shop/testdata/create-order-cases.json,
// checked by the shop's TestCreateValidationTable): an order API Gateway accepts
// is one the consumer accepts too.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { stackTemplate } from './stack';

const casesPath = path.join(__dirname, '..', '..', '..', 'shop', 'testdata', 'create-order-cases.json');

function model(name: string): object {
  const models = Object.values(stackTemplate().findResources('AWS::ApiGateway::Model', { Properties: { Name: name } })) as any[];
  assert.equal(models.length, 1);
  const { $schema, ...schema } = models[0].Properties.Schema; // draft-04; these keywords mean the same in Ajv's draft
  assert.equal($schema, 'http://json-schema.org/draft-04/schema#');
  return schema;
}

test('the CreateOrder model accepts exactly the requests the Go validation accepts', () => {
  const cases: { name: string; body: unknown; valid: boolean }[] = JSON.parse(fs.readFileSync(casesPath, 'utf8'));
  assert.ok(cases.length >= 20);
  // Ajv counts maxLength in code points, as JSON Schema says and API Gateway does.
  const validate = new Ajv({ strict: true, allErrors: true }).compile(model('CreateOrder'));
  for (const c of cases) {
    assert.equal(validate(c.body), c.valid, `${c.name}: ${JSON.stringify(validate.errors)}`);
  }
});
