// Connector names the operator chooses must always be names AWS accepts (semantics §4).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pattern } from '../../../src/api/common.ts';
import { defaultConnectorName, isNameOf, rotatedConnectorName } from '../../../src/api/naming.ts';

const valid = new RegExp(Pattern.connectorName);

void describe('connector naming', () => {
  const defaults = [
    {
      reason: 'a short pair is joined with a dash',
      namespace: 'team-a',
      name: 'web',
      expected: 'team-a-web',
    },
    {
      reason: 'dots of a DNS subdomain name become dashes',
      namespace: 'prod',
      name: 'api.v2',
      expected: 'prod-api-v2',
    },
    { reason: 'a pair under 4 characters is padded', namespace: 'a', name: 'b', expected: 'a-b-vpc' },
  ];
  for (const c of defaults) {
    void it(`derives a default name: ${c.reason}`, () => {
      assert.equal(defaultConnectorName(c.namespace, c.name), c.expected);
    });
  }

  void it('shortens a long pair to 40 characters with a hash, keeping two long names apart', () => {
    const a = defaultConnectorName('a-very-long-namespace-name', 'a-very-long-object-name-one');
    const b = defaultConnectorName('a-very-long-namespace-name', 'a-very-long-object-name-two');
    assert.ok(a.length <= 40 && valid.test(a), a);
    assert.notEqual(a, b);
  });

  void it('names a rotation with the generation and stays within 40 characters', () => {
    assert.equal(rotatedConnectorName('team-a-web', 7), 'team-a-web-g7');
    const long = rotatedConnectorName('x'.repeat(40), 123);
    assert.equal(long.length, 40);
    assert.ok(valid.test(long));
  });

  const matches = [
    { reason: 'the base itself', actual: 'team-a-web', base: 'team-a-web', expected: true },
    { reason: 'a rotation of the base', actual: 'team-a-web-g12', base: 'team-a-web', expected: true },
    {
      reason: 'a rotation of a long, truncated base',
      actual: rotatedConnectorName('y'.repeat(40), 9),
      base: 'y'.repeat(40),
      expected: true,
    },
    { reason: 'another name', actual: 'team-b-web', base: 'team-a-web', expected: false },
    { reason: 'a rotation of another base', actual: 'team-a-api-g3', base: 'team-a-web', expected: false },
  ];
  for (const c of matches) {
    void it(`recognises ${c.reason} as ${c.expected ? 'the' : 'not the'} spec name`, () => {
      assert.equal(isNameOf(c.actual, c.base), c.expected);
    });
  }
});
