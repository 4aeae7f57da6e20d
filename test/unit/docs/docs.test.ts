// docs/ against the code: the generated files are up to date, and the hand-written references name every
// reason, condition type, metric and Event reason the code has.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Registry } from 'prom-client';
import { ConditionType, ServiceNetworkingReason, VpcConnectorReason } from '../../../src/api/constants.ts';
import { createSdkGateway } from '../../../src/aws/sdk-gateway.ts';
import { PersistentReason, TerminalReason } from '../../../src/controllers/shared/failures.ts';
import { createRuntimeMetrics } from '../../../src/runtime/metrics.ts';
import {
  generateDocs,
  root,
  spliceGenerated,
  STATECHARTS_END,
  STATECHARTS_START,
} from '../../../scripts/generate-docs.ts';

const read = (file: string): string => readFileSync(join(root, file), 'utf8');

/** The text of a `## heading` section, up to the next `## ` heading. */
function section(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `missing section "## ${heading}"`);
  const end = markdown.indexOf('\n## ', start + 1);
  return end < 0 ? markdown.slice(start) : markdown.slice(start, end);
}

/** Whether a table of `text` has a row whose first cell names `name` in code. */
function hasRow(text: string, name: string): boolean {
  return text.split('\n').some((line) => {
    const first = line.split(/(?<!\\)\|/)[1] ?? '';
    return first.includes(`\`${name}\``);
  });
}

void describe('generated docs', () => {
  void it('docs/api.md and the statecharts of docs/architecture.md match the code (run npm run generate:docs when this fails)', async () => {
    for (const [file, content] of await generateDocs()) {
      assert.equal(read(file), content, `${file} is stale: run npm run generate:docs`);
    }
  });

  void it('keeps the hand-written text around the generated markers', () => {
    const before = `# Title\n\nProse.\n\n${STATECHARTS_START}\nold\n${STATECHARTS_END}\n\nMore prose.\n`;
    assert.equal(
      spliceGenerated(before, 'new\n'),
      `# Title\n\nProse.\n\n${STATECHARTS_START}\n\nnew\n\n${STATECHARTS_END}\n\nMore prose.\n`,
    );
    assert.throws(() => spliceGenerated('# No markers\n', 'new\n'), /markers/);
  });

  void it('documents every state of both machines', () => {
    const architecture = read('docs/architecture.md');
    const generated = architecture.slice(
      architecture.indexOf(STATECHARTS_START),
      architecture.indexOf(STATECHARTS_END),
    );
    for (const heading of ['VpcConnector', 'ServiceNetworking']) {
      assert.ok(generated.includes(`### ${heading}`), `statechart of ${heading} missing`);
    }
  });
});

void describe('docs/conditions.md', () => {
  const conditions = read('docs/conditions.md');

  void it('describes every condition type', () => {
    const types = section(conditions, 'Condition types');
    for (const type of Object.values(ConditionType)) assert.ok(hasRow(types, type), `condition type ${type}`);
  });

  void it('describes every VpcConnector reason', () => {
    const reasons = section(conditions, 'VpcConnector reasons');
    for (const reason of new Set([
      ...Object.values(VpcConnectorReason),
      ...Object.values(PersistentReason),
    ])) {
      assert.ok(hasRow(reasons, reason), `VpcConnector reason ${reason} has no row in docs/conditions.md`);
    }
  });

  void it('describes every ServiceNetworking reason', () => {
    const reasons = section(conditions, 'ServiceNetworking reasons');
    for (const reason of new Set([
      ...Object.values(ServiceNetworkingReason),
      ...Object.values(PersistentReason),
    ])) {
      assert.ok(
        hasRow(reasons, reason),
        `ServiceNetworking reason ${reason} has no row in docs/conditions.md`,
      );
    }
  });
});

void describe('docs/metrics-and-events.md', () => {
  const doc = read('docs/metrics-and-events.md');

  void it('describes every metric the runtime and the AWS gateway register', async () => {
    const registry = new Registry();
    const metrics = createRuntimeMetrics({ registry });
    const gateway = createSdkGateway({ defaultRegion: 'us-east-1', registry: metrics.registry });
    try {
      const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
      assert.ok(names.length > 20, `only ${names.length} metrics registered`);
      for (const name of names) assert.ok(hasRow(doc, name), `metric ${name} has no row`);
    } finally {
      gateway.destroy();
    }
  });

  void it('describes every Event reason the reconcilers and failure reports name', () => {
    const events = section(doc, 'Events');
    const sources = ['vpcconnector', 'servicenetworking'].map((kind) =>
      read(`src/controllers/${kind}/reconciler.ts`),
    );
    const reasons = new Set<string>([...Object.values(TerminalReason), ...Object.values(PersistentReason)]);
    for (const source of sources) {
      // The second argument of pass.event(type, reason, action, note): a literal or a choice of literals.
      for (const m of source.matchAll(/pass\.event\(([^,]*),([^,]*),/g)) {
        for (const literal of (m[2] ?? '').matchAll(/'(\w+)'/g)) reasons.add(literal[1] ?? '');
      }
      // Warning Events of failure reports: `event: { reason: 'DeletionBlocked', ... }`.
      for (const m of source.matchAll(/event: \{ reason: '(\w+)'/g)) reasons.add(m[1] ?? '');
    }
    assert.ok(reasons.size > 15, `only ${reasons.size} Event reasons found in the reconcilers`);
    for (const reason of reasons) assert.ok(events.includes(`\`${reason}\``), `Event reason ${reason}`);
  });
});

void describe('docs/README.md', () => {
  void it('links every document of docs/ and those being written beside them', () => {
    const index = read('docs/README.md');
    const files = readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md') && f !== 'README.md');
    for (const file of new Set([...files, 'gitops.md', 'install-eks.md', 'demo.md'])) {
      assert.ok(index.includes(`](${file})`), `docs/README.md does not link ${file}`);
    }
  });
});
