// The shared view of AWS: tags known from the operator's own writes (AWS's tag reads lag a change), region
// listings shared by passes in flight, and a service's update written back into the view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AwsView } from '../../../src/controllers/shared/aws-view.ts';
import { SERVICE_ARN, awsService, fakeGateway } from '../builders.ts';

const call = { signal: new AbortController().signal };

void describe('AwsView', () => {
  void it('knows the tags it wrote without reading them back (a read could still show the old ones)', async () => {
    const { gateway, calls } = fakeGateway({
      listTags: () => Promise.resolve({ team: 'payments' }),
      tagResource: () => Promise.resolve(),
      untagResource: () => Promise.resolve(),
    });
    const view = new AwsView(gateway);
    assert.deepEqual(await view.tags(SERVICE_ARN, call), { team: 'payments' });
    await view.tagResource(SERVICE_ARN, { 'apprunnernet.dev/name': 'web' }, call);
    assert.deepEqual(await view.tags(SERVICE_ARN, call), {
      team: 'payments',
      'apprunnernet.dev/name': 'web',
    });
    await view.untagResource(SERVICE_ARN, ['team'], call);
    assert.deepEqual(await view.tags(SERVICE_ARN, call), { 'apprunnernet.dev/name': 'web' });
    assert.deepEqual(calls, ['listTags', 'tagResource', 'untagResource'], 'one read in all');
  });

  void it('reads the tags again after a tag write that failed', async () => {
    const { gateway, calls } = fakeGateway({
      listTags: () => Promise.resolve({}),
      tagResource: () => Promise.reject(new Error('connection reset')),
    });
    const view = new AwsView(gateway);
    await view.tags(SERVICE_ARN, call);
    await assert.rejects(view.tagResource(SERVICE_ARN, { a: 'b' }, call), /connection reset/);
    await view.tags(SERVICE_ARN, call);
    assert.deepEqual(calls, ['listTags', 'tagResource', 'listTags']);
  });

  void it('shares one listing among passes that start while it is in flight, and lists afresh afterwards', async () => {
    let release: (value: ReturnType<typeof awsService>[]) => void = () => undefined;
    const { gateway, calls } = fakeGateway({
      listServices: () =>
        new Promise((resolve) => {
          release = resolve;
        }),
    });
    const view = new AwsView(gateway);
    const first = view.services('us-east-1', call);
    const second = view.services('us-east-1', call);
    release([awsService()]);
    assert.equal(await first, await second);
    const third = view.services('us-east-1', call);
    release([]);
    assert.deepEqual(await third, []);
    assert.deepEqual(calls, ['listServices', 'listServices']);
  });
});
