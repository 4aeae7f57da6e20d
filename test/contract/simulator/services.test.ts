// App Runner services: asynchronous operations, ListOperations, state checks, NetworkConfiguration
// semantics, rollback and stuck operations, deleted services (semantics.md §5.6–5.10, §7.2, §7.3,
// §14 items 6–11).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeleteServiceCommand,
  DeleteVpcConnectorCommand,
  ListOperationsCommand,
  ListServicesCommand,
  PauseServiceCommand,
  ResumeServiceCommand,
  UpdateServiceCommand,
  type ServiceSummary,
} from '@aws-sdk/client-apprunner';
import {
  ACCOUNT,
  DEFAULT_EGRESS,
  EPOCH,
  HEX32,
  REGION,
  SEEDED_SERVICES,
  SETTLE_MS,
  TIMINGS,
  UUID_V4,
  WORLD,
  createConnector,
  createRunningService,
  describeService,
  expectAwsError,
  listAllOperations,
  startHarness,
  updateNetwork,
  updateNetworkAndSettle,
  vpcEgress,
} from './fixtures.ts';

void describe('Service shape', () => {
  void test('a service created through the API has a 32-hex id, an ARN of the real shape and default networking', async (t) => {
    const h = await startHarness(t);
    const service = await createRunningService(h, 'fresh-svc');
    assert.match(service.ServiceId ?? '', HEX32);
    assert.equal(
      service.ServiceArn,
      `arn:aws:apprunner:${REGION}:${ACCOUNT}:service/fresh-svc/${service.ServiceId}`,
    );
    assert.deepEqual(
      service.NetworkConfiguration,
      { EgressConfiguration: { EgressType: 'DEFAULT' } },
      'ingress and IP address type were never set, so they are left out (public, IPV4)',
    );
    assert.ok((service.ServiceUrl ?? '') !== '', 'a public service has a ServiceUrl');
    const operations = await listAllOperations(h.apprunner, service.ServiceArn);
    assert.equal(operations.length, 1);
    assert.equal(operations[0]?.Type, 'CREATE_SERVICE');
    assert.equal(operations[0].Status, 'SUCCEEDED');
  });

  void test('seeded services are RUNNING and listed', async (t) => {
    const h = await startHarness(t);
    for (const name of SEEDED_SERVICES) {
      const service = await describeService(h.apprunner, h.serviceArn(name));
      assert.equal(service.Status, 'RUNNING', name);
      assert.equal(service.ServiceName, name);
    }
  });
});

void describe('UpdateService is asynchronous', () => {
  void test('the response carries the new configuration, OPERATION_IN_PROGRESS and a v4 UUID operation id', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'async-a');
    const arn = h.serviceArn('svc-alpha');
    const { service, operationId } = await updateNetwork(
      h.apprunner,
      arn,
      vpcEgress(connector.VpcConnectorArn),
    );
    assert.match(operationId, UUID_V4);
    assert.equal(service.Status, 'OPERATION_IN_PROGRESS');
    assert.deepEqual(service.NetworkConfiguration?.EgressConfiguration, {
      EgressType: 'VPC',
      VpcConnectorArn: connector.VpcConnectorArn,
    });
    const described = await describeService(h.apprunner, arn);
    assert.equal(described.Status, 'OPERATION_IN_PROGRESS');
    const [latest] = await listAllOperations(h.apprunner, arn);
    assert.equal(latest?.Id, operationId);
    assert.equal(latest.Type, 'UPDATE_SERVICE');
    assert.ok(latest.Status === 'PENDING' || latest.Status === 'IN_PROGRESS', `got ${latest.Status}`);
    assert.equal(latest.TargetArn, arn);
    assert.equal(latest.EndedAt, undefined, 'an unfinished operation has no EndedAt');
  });

  void test('the first association of a subnet+SG combination adds the one-time delay; the second does not', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'first-assoc');
    const alpha = h.serviceArn('svc-alpha');
    const bravo = h.serviceArn('svc-bravo');

    await updateNetwork(h.apprunner, alpha, vpcEgress(connector.VpcConnectorArn));
    h.clock.advance(TIMINGS.operationMs + 1_000);
    assert.equal(
      (await describeService(h.apprunner, alpha)).Status,
      'OPERATION_IN_PROGRESS',
      'first association still waiting',
    );
    h.clock.advance(TIMINGS.firstAssociationMs);
    assert.equal((await describeService(h.apprunner, alpha)).Status, 'RUNNING');
    const [done] = await listAllOperations(h.apprunner, alpha);
    assert.equal(done?.Status, 'SUCCEEDED');
    assert.ok(done.EndedAt !== undefined, 'a finished operation has EndedAt');

    await updateNetwork(h.apprunner, bravo, vpcEgress(connector.VpcConnectorArn));
    h.clock.advance(TIMINGS.operationMs + 1_000);
    assert.equal(
      (await describeService(h.apprunner, bravo)).Status,
      'RUNNING',
      'same combination: no extra delay',
    );
  });

  void test('a plain update finishes after the configured operation time and not before', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-alpha');
    await updateNetwork(h.apprunner, arn, { IngressConfiguration: { IsPubliclyAccessible: false } });
    h.clock.advance(TIMINGS.operationMs - 1_000);
    assert.equal((await describeService(h.apprunner, arn)).Status, 'OPERATION_IN_PROGRESS');
    h.clock.advance(2_000);
    assert.equal((await describeService(h.apprunner, arn)).Status, 'RUNNING');
  });

  const busyCases = [
    { reason: 'an update is still in progress', setup: 'update' },
    { reason: 'a pause is still in progress', setup: 'pause' },
    { reason: 'a delete is in progress', setup: 'delete' },
  ] as const;
  for (const { reason, setup } of busyCases) {
    void test(`UpdateService answers InvalidStateException when ${reason}`, async (t) => {
      const h = await startHarness(t);
      const arn = h.serviceArn('svc-alpha');
      if (setup === 'update')
        await updateNetwork(h.apprunner, arn, { IngressConfiguration: { IsPubliclyAccessible: false } });
      if (setup === 'pause') await h.apprunner.send(new PauseServiceCommand({ ServiceArn: arn }));
      if (setup === 'delete') await h.apprunner.send(new DeleteServiceCommand({ ServiceArn: arn }));
      await expectAwsError(updateNetwork(h.apprunner, arn, DEFAULT_EGRESS), {
        name: 'InvalidStateException',
        status: 400,
      });
    });
  }

  void test('UpdateService on a DELETED service answers InvalidStateException', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-charlie');
    await h.apprunner.send(new DeleteServiceCommand({ ServiceArn: arn }));
    h.clock.advance(SETTLE_MS);
    assert.equal((await describeService(h.apprunner, arn)).Status, 'DELETED');
    await expectAwsError(updateNetwork(h.apprunner, arn, DEFAULT_EGRESS), {
      name: 'InvalidStateException',
      status: 400,
    });
  });

  void test('a PAUSED service can be updated, and pause/resume are recorded as operations', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-alpha');
    const paused = await h.apprunner.send(new PauseServiceCommand({ ServiceArn: arn }));
    assert.match(paused.OperationId ?? '', UUID_V4);
    h.clock.advance(SETTLE_MS);
    assert.equal((await describeService(h.apprunner, arn)).Status, 'PAUSED');
    await updateNetwork(h.apprunner, arn, { IngressConfiguration: { IsPubliclyAccessible: false } });
    h.clock.advance(SETTLE_MS);
    const afterUpdate = await describeService(h.apprunner, arn);
    assert.notEqual(afterUpdate.Status, 'OPERATION_IN_PROGRESS');
    assert.equal(afterUpdate.NetworkConfiguration?.IngressConfiguration?.IsPubliclyAccessible, false);
    await h.apprunner.send(new ResumeServiceCommand({ ServiceArn: arn }));
    h.clock.advance(SETTLE_MS);
    assert.equal((await describeService(h.apprunner, arn)).Status, 'RUNNING');
    const types = (await listAllOperations(h.apprunner, arn)).map((o) => o.Type);
    assert.deepEqual(types.slice(0, 3), ['RESUME_SERVICE', 'UPDATE_SERVICE', 'PAUSE_SERVICE']);
  });
});

void describe('ListOperations', () => {
  void test('operations come newest first and a NextToken loop with pages of 2 returns all of them once', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-alpha');
    const ids: string[] = [];
    for (const isPublic of [false, true, false, true, false]) {
      ids.push(
        (await updateNetwork(h.apprunner, arn, { IngressConfiguration: { IsPubliclyAccessible: isPublic } }))
          .operationId,
      );
      h.clock.advance(SETTLE_MS);
    }
    const seen: string[] = [];
    const started: number[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await h.apprunner.send(
        new ListOperationsCommand({ ServiceArn: arn, MaxResults: 2, NextToken: nextToken }),
      );
      const items = page.OperationSummaryList ?? [];
      assert.ok(items.length <= 2);
      seen.push(...items.map((o) => o.Id ?? ''));
      started.push(...items.map((o) => o.StartedAt?.getTime() ?? 0));
      nextToken = page.NextToken;
      pages += 1;
      assert.ok(pages <= 10, 'pagination terminates');
    } while (nextToken !== undefined);
    assert.deepEqual(seen.slice(0, 5), [...ids].reverse(), 'newest first');
    assert.equal(new Set(seen).size, seen.length, 'no operation twice');
    assert.deepEqual(
      started,
      [...started].sort((a, b) => b - a),
      'StartedAt descending',
    );
  });

  void test('ListOperations of an unknown service answers ResourceNotFoundException', async (t) => {
    const h = await startHarness(t);
    const arn = `arn:aws:apprunner:${REGION}:${ACCOUNT}:service/nobody/0123456789abcdef0123456789abcdef`;
    await expectAwsError(h.apprunner.send(new ListOperationsCommand({ ServiceArn: arn })), {
      name: 'ResourceNotFoundException',
      status: 400,
    });
  });
});

void describe('NetworkConfiguration semantics', () => {
  void test('ingress and IP address type are left out until a request sets them, and the service is public meanwhile', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'unset-ingress');
    const arn = h.serviceArn('svc-alpha');
    const seeded = await describeService(h.apprunner, arn);
    assert.deepEqual(seeded.NetworkConfiguration, { EgressConfiguration: { EgressType: 'DEFAULT' } });
    assert.ok((seeded.ServiceUrl ?? '') !== '', 'absent IngressConfiguration: a public endpoint');
    const attached = await updateNetworkAndSettle(h, arn, vpcEgress(connector.VpcConnectorArn));
    assert.deepEqual(
      attached.NetworkConfiguration,
      { EgressConfiguration: { EgressType: 'VPC', VpcConnectorArn: connector.VpcConnectorArn } },
      'an update of the egress alone sets neither',
    );
    const ingressSet = await updateNetworkAndSettle(h, arn, {
      IngressConfiguration: { IsPubliclyAccessible: true },
    });
    assert.deepEqual(ingressSet.NetworkConfiguration?.IngressConfiguration, { IsPubliclyAccessible: true });
    assert.equal(ingressSet.NetworkConfiguration.IpAddressType, undefined);
    const ipSet = await updateNetworkAndSettle(h, arn, { IpAddressType: 'IPV4' });
    assert.equal(ipSet.NetworkConfiguration?.IpAddressType, 'IPV4');
    assert.deepEqual(ipSet.NetworkConfiguration.IngressConfiguration, { IsPubliclyAccessible: true });
  });

  void test('a service seeded with an explicit ingress and IP address type answers both', async (t) => {
    const h = await startHarness(t);
    await h.admin.seed({
      regions: {
        [REGION]: {
          services: [{ serviceName: 'explicit-public', isPubliclyAccessible: true, ipAddressType: 'IPV4' }],
        },
      },
    });
    const { ServiceSummaryList: summaries = [] } = await h.apprunner.send(new ListServicesCommand({}));
    const arn = summaries.find((s) => s.ServiceName === 'explicit-public')?.ServiceArn ?? '';
    const service = await describeService(h.apprunner, arn);
    assert.deepEqual(service.NetworkConfiguration, {
      EgressConfiguration: { EgressType: 'DEFAULT' },
      IngressConfiguration: { IsPubliclyAccessible: true },
      IpAddressType: 'IPV4',
    });
  });

  void test('a rolled-back update restores an unset ingress as unset', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-alpha');
    await h.admin.faults({ rollbackNextUpdates: 1 });
    await updateNetwork(h.apprunner, arn, { IngressConfiguration: { IsPubliclyAccessible: false } });
    h.clock.advance(SETTLE_MS);
    const [op] = await listAllOperations(h.apprunner, arn);
    assert.equal(op?.Status, 'ROLLBACK_SUCCEEDED');
    const service = await describeService(h.apprunner, arn);
    assert.equal(service.NetworkConfiguration?.IngressConfiguration, undefined);
    assert.ok((service.ServiceUrl ?? '') !== '');
  });

  void test('IngressConfiguration {} means private: IsPubliclyAccessible false and an empty ServiceUrl', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-alpha');
    const service = await updateNetworkAndSettle(h, arn, { IngressConfiguration: {} });
    assert.equal(service.NetworkConfiguration?.IngressConfiguration?.IsPubliclyAccessible, false);
    assert.equal(service.ServiceUrl ?? '', '');
  });

  void test('making a private service public again gives it a ServiceUrl', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-alpha');
    await updateNetworkAndSettle(h, arn, { IngressConfiguration: { IsPubliclyAccessible: false } });
    const service = await updateNetworkAndSettle(h, arn, {
      IngressConfiguration: { IsPubliclyAccessible: true },
    });
    assert.ok((service.ServiceUrl ?? '') !== '');
  });

  void test('DUAL_STACK can be set and read back', async (t) => {
    const h = await startHarness(t);
    const service = await updateNetworkAndSettle(h, h.serviceArn('svc-alpha'), {
      IpAddressType: 'DUAL_STACK',
    });
    assert.equal(service.NetworkConfiguration?.IpAddressType, 'DUAL_STACK');
  });

  void test('attaching then detaching round-trips the egress configuration', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'round-trip');
    const arn = h.serviceArn('svc-alpha');
    const attached = await updateNetworkAndSettle(h, arn, vpcEgress(connector.VpcConnectorArn));
    assert.deepEqual(attached.NetworkConfiguration?.EgressConfiguration, {
      EgressType: 'VPC',
      VpcConnectorArn: connector.VpcConnectorArn,
    });
    const detached = await updateNetworkAndSettle(h, arn, DEFAULT_EGRESS);
    assert.equal(detached.NetworkConfiguration?.EgressConfiguration?.EgressType, 'DEFAULT');
    assert.equal(detached.NetworkConfiguration.EgressConfiguration.VpcConnectorArn, undefined);
  });

  const rejected = [
    {
      reason: 'VPC egress without a connector ARN',
      network: { EgressConfiguration: { EgressType: 'VPC' } },
    },
    {
      reason: 'DEFAULT egress with a connector ARN',
      network: {
        EgressConfiguration: {
          EgressType: 'DEFAULT',
          VpcConnectorArn: `arn:aws:apprunner:${REGION}:${ACCOUNT}:vpcconnector/x-conn/1/0123456789abcdef0123456789abcdef`,
        },
      },
    },
    {
      reason: 'VPC egress to a connector that does not exist',
      network: {
        EgressConfiguration: {
          EgressType: 'VPC',
          VpcConnectorArn: `arn:aws:apprunner:${REGION}:${ACCOUNT}:vpcconnector/x-conn/1/0123456789abcdef0123456789abcdef`,
        },
      },
    },
  ] as const;
  for (const { reason, network } of rejected) {
    void test(`UpdateService rejects ${reason} with InvalidRequestException and leaves the service RUNNING`, async (t) => {
      const h = await startHarness(t);
      const arn = h.serviceArn('svc-alpha');
      await expectAwsError(updateNetwork(h.apprunner, arn, network), {
        name: 'InvalidRequestException',
        status: 400,
      });
      assert.equal((await describeService(h.apprunner, arn)).Status, 'RUNNING');
    });
  }

  void test('VPC egress to a connector of another region is rejected', async (t) => {
    const h = await startHarness(t);
    const eu = h.clientsFor('eu-west-1');
    const connector = await createConnector(eu.apprunner, 'eu-conn', WORLD.otherRegion.subnets, [
      WORLD.otherRegion.securityGroup,
    ]);
    await expectAwsError(
      updateNetwork(h.apprunner, h.serviceArn('svc-alpha'), vpcEgress(connector.VpcConnectorArn)),
      {
        name: 'InvalidRequestException',
        status: 400,
      },
    );
  });
});

void describe('Failure injection on operations', () => {
  void test('a rolled-back update ends ROLLBACK_SUCCEEDED with the service RUNNING on the OLD network configuration', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'rollback');
    const arn = h.serviceArn('svc-alpha');
    const before = await describeService(h.apprunner, arn);
    await h.admin.faults({ rollbackNextUpdates: 1 });
    const { operationId } = await updateNetwork(h.apprunner, arn, vpcEgress(connector.VpcConnectorArn));
    const statuses = new Set<string>();
    for (let i = 0; i < 40; i++) {
      h.clock.advance(SETTLE_MS / 20);
      const [op] = await listAllOperations(h.apprunner, arn);
      statuses.add(op?.Status ?? '');
    }
    const [op] = await listAllOperations(h.apprunner, arn);
    assert.equal(op?.Id, operationId);
    assert.equal(op.Status, 'ROLLBACK_SUCCEEDED');
    assert.ok(op.EndedAt !== undefined);
    assert.ok(!statuses.has('SUCCEEDED'), 'a rolled-back operation is never SUCCEEDED');
    const after = await describeService(h.apprunner, arn);
    assert.equal(after.Status, 'RUNNING', 'the service looks healthy: only the operation tells');
    assert.deepEqual(after.NetworkConfiguration, before.NetworkConfiguration);
  });

  void test('a failed rollback ends ROLLBACK_FAILED', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-alpha');
    await h.admin.faults({ rollbackNextUpdates: 1, rollbackFails: true });
    await updateNetwork(h.apprunner, arn, { IngressConfiguration: { IsPubliclyAccessible: false } });
    h.clock.advance(SETTLE_MS * 4);
    const [op] = await listAllOperations(h.apprunner, arn);
    assert.equal(op?.Status, 'ROLLBACK_FAILED');
  });

  void test('an update that fails without a rollback phase ends FAILED with the service RUNNING on the OLD configuration', async (t) => {
    const h = await startHarness(t);
    const connector = await createConnector(h.apprunner, 'failed-update');
    const arn = h.serviceArn('svc-alpha');
    const before = await describeService(h.apprunner, arn);
    await h.admin.faults({ rollbackNextUpdates: 1, failsWithoutRollback: true });
    const { operationId } = await updateNetwork(h.apprunner, arn, vpcEgress(connector.VpcConnectorArn));
    const statuses = new Set<string>();
    for (let i = 0; i < 40; i++) {
      h.clock.advance(SETTLE_MS / 20);
      const [op] = await listAllOperations(h.apprunner, arn);
      statuses.add(op?.Status ?? '');
    }
    const [op] = await listAllOperations(h.apprunner, arn);
    assert.equal(op?.Id, operationId);
    assert.equal(op.Status, 'FAILED');
    assert.ok(op.EndedAt !== undefined);
    assert.ok(!statuses.has('ROLLBACK_IN_PROGRESS') && !statuses.has('SUCCEEDED'), [...statuses].join());
    const after = await describeService(h.apprunner, arn);
    assert.equal(after.Status, 'RUNNING');
    assert.deepEqual(after.NetworkConfiguration, before.NetworkConfiguration);
    assert.equal(
      (await h.apprunner.send(new DeleteVpcConnectorCommand({ VpcConnectorArn: connector.VpcConnectorArn })))
        .VpcConnector?.Status,
      'INACTIVE',
      'the failed update released the connector',
    );
  });

  void test('a stuck operation keeps the service OPERATION_IN_PROGRESS for hours and blocks update and delete', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-alpha');
    await h.admin.faults({ stuckNextOperations: 1 });
    await updateNetwork(h.apprunner, arn, { IngressConfiguration: { IsPubliclyAccessible: false } });
    h.clock.advance(6 * 3_600_000);
    assert.equal((await describeService(h.apprunner, arn)).Status, 'OPERATION_IN_PROGRESS');
    const [op] = await listAllOperations(h.apprunner, arn);
    assert.ok(op?.Status === 'PENDING' || op?.Status === 'IN_PROGRESS', `got ${op?.Status}`);
    await expectAwsError(updateNetwork(h.apprunner, arn, DEFAULT_EGRESS), {
      name: 'InvalidStateException',
      status: 400,
    });
    await expectAwsError(h.apprunner.send(new DeleteServiceCommand({ ServiceArn: arn })), {
      name: 'InvalidStateException',
      status: 400,
    });
  });
});

void describe('Deleted services', () => {
  void test('DescribeService shows DELETED with DeletedAt for the configured time, then ResourceNotFoundException', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-charlie');
    const deleted = await h.apprunner.send(new DeleteServiceCommand({ ServiceArn: arn }));
    assert.match(deleted.OperationId ?? '', UUID_V4);
    assert.equal(deleted.Service?.Status, 'OPERATION_IN_PROGRESS');
    h.clock.advance(TIMINGS.operationMs + 1_000);
    const gone = await describeService(h.apprunner, arn);
    assert.equal(gone.Status, 'DELETED');
    assert.ok(gone.DeletedAt !== undefined);
    const [op] = await listAllOperations(h.apprunner, arn);
    assert.equal(op?.Type, 'DELETE_SERVICE');
    assert.equal(op.Status, 'SUCCEEDED');
    h.clock.advance(TIMINGS.deletedServiceRetentionMs + 1_000);
    await expectAwsError(describeService(h.apprunner, arn), {
      name: 'ResourceNotFoundException',
      status: 400,
    });
  });
});

void describe('ListServices pagination', () => {
  async function listAll(
    h: Awaited<ReturnType<typeof startHarness>>,
    maxResults?: number,
  ): Promise<{ items: ServiceSummary[]; pages: number; largest: number }> {
    const items: ServiceSummary[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    let largest = 0;
    do {
      const page = await h.apprunner.send(
        new ListServicesCommand({ MaxResults: maxResults, NextToken: nextToken }),
      );
      items.push(...(page.ServiceSummaryList ?? []));
      largest = Math.max(largest, (page.ServiceSummaryList ?? []).length);
      nextToken = page.NextToken;
      pages += 1;
      assert.ok(pages <= 30, 'pagination terminates');
    } while (nextToken !== undefined);
    return { items, pages, largest };
  }

  void test('short pages come with a NextToken and the loop still returns every service once', async (t) => {
    const h = await startHarness(t, { knobs: { shortPages: true } });
    for (const name of ['extra-one', 'extra-two']) await createRunningService(h, name);
    const { items, pages, largest } = await listAll(h, 20);
    assert.ok(largest < 5, `no page holds all 5 services although MaxResults is 20 (largest ${largest})`);
    assert.ok(pages >= 2, `short pages need more than one page (got ${pages})`);
    assert.deepEqual(
      items.map((s) => s.ServiceName).sort(),
      [...SEEDED_SERVICES, 'extra-one', 'extra-two'].sort(),
    );
  });

  void test('MaxResults bounds every page', async (t) => {
    const h = await startHarness(t);
    const { items, largest } = await listAll(h, 1);
    assert.equal(largest, 1);
    assert.equal(items.length, SEEDED_SERVICES.length);
  });

  void test('an empty NextToken is legal for ListServices (shape String, min 0)', async (t) => {
    const h = await startHarness(t);
    const page = await h.apprunner.send(new ListServicesCommand({ NextToken: '' }));
    assert.equal(page.$metadata.httpStatusCode, 200);
  });
});

void describe('Timestamps', () => {
  void test('service timestamps follow the injected clock', async (t) => {
    const h = await startHarness(t);
    const arn = h.serviceArn('svc-alpha');
    h.clock.advance(60_000);
    const response = await h.apprunner.send(
      new UpdateServiceCommand({ ServiceArn: arn, NetworkConfiguration: { IngressConfiguration: {} } }),
    );
    const [op] = await listAllOperations(h.apprunner, arn);
    assert.equal(op?.Id, response.OperationId);
    assert.equal(op?.StartedAt?.getTime(), EPOCH + 60_000);
  });
});
