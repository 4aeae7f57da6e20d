// VPC ingress connections (semantics.md §5.11) and the DeleteService check against AVAILABLE ones (§5.10).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateVpcIngressConnectionCommand,
  DeleteServiceCommand,
  DeleteVpcIngressConnectionCommand,
  DescribeVpcIngressConnectionCommand,
  ListVpcIngressConnectionsCommand,
  UpdateVpcIngressConnectionCommand,
} from '@aws-sdk/client-apprunner';
import { serviceArn, startSim } from './support.ts';

const vpc = { VpcId: 'vpc-00000000000000001', VpcEndpointId: 'vpce-0123456789abcdef0' };

void describe('VPC ingress connections', () => {
  void test('an ingress connection goes PENDING_CREATION -> AVAILABLE, blocks DeleteService, then PENDING_DELETION -> DELETED', async (t) => {
    const sim = await startSim(t);
    const svc = serviceArn(sim, 'svc-one');
    const { VpcIngressConnection: created } = await sim.apprunner.send(
      new CreateVpcIngressConnectionCommand({
        ServiceArn: svc,
        VpcIngressConnectionName: 'private-in',
        IngressVpcConfiguration: vpc,
      }),
    );
    const arn = created?.VpcIngressConnectionArn ?? '';
    assert.match(
      arn,
      /^arn:aws:apprunner:us-east-1:123456789012:vpcingressconnection\/private-in\/[0-9a-f]{32}$/,
    );
    assert.equal(created?.Status, 'PENDING_CREATION');
    await assert.rejects(
      sim.apprunner.send(
        new UpdateVpcIngressConnectionCommand({ VpcIngressConnectionArn: arn, IngressVpcConfiguration: vpc }),
      ),
      { name: 'InvalidStateException' },
    );
    sim.clock.now += 1000;
    const described = await sim.apprunner.send(
      new DescribeVpcIngressConnectionCommand({ VpcIngressConnectionArn: arn }),
    );
    assert.equal(described.VpcIngressConnection?.Status, 'AVAILABLE');
    const listed = await sim.apprunner.send(
      new ListVpcIngressConnectionsCommand({ Filter: { ServiceArn: svc } }),
    );
    assert.deepEqual(listed.VpcIngressConnectionSummaryList, [
      { VpcIngressConnectionArn: arn, ServiceArn: svc },
    ]);

    await assert.rejects(sim.apprunner.send(new DeleteServiceCommand({ ServiceArn: svc })), {
      name: 'InvalidStateException',
      message: `You cannot delete a Service while it has VpcIngressConnections with a status of AVAILABLE. Service Arn: ${svc} VpcIngressConnection Arn: ${arn}`,
    });

    const { VpcIngressConnection: deleting } = await sim.apprunner.send(
      new DeleteVpcIngressConnectionCommand({ VpcIngressConnectionArn: arn }),
    );
    assert.equal(deleting?.Status, 'PENDING_DELETION');
    sim.clock.now += 1000;
    const gone = await sim.apprunner.send(
      new DescribeVpcIngressConnectionCommand({ VpcIngressConnectionArn: arn }),
    );
    assert.equal(gone.VpcIngressConnection?.Status, 'DELETED');
    await sim.apprunner.send(new DeleteServiceCommand({ ServiceArn: svc }));
  });

  void test('an unknown VPC is refused with InvalidRequestException', async (t) => {
    const sim = await startSim(t);
    await assert.rejects(
      sim.apprunner.send(
        new CreateVpcIngressConnectionCommand({
          ServiceArn: serviceArn(sim, 'svc-one'),
          VpcIngressConnectionName: 'nowhere',
          IngressVpcConfiguration: { VpcId: 'vpc-0nope', VpcEndpointId: 'vpce-1' },
        }),
      ),
      { name: 'InvalidRequestException', message: "The vpc ID 'vpc-0nope' does not exist." },
    );
  });
});
