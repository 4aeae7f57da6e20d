import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ApiException, type setHeaderOptions } from '@kubernetes/client-node';

import {
  type EventBody,
  type EventClient,
  type EventInput,
  type EventSeriesPatch,
  KubernetesEventRecorder,
} from '../../../src/runtime/events.ts';
import { createLogger } from '../../../src/runtime/logging.ts';
import { FakeClock } from './fake-clock.ts';
import { contentTypeSetBy } from './request-options.ts';

/** Stores Events by name like the API server; `failNext` makes the next call fail with that status. */
class FakeEventApi implements EventClient {
  readonly events = new Map<string, { body: EventBody; series?: EventSeriesPatch['series'] }>();
  calls: string[] = [];
  failNext: number | undefined;
  /** While set, calls wait for it (to hold a write in flight). */
  gate: Promise<void> | undefined;
  contentTypes: (string | undefined)[] = [];

  async createNamespacedEvent({ namespace, body }: { namespace: string; body: EventBody }): Promise<unknown> {
    this.calls.push(`create ${namespace}/${body.metadata.name}`);
    await this.gate;
    this.#maybeFail();
    this.events.set(body.metadata.name, { body: JSON.parse(JSON.stringify(body)) as EventBody });
    return body;
  }

  async patchNamespacedEvent(
    { name, body }: { name: string; namespace: string; body: EventSeriesPatch },
    options?: ReturnType<typeof setHeaderOptions>,
  ): Promise<unknown> {
    this.calls.push(`patch ${name} count=${body.series.count}`);
    this.contentTypes.push(contentTypeSetBy(options));
    await this.gate;
    this.#maybeFail();
    const stored = this.events.get(name);
    if (stored === undefined) throw new ApiException(404, 'not found', {}, {});
    stored.series = JSON.parse(JSON.stringify(body.series)) as EventSeriesPatch['series'];
    return stored;
  }

  #maybeFail(): void {
    const code = this.failNext;
    if (code === undefined) return;
    this.failNext = undefined;
    throw new ApiException(code, 'injected', {}, {});
  }
}

const connector = {
  apiVersion: 'test.apprunnernet.dev/v1',
  kind: 'Widget',
  namespace: 'team-a',
  name: 'web',
  uid: 'uid-1',
};

function event(overrides: Partial<EventInput> = {}): EventInput {
  return {
    regarding: connector,
    type: 'Warning',
    reason: 'DeletionBlocked',
    action: 'Delete',
    note: 'Deletion waits for service svc-1 to detach.',
    ...overrides,
  };
}

function recorder(api: FakeEventApi, clock: FakeClock, lines: string[] = []): KubernetesEventRecorder {
  return new KubernetesEventRecorder({
    client: api,
    reportingController: 'test.apprunnernet.dev/runtime',
    reportingInstance: 'pod-0',
    clock,
    log: createLogger({ write: (line) => lines.push(line) }),
  });
}

void describe('KubernetesEventRecorder', () => {
  void it('creates an events.k8s.io/v1 Event with every required field and a microsecond eventTime', async () => {
    const api = new FakeEventApi();
    const r = recorder(api, new FakeClock());
    r.record(event());
    await r.flush();
    assert.equal(api.events.size, 1);
    const [stored] = [...api.events.values()];
    assert.ok(stored);
    const { body } = stored;
    assert.equal(body.metadata.namespace, 'team-a', 'the Event lives beside its object');
    assert.match(body.metadata.name, /^web\.[0-9a-f]+$/);
    assert.deepEqual(
      { ...body, metadata: undefined, eventTime: undefined },
      {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        metadata: undefined,
        eventTime: undefined,
        type: 'Warning',
        reason: 'DeletionBlocked',
        action: 'Delete',
        note: 'Deletion waits for service svc-1 to detach.',
        regarding: connector,
        reportingController: 'test.apprunnernet.dev/runtime',
        reportingInstance: 'pod-0',
      },
    );
    assert.equal(String(body.eventTime), '2026-11-27T12:00:00.000000Z');
  });

  const cases: {
    name: string;
    second: Partial<EventInput>;
    gapMs: number;
    creates: number;
    patches: number;
  }[] = [
    {
      name: 'an identical repeat within the window joins the series',
      second: {},
      gapMs: 60_000,
      creates: 1,
      patches: 1,
    },
    {
      name: 'a different note is a different Event',
      second: { note: 'Another sentence.' },
      gapMs: 0,
      creates: 2,
      patches: 0,
    },
    {
      name: 'a different reason is a different Event',
      second: { reason: 'Deleted' },
      gapMs: 0,
      creates: 2,
      patches: 0,
    },
    {
      name: 'the same words about a recreated object (new uid) are a different Event',
      second: { regarding: { ...connector, uid: 'uid-2' } },
      gapMs: 0,
      creates: 2,
      patches: 0,
    },
    {
      name: 'a repeat after the 6 minute window starts a new Event',
      second: {},
      gapMs: 6 * 60_000 + 1,
      creates: 2,
      patches: 0,
    },
  ];
  for (const c of cases) {
    void it(c.name, async () => {
      const api = new FakeEventApi();
      const clock = new FakeClock();
      const r = recorder(api, clock);
      r.record(event());
      await r.flush();
      await clock.advance(c.gapMs);
      r.record(event(c.second));
      await r.flush();
      assert.equal(api.calls.filter((x) => x.startsWith('create')).length, c.creates);
      assert.equal(api.calls.filter((x) => x.startsWith('patch')).length, c.patches);
    });
  }

  void it('counts repeats in series.count and moves lastObservedTime, with a merge patch', async () => {
    const api = new FakeEventApi();
    const clock = new FakeClock();
    const r = recorder(api, clock);
    for (let i = 0; i < 3; i++) {
      r.record(event());
      await r.flush();
      await clock.advance(1_000);
    }
    const [stored] = [...api.events.values()];
    assert.equal(stored?.series?.count, 3);
    assert.equal(String(stored.series.lastObservedTime), '2026-11-27T12:00:02.000000Z');
    assert.deepEqual(api.contentTypes, ['application/merge-patch+json', 'application/merge-patch+json']);
  });

  void it('coalesces repeats that arrive while a write is in flight into one follow-up patch', async () => {
    const api = new FakeEventApi();
    const r = recorder(api, new FakeClock());
    let open!: () => void;
    api.gate = new Promise((resolve) => (open = resolve));
    for (let i = 0; i < 5; i++) r.record(event());
    api.gate = undefined;
    open();
    await r.flush();
    assert.deepEqual(
      api.calls.map((x) => x.replace(/web\.[0-9a-f]+ ?/, '')),
      ['create team-a/', 'patch count=5'],
    );
  });

  void it('never throws into the caller and logs a failed create, then creates afresh next time', async () => {
    const api = new FakeEventApi();
    const lines: string[] = [];
    const r = recorder(api, new FakeClock(), lines);
    api.failNext = 403;
    assert.doesNotThrow(() => {
      r.record(event());
    });
    await r.flush();
    assert.equal(api.events.size, 0);
    assert.ok(lines.some((l) => l.includes('Could not create an event')));
    r.record(event());
    await r.flush();
    assert.equal(api.events.size, 1);
  });

  void it('starts a new Event when the API server has expired the one the series patches', async () => {
    const api = new FakeEventApi();
    const r = recorder(api, new FakeClock());
    r.record(event());
    await r.flush();
    api.events.clear();
    r.record(event());
    await r.flush();
    assert.equal(api.events.size, 1);
    assert.equal(api.calls.filter((x) => x.startsWith('create')).length, 2);
  });

  void it('puts Events about cluster-scoped objects in the default namespace and truncates long notes to 1 kB', async () => {
    const api = new FakeEventApi();
    const r = recorder(api, new FakeClock());
    r.record(event({ regarding: { kind: 'Node', name: 'n1' }, note: 'é'.repeat(2000) }));
    await r.flush();
    const [stored] = [...api.events.values()];
    assert.equal(stored?.body.metadata.namespace, 'default');
    assert.ok(Buffer.byteLength(stored.body.note) <= 1024);
  });
});
