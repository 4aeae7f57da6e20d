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

/**
 * Stores Events by name like the API server (a second create of one name fails with 409); `failNext` makes
 * the next call fail with that status.
 */
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
    if (this.events.has(body.metadata.name)) throw new ApiException(409, 'already exists', {}, {});
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

function recorder(
  api: FakeEventApi,
  clock: FakeClock,
  lines: string[] = [],
  options: { maxTracked?: number } = {},
): KubernetesEventRecorder {
  return new KubernetesEventRecorder({
    client: api,
    reportingController: 'test.apprunnernet.dev/runtime',
    reportingInstance: 'pod-0',
    clock,
    log: createLogger({ write: (line) => lines.push(line) }),
    ...options,
  });
}

/** The calls made, without the generated Event names. */
function callsOf(api: FakeEventApi): string[] {
  return api.calls.map((c) => c.replace(/ ?(team-a\/)?web\.[0-9a-f]+/, ''));
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
    assert.deepEqual(callsOf(api), ['create', 'patch count=5']);
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
    assert.deepEqual(callsOf(api), ['create', 'create'], 'no patch of the Event that was never written');
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

  void it('names Events like client-go (object name, then the time in nanoseconds in hex) with a random suffix, so two in one instant do not collide', async (t) => {
    const randoms = [0.0001, 0.5];
    t.mock.method(Math, 'random', () => randoms.shift() ?? 0);
    const api = new FakeEventApi();
    const clock = new FakeClock();
    const r = recorder(api, clock);
    r.record(event({ note: 'One.' }));
    r.record(event({ note: 'Two.' }));
    await r.flush();
    const nanos = (BigInt(clock.now()) * 1_000_000n).toString(16);
    assert.deepEqual([...api.events.keys()], [`web.${nanos}0006`, `web.${nanos}7fff`]);
  });

  void it("cuts reason and action to the API's 128 characters", async () => {
    const api = new FakeEventApi();
    const r = recorder(api, new FakeClock());
    r.record(event({ reason: 'R'.repeat(200), action: 'A'.repeat(200) }));
    await r.flush();
    const [stored] = [...api.events.values()];
    assert.equal(stored?.body.reason, 'R'.repeat(128));
    assert.equal(stored.body.action, 'A'.repeat(128));
  });

  void it('writes the related object when one is given', async () => {
    const api = new FakeEventApi();
    const r = recorder(api, new FakeClock());
    const related = { apiVersion: 'v1', kind: 'Secret', namespace: 'team-a', name: 'creds' };
    r.record(event({ related }));
    await r.flush();
    const [stored] = [...api.events.values()];
    assert.deepEqual(stored?.body.related, related);
  });

  const notes: { name: string; note: string; written: string }[] = [
    {
      name: 'keeps a note of exactly 1 kB whole',
      note: 'x'.repeat(1024),
      written: 'x'.repeat(1024),
    },
    {
      name: 'cuts a longer note to 1 kB, ending in an ellipsis',
      note: 'x'.repeat(2000),
      written: `${'x'.repeat(1021)}...`,
    },
    {
      name: 'cuts a note of two-byte characters between characters',
      note: 'é'.repeat(2000),
      written: `${'é'.repeat(510)}...`,
    },
    {
      // A cut between the two halves of a surrogate pair would be written as U+FFFD.
      name: 'cuts a note of emoji between characters, never inside one',
      note: `xx${'😀'.repeat(300)}`,
      written: `xx${'😀'.repeat(254)}...`,
    },
  ];
  for (const c of notes) {
    void it(c.name, async () => {
      const api = new FakeEventApi();
      const r = recorder(api, new FakeClock());
      r.record(event({ note: c.note }));
      await r.flush();
      const [stored] = [...api.events.values()];
      assert.equal(stored?.body.note, c.written);
    });
  }

  void it('logs a series patch that fails other than with 404, and starts a new Event at the next repeat', async () => {
    const api = new FakeEventApi();
    const lines: string[] = [];
    const r = recorder(api, new FakeClock(), lines);
    r.record(event());
    await r.flush();
    api.failNext = 500;
    r.record(event());
    await r.flush();
    assert.deepEqual(callsOf(api), ['create', 'patch count=2'], 'no new Event while the API server errs');
    assert.ok(lines.some((l) => l.includes('Could not update an event series')));
    r.record(event());
    await r.flush();
    assert.deepEqual(callsOf(api), ['create', 'patch count=2', 'create']);
  });

  void it('tracks at most maxTracked series and forgets the oldest first', async () => {
    const api = new FakeEventApi();
    const r = recorder(api, new FakeClock(), [], { maxTracked: 2 });
    for (const note of ['A.', 'B.', 'C.']) {
      r.record(event({ note }));
      await r.flush();
    }
    r.record(event({ note: 'B.' }));
    await r.flush();
    r.record(event({ note: 'A.' }));
    await r.flush();
    assert.deepEqual(callsOf(api), ['create', 'create', 'create', 'patch count=2', 'create']);
  });

  void it('forgets series past their window before it forgets a live one for the cap', async () => {
    const api = new FakeEventApi();
    const clock = new FakeClock();
    const r = recorder(api, clock, [], { maxTracked: 2 });
    const step = async (ms: number, note: string): Promise<void> => {
      await clock.advance(ms);
      r.record(event({ note }));
      await r.flush();
    };
    await step(0, 'A.');
    await step(1_000, 'B.');
    await step(5 * 60_000 - 1_000, 'A.');
    await step(60_000 + 2_000, 'C.'); // B was last seen 6 min 1 s ago; A 1 min 2 s ago
    await step(1_000, 'A.');
    assert.deepEqual(callsOf(api), ['create', 'create', 'patch count=2', 'create', 'patch count=3']);
  });

  void it('flushes writes that finish on a later turn of the event loop', async () => {
    const api = new FakeEventApi();
    const r = recorder(api, new FakeClock());
    api.gate = new Promise((resolve) => setImmediate(resolve));
    r.record(event());
    await r.flush();
    assert.equal(api.events.size, 1);
  });
});
