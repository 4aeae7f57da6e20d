// Answers the simulator never gives but AWS might (semantics §5.8, §13): a scripted awsJson1_0 server on
// loopback drives the SDK gateway through them.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { AwsTransientError } from '../../../src/aws/errors.ts';
import { createSdkGateway } from '../../../src/aws/sdk-gateway.ts';
import type { SdkGateway } from '../../../src/aws/sdk-gateway.ts';

type Script = (
  operation: string,
  input: Record<string, unknown>,
) => { status: number; body: unknown } | 'hang';

const serviceArn = 'arn:aws:apprunner:us-east-1:123456789012:service/edge/0123456789abcdef0123456789abcdef';

/** Starts a server that answers App Runner calls by `script`; returns a gateway pointed at it. */
async function scripted(t: TestContext, script: Script): Promise<{ gw: SdkGateway; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').replace(/^AppRunner\./, '');
      seen.push(operation);
      const answer = script(operation, JSON.parse(body === '' ? '{}' : body) as Record<string, unknown>);
      if (answer === 'hang') return;
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const gw = createSdkGateway({
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    defaultRegion: 'us-east-1',
    maxAttempts: 1,
  });
  t.after(async () => {
    gw.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { gw, seen };
}

const runningService = {
  ServiceName: 'edge',
  ServiceId: '0123456789abcdef0123456789abcdef',
  ServiceArn: serviceArn,
  Status: 'OPERATION_IN_PROGRESS',
  CreatedAt: 1767225600,
  UpdatedAt: 1767225600,
  NetworkConfiguration: {
    EgressConfiguration: { EgressType: 'DEFAULT' },
    IngressConfiguration: { IsPubliclyAccessible: true },
    IpAddressType: 'IPV4',
  },
};

void describe('SDK gateway on answers the simulator does not give', () => {
  void test('reports a NextToken that comes back twice instead of paging forever', async (t) => {
    const { gw, seen } = await scripted(t, () => ({
      status: 200,
      body: { VpcConnectors: [], NextToken: 'same-token' },
    }));
    await assert.rejects(gw.appRunner.listConnectors('us-east-1'), (err: unknown) => {
      assert.ok(err instanceof AwsTransientError);
      assert.equal(err.aws.code, 'PaginationLoop');
      return true;
    });
    assert.equal(seen.length, 2);
  });

  void test('takes the newest operation when UpdateService omits OperationId', async (t) => {
    const { gw, seen } = await scripted(t, (operation) =>
      operation === 'UpdateService'
        ? { status: 200, body: { Service: runningService } }
        : {
            status: 200,
            body: {
              OperationSummaryList: [
                { Id: '17fe9f55-7e91-4097-b243-fcabbb69a4cf', Type: 'UPDATE_SERVICE', Status: 'PENDING' },
              ],
            },
          },
    );
    const { operationId, service } = await gw.appRunner.updateServiceNetwork(serviceArn, {
      egressType: 'DEFAULT',
      isPubliclyAccessible: true,
      ipAddressType: 'IPV4',
    });
    assert.equal(operationId, '17fe9f55-7e91-4097-b243-fcabbb69a4cf');
    assert.equal(service.status, 'OPERATION_IN_PROGRESS');
    assert.deepEqual(seen, ['UpdateService', 'ListOperations']);
  });

  void test('reads statuses it does not know as still busy, never as done', async (t) => {
    const { gw } = await scripted(t, (operation) =>
      operation === 'DescribeService'
        ? { status: 200, body: { Service: { ...runningService, Status: 'SOMETHING_NEW' } } }
        : {
            status: 200,
            body: { OperationSummaryList: [{ Id: 'x', Type: 'UPDATE_SERVICE', Status: 'NEW_STATE' }] },
          },
    );
    assert.equal((await gw.appRunner.describeService(serviceArn))?.status, 'OPERATION_IN_PROGRESS');
    assert.equal((await gw.appRunner.listOperations(serviceArn))[0]?.status, 'IN_PROGRESS');
  });

  void test('abandons a call whose signal aborts while AWS has not answered', async (t) => {
    const { gw, seen } = await scripted(t, () => 'hang');
    const controller = new AbortController();
    const call = gw.appRunner.describeService(serviceArn, { signal: controller.signal });
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const reason = new Error('leadership lost');
    controller.abort(reason);
    await assert.rejects(call, (err: unknown) => err === reason);
  });

  void test('refuses an ARN that is not an App Runner ARN without calling AWS', async (t) => {
    const { gw, seen } = await scripted(t, () => ({ status: 200, body: {} }));
    await assert.rejects(gw.appRunner.describeService('arn:aws:iam::123456789012:role/x'), {
      name: 'AwsInvalidInputError',
    });
    assert.deepEqual(seen, []);
  });
});
