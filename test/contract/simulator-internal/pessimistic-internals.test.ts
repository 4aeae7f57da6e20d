// The pessimistic profile from the simulator's side: where the unsupported-zone failure is recorded,
// what the profile resolves to, how its knobs are checked, and that a settling delete survives a restart.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteVpcConnectorCommand, DescribeVpcConnectorCommand } from '@aws-sdk/client-apprunner';
import { pessimisticProfile } from '../../../src/simulator/index.ts';
import { SETTLE, serviceArn, startSim } from './support.ts';

interface StateOperation {
  Status: string;
  failureReason?: string;
}

void describe('Unsupported Availability Zones', () => {
  void test('the failed operation records every unsupported subnet with its zone name and id, and no ENI is made', async (t) => {
    const sim = await startSim(t, {
      config: { behaviour: { unsupportedAvailabilityZones: { 'us-east-1': ['us-east-1b'] } } },
    });
    const svc = serviceArn(sim, 'svc-one');
    const connector = await sim.connector('half-bad');
    await sim.attach(svc, connector);
    sim.clock.now += SETTLE;
    const state = (await sim.admin('GET', 'state')) as {
      regions: Record<
        string,
        { services: { arn: string; operations: StateOperation[] }[]; networkInterfaces: unknown[] }
      >;
    };
    const region = state.regions['us-east-1'];
    const [op] = region?.services.find((s) => s.arn === svc)?.operations ?? [];
    assert.equal(op?.Status, 'ROLLBACK_SUCCEEDED');
    assert.equal(
      op.failureReason,
      `VPC connector ${connector} has subnets in Availability Zones that App Runner doesn't support: subnet-00000000000000012 (us-east-1b, use1-az2). Remove these subnets from the VPC connector, or replace them with subnets in supported Availability Zones.`,
    );
    assert.deepEqual(region?.networkInterfaces, []);
  });
});

void describe('Profile resolution and checks', () => {
  void test('the profile resolves to its published values, and knobs given with it override them', async (t) => {
    const sim = await startSim(t, {
      config: { profile: 'pessimistic', consistency: { connectorDeleteDelayMs: 0 } },
    });
    const { config } = (await sim.admin('GET', 'config')) as {
      config: {
        profile: string;
        consistency: Record<string, number>;
        pagination: Record<string, unknown>;
        behaviour: Record<string, unknown>;
        faults: { latency: unknown };
      };
    };
    assert.equal(config.profile, 'pessimistic');
    assert.deepEqual(config.consistency, { ...pessimisticProfile.consistency, connectorDeleteDelayMs: 0 });
    assert.deepEqual(config.faults.latency, pessimisticProfile.faults?.latency);
    for (const [key, value] of Object.entries(pessimisticProfile.pagination ?? {})) {
      assert.deepEqual(config.pagination[key], value, `pagination.${key}`);
    }
    for (const [key, value] of Object.entries(pessimisticProfile.behaviour ?? {})) {
      assert.deepEqual(config.behaviour[key], value, `behaviour.${key}`);
    }
  });

  const refusals: { reason: string; patch: unknown; message: RegExp }[] = [
    {
      reason: 'an unknown profile',
      patch: { profile: 'optimistic' },
      message: /profile must be one of default, pessimistic/,
    },
    {
      reason: 'zones that are not lists of names',
      patch: { behaviour: { unsupportedAvailabilityZones: { 'us-east-1': 'us-east-1e' } } },
      message: /behaviour\.unsupportedAvailabilityZones must map regions to lists/,
    },
    {
      reason: 'an unknown way to refuse a zone',
      patch: { behaviour: { unsupportedAvailabilityZoneFailure: 'ignore' } },
      message: /unsupportedAvailabilityZoneFailure must be one of fail-operation, invalid-request/,
    },
    {
      reason: 'an empty-page rate above 1',
      patch: { pagination: { emptyPageRate: 1.5 } },
      message: /pagination\.emptyPageRate must be a number in \[0, 1\]/,
    },
  ];
  for (const { reason, patch, message } of refusals) {
    void test(`the admin API refuses ${reason} and keeps the config`, async (t) => {
      const sim = await startSim(t);
      const before = await sim.admin('GET', 'config');
      await assert.rejects(sim.admin('POST', 'faults', patch), message);
      assert.deepEqual(await sim.admin('GET', 'config'), before);
    });
  }

  void test('the unsupported-zone map is replaced as a whole, not merged region by region', async (t) => {
    const sim = await startSim(t, { config: { profile: 'pessimistic' } });
    await sim.admin('POST', 'faults', {
      behaviour: { unsupportedAvailabilityZones: { 'eu-west-1': ['euw1-az3'] } },
    });
    const { config } = (await sim.admin('GET', 'config')) as {
      config: { behaviour: { unsupportedAvailabilityZones: unknown } };
    };
    assert.deepEqual(config.behaviour.unsupportedAvailabilityZones, { 'eu-west-1': ['euw1-az3'] });
  });
});

void describe('State file', () => {
  void test('a delete that is still settling keeps settling after a restart', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sim-pessimistic-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const stateFile = join(dir, 'world.json');
    const config = { consistency: { connectorDeleteDelayMs: 5000 } };
    const first = await startSim(t, { config, stateFile });
    const connector = await first.connector('settling');
    await first.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector }));
    await first.close();

    const second = await startSim(t, { config, stateFile, seed: false });
    const describe = async (): Promise<string | undefined> =>
      (await second.apprunner.send(new DescribeVpcConnectorCommand({ VpcConnectorArn: connector })))
        .VpcConnector?.Status;
    assert.equal(await describe(), 'ACTIVE');
    second.clock.now += 5000;
    assert.equal(await describe(), 'INACTIVE');
  });
});
