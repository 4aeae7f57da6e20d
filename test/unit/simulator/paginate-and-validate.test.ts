import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../../src/simulator/config.ts';
import type { Ctx } from '../../../src/simulator/engine.ts';
import { BadTokenError, paginate, timeKey, type Page } from '../../../src/simulator/paginate.ts';
import { createPrng } from '../../../src/simulator/prng.ts';
import { shapes, tagList, validateInput } from '../../../src/simulator/validate.ts';
import { emptyWorld } from '../../../src/simulator/world.ts';

function ctx(operation: string, shortPageRate = 0): Ctx {
  const config = defaultConfig();
  config.pagination.shortPageRate = shortPageRate;
  config.pagination.shortPageOperations = [operation];
  return {
    world: emptyWorld('123456789012', 1),
    config,
    prng: createPrng(7),
    now: 0,
    accountId: '123456789012',
    region: 'us-east-1',
    caller: 'test',
    operation,
    violation: () => undefined,
  };
}

const item = (n: number) => ({ id: `i-${String(n).padStart(3, '0')}`, at: n });
const key = (i: { id: string; at: number }) => timeKey(i.at, i.id);

function all(c: Ctx, items: { id: string; at: number }[], max: number | undefined): Page<{ id: string }>[] {
  const pages: Page<{ id: string }>[] = [];
  let token: string | undefined;
  do {
    const page = paginate(c, items, key, max, token);
    pages.push(page);
    token = page.nextToken;
  } while (token !== undefined);
  return pages;
}

void describe('paginate', () => {
  void test('pages of MaxResults return every item once and the last page has no NextToken', () => {
    const items = Array.from({ length: 7 }, (_, i) => item(i));
    const pages = all(ctx('ListServices'), items, 3);
    assert.deepEqual(
      pages.map((p) => p.items.length),
      [3, 3, 1],
    );
    assert.equal(pages.at(-1)?.nextToken, undefined);
  });

  void test('an item added between pages does not shift the pages already read', () => {
    const c = ctx('ListServices');
    const items = [item(1), item(2), item(3), item(4)];
    const first = paginate(c, items, key, 2, undefined);
    items.unshift(item(0));
    const second = paginate(c, items, key, 2, first.nextToken);
    assert.deepEqual(
      second.items.map((i) => i.id),
      ['i-003', 'i-004'],
    );
  });

  void test('short pages are shorter than both MaxResults and what is left, and still cover everything', () => {
    const items = Array.from({ length: 5 }, (_, i) => item(i));
    const pages = all(ctx('ListServices', 1), items, 20);
    assert.ok(pages.length >= 2);
    assert.ok(pages.every((p) => p.items.length < 5));
    assert.equal(pages.flatMap((p) => p.items).length, 5);
  });

  const badTokens = [
    { reason: 'not base64 JSON', token: '%%%' },
    {
      reason: 'issued for another operation',
      token: Buffer.from('{"o":"ListVpcConnectors","k":"x"}').toString('base64url'),
    },
  ];
  for (const { reason, token } of badTokens) {
    void test(`a token ${reason} is refused`, () => {
      assert.throws(() => paginate(ctx('ListServices'), [item(1)], key, 1, token), BadTokenError);
    });
  }
});

void describe('validateInput', () => {
  const members = {
    VpcConnectorName: { rule: shapes.VpcConnectorName, required: true },
    Tags: { rule: tagList },
  };
  const cases = [
    {
      reason: 'a missing required member is named',
      input: {},
      message: /Value null at 'VpcConnectorName' failed to satisfy constraint: Member must not be null/,
    },
    {
      reason: 'the pattern is anchored, so a trailing invalid character fails',
      input: { VpcConnectorName: 'good-name!' },
      message:
        /at 'VpcConnectorName' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    },
    {
      reason: 'nested list members carry their path',
      input: { VpcConnectorName: 'good-name', Tags: [{ Key: 'aws:reserved', Value: 'x' }] },
      message: /at 'Tags\.1\.member\.Key'/,
    },
    {
      reason: 'every problem is listed with a count',
      input: { VpcConnectorName: 'ab', Tags: [{ Value: 'x' }] },
      message: /^2 validation errors detected: /,
    },
  ];
  for (const c of cases) {
    void test(c.reason, () => {
      assert.throws(
        () => {
          validateInput(members, c.input);
        },
        { name: 'Error', code: 'InvalidRequestException', message: c.message },
      );
    });
  }

  void test('a valid input passes', () => {
    validateInput(members, { VpcConnectorName: 'conn_01-a', Tags: [{ Key: 'team', Value: '' }] });
  });
});
