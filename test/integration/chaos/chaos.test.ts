// The chaos suite's short profile in CI: operator kills at random instants and between an AWS mutation and
// its status write, every AWS fault kind once, watches cut and 409s, one kube-apiserver restart, one leader
// failover; then every invariant of DESIGN.md §4 is checked. The long profile is `npm run chaos -- --profile long`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { profiles } from '../../chaos/profiles.ts';
import { renderReport } from '../../chaos/report.ts';
import { runChaos } from '../../chaos/runner.ts';

void test(
  'the short chaos profile ends with every object gone and no invariant violated',
  { timeout: 15 * 60_000 },
  async (t) => {
    const report = await runChaos({
      profile: profiles.short,
      seed: 20261201,
      log: (line) => {
        t.diagnostic(line);
      },
    });
    const text = renderReport(report, 'this machine');
    assert.deepEqual(
      report.violations.map((v) => `${v.invariant}: ${v.detail}`),
      [],
      text,
    );
    assert.ok(report.kills.betweenCallAndWrite + report.kills.random >= profiles.short.minKills, text);
    assert.equal(report.failovers.length, 1, text);
    assert.equal(report.apiServerDowntimeMs.length, 1, text);
  },
);
