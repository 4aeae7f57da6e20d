// The Argo CD health checks in deploy/argocd, run by tools/gitops-check with the Lua interpreter Argo CD
// embeds and the libraries Argo CD opens, against their fixtures in Argo CD's own health_test.yaml format.
// The driver must also fail: each broken copy below must make it exit non-zero and name the case.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { Kind } from '../../../src/api/constants.ts';
import { argocdDir, buildGitopsCheck, healthScript, kstatus, runGitopsCheck } from './gitops-check.ts';

interface HealthTests {
  tests: { healthStatus: { status: string; message: string }; inputPath: string }[];
}

interface FixtureObject {
  metadata: { generation?: number; deletionTimestamp?: string };
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; observedGeneration?: number }[];
  };
}

const kindDir = (dir: string, kind: string): string => join(dir, 'apprunnernet.dev', kind);
const readYaml = (path: string): unknown => parse(readFileSync(path, 'utf8'));

describe('the Argo CD health checks of deploy/argocd', () => {
  let bin: string | { skip: string };
  let scratch: string;
  before(() => {
    bin = buildGitopsCheck();
    scratch = mkdtempSync(join(tmpdir(), 'apprunner-net-gitops-'));
  });
  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  test('every health.lua reports exactly what its health_test.yaml expects, run the way Argo CD runs it', async (t) => {
    if (typeof bin !== 'string') {
      t.skip(bin.skip);
      return;
    }
    const run = await runGitopsCheck(bin, ['lua-health', argocdDir]);
    assert.equal(run.code, 0, `${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /lua-health: \d+ cases matched, 0 did not, in 2 scripts/);
  });

  test('the fixtures of each kind cover Healthy, Progressing, Degraded, a blocked deletion and Ready=True of an older generation', () => {
    for (const kind of [Kind.VpcConnector, Kind.ServiceNetworking]) {
      const dir = kindDir(argocdDir, kind);
      const cases = (readYaml(join(dir, 'health_test.yaml')) as HealthTests).tests.map((c) => ({
        expected: c.healthStatus,
        object: readYaml(join(dir, c.inputPath)) as FixtureObject,
      }));
      const statuses = new Set(cases.map((c) => c.expected.status));
      assert.deepEqual([...statuses].sort(), ['Degraded', 'Healthy', 'Progressing'], kind);
      const isTrue = (o: FixtureObject, type: string): boolean =>
        o.status?.conditions?.some((c) => c.type === type && c.status === 'True') === true;
      assert.ok(
        cases.some(
          (c) =>
            c.object.metadata.deletionTimestamp !== undefined &&
            isTrue(c.object, 'DeletionBlocked') &&
            c.expected.status === 'Progressing',
        ),
        `${kind}: a deletion blocked by something the message names`,
      );
      const stale = cases.filter(
        (c) =>
          isTrue(c.object, 'Ready') &&
          (c.object.status?.observedGeneration ?? 0) < (c.object.metadata.generation ?? 0),
      );
      assert.ok(stale.length > 0, `${kind}: Ready=True for an older generation`);
      for (const c of stale) assert.equal(c.expected.status, 'Progressing', `${kind}: stale is not Healthy`);
      assert.ok(
        cases.some((c) => c.object.status === undefined && c.expected.status === 'Progressing'),
        `${kind}: an object the operator has not seen yet`,
      );
    }
  });

  test('kstatus, given the same fixtures as a List, agrees with each expectation (except on what it cannot judge)', async (t) => {
    if (typeof bin !== 'string') {
      t.skip(bin.skip);
      return;
    }
    for (const kind of [Kind.VpcConnector, Kind.ServiceNetworking]) {
      const dir = kindDir(argocdDir, kind);
      const cases = (readYaml(join(dir, 'health_test.yaml')) as HealthTests).tests.map((c) => ({
        ...c,
        object: readYaml(join(dir, c.inputPath)) as FixtureObject,
      }));
      const verdicts = await kstatus(bin, { kind: 'List', items: cases.map((c) => c.object) });
      assert.equal(verdicts.length, cases.length);
      for (const [i, c] of cases.entries()) {
        // What kstatus cannot judge: an object without status reads as Current, any deletion as Terminating,
        // and only status.observedGeneration counts (not the Ready condition's, which the Argo CD check reads).
        const generation = c.object.metadata.generation ?? 0;
        const readyIsOlder = c.object.status?.conditions?.some(
          (cond) => cond.type === 'Ready' && (cond.observedGeneration ?? generation) < generation,
        );
        const expected =
          c.object.status === undefined
            ? 'Current'
            : c.object.metadata.deletionTimestamp !== undefined
              ? 'Terminating'
              : readyIsOlder === true && c.object.status.observedGeneration === generation
                ? 'Current'
                : { Healthy: 'Current', Progressing: 'InProgress', Degraded: 'Failed' }[
                    c.healthStatus.status
                  ];
        assert.equal(verdicts[i]?.status, expected, `${kind} ${c.inputPath}: ${JSON.stringify(verdicts[i])}`);
      }
    }
  });

  test('deploy/argocd/argocd-cm-patch.yaml installs each kind’s health.lua unchanged', () => {
    const patch = readYaml(join(argocdDir, 'argocd-cm-patch.yaml')) as {
      metadata: { name: string };
      data: Record<string, string>;
    };
    assert.equal(patch.metadata.name, 'argocd-cm');
    assert.deepEqual(Object.keys(patch.data).sort(), [
      'resource.customizations.health.apprunnernet.dev_ServiceNetworking',
      'resource.customizations.health.apprunnernet.dev_VpcConnector',
    ]);
    for (const kind of [Kind.VpcConnector, Kind.ServiceNetworking]) {
      assert.equal(
        patch.data[`resource.customizations.health.apprunnernet.dev_${kind}`],
        readFileSync(healthScript(kind), 'utf8'),
        `the patch's ${kind} script differs from ${healthScript(kind)}`,
      );
    }
  });

  /** A copy of the VpcConnector check, broken one way; the driver must fail and print `fails`. */
  const broken: { reason: string; breakIt(dir: string): void; fails: RegExp }[] = [
    {
      reason: 'an expected status is wrong',
      breakIt(dir) {
        const file = join(dir, 'health_test.yaml');
        writeFileSync(file, readFileSync(file, 'utf8').replace('status: Healthy', 'status: Degraded'));
      },
      fails: /^FAIL apprunnernet\.dev\/VpcConnector testdata\/healthy\.yaml: want Degraded .*, got Healthy/m,
    },
    {
      reason: 'an expected message is wrong',
      breakIt(dir) {
        const file = join(dir, 'health_test.yaml');
        writeFileSync(
          file,
          readFileSync(file, 'utf8').replace(
            'message: Creating connector team-a-shared in us-east-1.',
            'message: Creating connector team-a-other in us-east-1.',
          ),
        );
      },
      fails:
        /^FAIL apprunnernet\.dev\/VpcConnector testdata\/progressing_creating\.yaml: want Progressing "Creating connector team-a-other/m,
    },
    {
      reason: 'a health.lua has no health_test.yaml',
      breakIt(dir) {
        rmSync(join(dir, 'health_test.yaml'));
      },
      fails: /^FAIL apprunnernet\.dev\/VpcConnector: every health\.lua needs a health_test\.yaml/m,
    },
    {
      reason: 'a script needs the string library, which Argo CD does not open',
      breakIt(dir) {
        writeFileSync(join(dir, 'health.lua'), 'return { status = string.format("%s", "Healthy") }\n');
      },
      fails: /^FAIL apprunnernet\.dev\/VpcConnector testdata\/healthy\.yaml: running the health script/m,
    },
    {
      reason: 'a script returns a status Argo CD does not know',
      breakIt(dir) {
        writeFileSync(join(dir, 'health.lua'), 'return { status = "Fine", message = "ok" }\n');
      },
      fails:
        /^FAIL apprunnernet\.dev\/VpcConnector testdata\/healthy\.yaml: want Healthy .*, got Unknown "Lua returned an invalid health status"/m,
    },
  ];

  test('an unbroken copy passes (so the failures below come from what each case breaks)', async (t) => {
    if (typeof bin !== 'string') {
      t.skip(bin.skip);
      return;
    }
    const dir = join(scratch, 'unbroken');
    cpSync(kindDir(argocdDir, Kind.VpcConnector), kindDir(dir, Kind.VpcConnector), { recursive: true });
    const run = await runGitopsCheck(bin, ['lua-health', dir]);
    assert.equal(run.code, 0, run.stdout);
  });

  for (const [i, c] of broken.entries()) {
    test(`the driver fails when ${c.reason}`, async (t) => {
      if (typeof bin !== 'string') {
        t.skip(bin.skip);
        return;
      }
      const dir = join(scratch, `broken-${i}`);
      cpSync(kindDir(argocdDir, Kind.VpcConnector), kindDir(dir, Kind.VpcConnector), { recursive: true });
      c.breakIt(kindDir(dir, Kind.VpcConnector));
      const run = await runGitopsCheck(bin, ['lua-health', dir]);
      assert.equal(run.code, 1, `${run.stdout}${run.stderr}`);
      assert.match(run.stdout, c.fails);
    });
  }
});
