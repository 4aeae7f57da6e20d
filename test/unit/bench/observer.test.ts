// The benchmark's write counting: a watch that expired and was reopened from the present lists every existing
// Event again as ADDED; those are not writes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig, type Watch } from '@kubernetes/client-node';
import { Observer } from '../../bench/observer.ts';

type Callback = (phase: string, obj: unknown) => void;

/** A Watch that records each opened stream's callbacks, for the test to drive. */
class FakeWatch implements Pick<Watch, 'watch'> {
  readonly streams: {
    path: string;
    resourceVersion?: string;
    send: Callback;
    end: (err: unknown) => void;
  }[] = [];
  watch(
    path: string,
    query: Record<string, unknown>,
    send: Callback,
    end: (err: unknown) => void,
  ): Promise<AbortController> {
    const rv = query.resourceVersion;
    this.streams.push({ path, ...(typeof rv === 'string' ? { resourceVersion: rv } : {}), send, end });
    return Promise.resolve(new AbortController());
  }
  latest(path: string): (typeof this.streams)[number] {
    const stream = this.streams.filter((s) => s.path === path).at(-1);
    assert.ok(stream !== undefined, `no watch on ${path}`);
    return stream;
  }
}

const EVENTS = '/apis/events.k8s.io/v1/events';
const event = (name: string, resourceVersion: string) => ({
  metadata: { namespace: 'ns', name, resourceVersion },
});

void describe('bench Observer', () => {
  void it('counts an Event once, not again when an expired watch lists it anew', async () => {
    const watch = new FakeWatch();
    const observer = new Observer(new KubeConfig(), watch);
    await observer.start();
    watch.latest(EVENTS).send('ADDED', event('a', '10'));
    watch.latest(EVENTS).send('MODIFIED', event('a', '11'));
    watch.latest(EVENTS).send('ADDED', event('b', '12'));
    assert.deepEqual(observer.takeWrites(), { Event: 3 });
    // 410 Gone: the watch reopens from the present, which first lists what exists.
    watch.latest(EVENTS).send('ERROR', { code: 410 });
    watch.latest(EVENTS).end(new Error('expired'));
    await new Promise((resolve) => setTimeout(resolve, 250));
    const reopened = watch.latest(EVENTS);
    assert.equal(reopened.resourceVersion, undefined, 'reopened from the present');
    reopened.send('ADDED', event('a', '11'));
    reopened.send('ADDED', event('b', '12'));
    reopened.send('ADDED', event('c', '13'));
    reopened.send('MODIFIED', event('b', '14'));
    assert.deepEqual(observer.takeWrites(), { Event: 2 }, 'c created and b changed; a and b listed again');
    assert.equal(observer.expiredWatches, 1);
    observer.close();
  });
});
