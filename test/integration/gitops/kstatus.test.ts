// What GitOps tools conclude from REAL objects: a real API server, the simulator and the operator process
// (the operator fixtures), every version of every object recorded by a watch, then judged by kstatus (what
// Flux and cli-utils waiters use, with no configuration) and by the Argo CD health checks of deploy/argocd.
// One scenario covers each moment: created, reconciling, Ready, an edit the operator has not yet observed,
// Stalled (an input AWS refuses, a service of another account), and a deletion blocked by a reference.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PatchStrategy, setHeaderOptions, Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Condition, ObjectMeta } from '../../../src/api/common.ts';
import { ConditionType, GROUP, Kind, Plural, VERSION } from '../../../src/api/constants.ts';
import { SECURITY_GROUP, startEnv, SUBNETS, waitFor, type Env, type World } from '../operator/fixtures.ts';
import { buildGitopsCheck, kstatus, luaHealth, type Health, type Kstatus } from './gitops-check.ts';

/** The simulator's account; the operator is told it so that a service of any other account is refused. */
const ACCOUNT = '123456789012';

/** An object as the API server served it (a watch event or a response). */
interface LiveObject {
  kind: string;
  metadata: ObjectMeta;
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

/** One object version and what both tools said about it. */
interface Verdict {
  object: LiveObject;
  kstatus: Kstatus;
  argo: Health;
}

function condition(o: LiveObject, type: string): Condition | undefined {
  return o.status?.conditions?.find((c) => c.type === type);
}

const isTrue = (o: LiveObject, type: string): boolean => condition(o, type)?.status === 'True';
const deleting = (o: LiveObject): boolean => o.metadata.deletionTimestamp !== undefined;

/** Status (and Ready) describe the current generation. */
function current(o: LiveObject): boolean {
  const generation = o.metadata.generation;
  const ready = condition(o, ConditionType.Ready);
  return (
    o.status?.observedGeneration === generation &&
    (ready?.observedGeneration === undefined || ready.observedGeneration === generation)
  );
}

const label = (v: Verdict): string =>
  `${v.object.kind} ${v.object.metadata.name ?? ''} rv ${v.object.metadata.resourceVersion ?? ''}: ` +
  `kstatus ${v.kstatus.status} "${v.kstatus.message}", Argo CD ${v.argo.status} "${v.argo.message}"\n` +
  JSON.stringify(v.object.status);

/** Records every version of both kinds in `namespace` until stopped (watch events, in arrival order). */
async function recordVersions(
  kubeConfig: KubeConfig,
  namespace: string,
): Promise<{ versions: LiveObject[]; stop(): void }> {
  const versions: LiveObject[] = [];
  const watch = new Watch(kubeConfig);
  const controllers = await Promise.all(
    [Plural.VpcConnector, Plural.ServiceNetworking].map((plural) =>
      watch.watch(
        `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural}`,
        {},
        (_phase: string, object: unknown) => {
          versions.push(object as LiveObject);
        },
        () => undefined,
      ),
    ),
  );
  return {
    versions,
    stop() {
      for (const controller of controllers) controller.abort();
    },
  };
}

async function judge(bin: string, objects: readonly LiveObject[]): Promise<Verdict[]> {
  const computed = await kstatus(bin, objects);
  const verdicts: Verdict[] = [];
  for (const [i, object] of objects.entries()) {
    const k = computed[i];
    assert.ok(k !== undefined, `kstatus answered for object ${i}`);
    verdicts.push({ object, kstatus: k, argo: await luaHealth(bin, object.kind, object) });
  }
  return verdicts;
}

describe('kstatus and the Argo CD health checks judge live objects as the operator means them', () => {
  let bin: string | { skip: string };
  let env: Env | undefined;
  /** Every version the watch saw, judged. */
  let history: Verdict[] = [];
  /** The response to an edit of a Ready connector: generation 2, status still of generation 1. */
  let edited: Verdict;
  /** A connector whose deletion waits for the ServiceNetworking that references it. */
  let blocked: Verdict;
  let namespace = '';

  before(async () => {
    bin = buildGitopsCheck();
    if (typeof bin !== 'string') return;
    env = await startEnv();
    const world: World = await env.world({
      serviceLinkedRole: true,
      operatorArgs: ['--tenancy=SingleTenant', `--aws-account-id=${ACCOUNT}`],
    });
    namespace = world.namespace;
    const recorder = await recordVersions(env.cluster.kubeConfig, namespace);
    const getConnector = async (name: string): Promise<LiveObject | undefined> =>
      (await world.kube.getConnector(name)) as LiveObject | undefined;
    const getSn = async (name: string): Promise<LiveObject | undefined> =>
      (await world.kube.getServiceNetworking(name)) as LiveObject | undefined;
    const until = (
      get: (name: string) => Promise<LiveObject | undefined>,
      name: string,
      check: (o: LiveObject) => boolean,
      what: string,
    ): Promise<LiveObject> =>
      waitFor(
        async () => {
          const o = await get(name);
          return o !== undefined && check(o) ? o : undefined;
        },
        `${name}: ${what}`,
        60_000,
        () => world.operator.tail(),
      );
    const readyNow = (o: LiveObject): boolean => current(o) && isTrue(o, ConditionType.Ready);
    const stalledNow = (o: LiveObject): boolean => current(o) && isTrue(o, ConditionType.Stalled);
    try {
      await world.kube.createConnector('shared', { subnets: [SUBNETS[0]], securityGroups: [SECURITY_GROUP] });
      // AWS refuses a subnet that does not exist: Stalled with AWS's message.
      await world.kube.createConnector('typo', {
        subnets: ['subnet-0fffffffffffffff0'],
        securityGroups: [SECURITY_GROUP],
      });
      await world.kube.createServiceNetworking('web', {
        serviceArn: world.serviceArn,
        egress: { type: 'VPC', vpcConnectorRef: { name: 'shared' } },
        deletionPolicy: 'Detach',
      });
      // A service of another AWS account: refused by tenancy (Stalled NotPermitted) before any AWS call.
      await world.kube.createServiceNetworking('foreign', {
        serviceArn: world.serviceArn.replace(`:${ACCOUNT}:`, ':999999999999:'),
        egress: { type: 'DEFAULT' },
        deletionPolicy: 'Detach',
      });
      await until(getConnector, 'shared', readyNow, 'Ready');
      await until(getSn, 'web', readyNow, 'Ready');
      await until(getConnector, 'typo', stalledNow, 'Stalled');
      await until(getSn, 'foreign', stalledNow, 'Stalled');

      const response = (await world.kube.api.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          plural: Plural.VpcConnector,
          namespace,
          name: 'shared',
          body: { spec: { tags: { team: 'gitops' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      )) as LiveObject;
      await until(getConnector, 'shared', readyNow, 'Ready again at generation 2');

      await world.kube.deleteConnector('shared');
      const waiting = await until(
        getConnector,
        'shared',
        (o) => current(o) && isTrue(o, ConditionType.DeletionBlocked),
        'DeletionBlocked',
      );
      await world.kube.deleteServiceNetworking('web');
      await world.kube.deleteServiceNetworking('foreign');
      await world.kube.deleteConnector('typo');
      for (const name of ['shared', 'typo'])
        await world.kube.waitForGone(name, () => world.operator.tail(), 60_000);
      await waitFor(async () => (await getSn('web')) === undefined, 'web is gone', 60_000);

      recorder.stop();
      const [editedVerdict, blockedVerdict, ...rest] = await judge(bin, [
        response,
        waiting,
        ...recorder.versions,
      ]);
      assert.ok(editedVerdict !== undefined && blockedVerdict !== undefined);
      edited = editedVerdict;
      blocked = blockedVerdict;
      history = rest;
    } finally {
      recorder.stop();
      await world.finish();
    }
  });

  after(async () => {
    await env?.stop();
  });

  /** The recorded versions of `kind` that satisfy `pick`; fails when there are none. */
  const versionsOf = (kind: Kind, pick: (o: LiveObject) => boolean, what: string): Verdict[] => {
    const found = history.filter((v) => v.object.kind === kind && pick(v.object));
    assert.ok(found.length > 0, `the watch saw a ${kind} ${what}`);
    return found;
  };

  test('while the operator works (Reconciling=True), kstatus says InProgress and Argo CD Progressing, both with its message', (t) => {
    if (typeof bin !== 'string') {
      t.skip(bin.skip);
      return;
    }
    for (const kind of [Kind.VpcConnector, Kind.ServiceNetworking]) {
      for (const v of versionsOf(
        kind,
        (o) => !deleting(o) && current(o) && isTrue(o, ConditionType.Reconciling),
        'reconciling',
      )) {
        const message = condition(v.object, ConditionType.Reconciling)?.message;
        assert.equal(v.kstatus.status, 'InProgress', label(v));
        assert.equal(v.kstatus.message, message, label(v));
        assert.deepEqual(v.argo, { status: 'Progressing', message }, label(v));
      }
    }
  });

  test('once Ready=True for the current generation, kstatus says Current and Argo CD Healthy', (t) => {
    if (typeof bin !== 'string') {
      t.skip(bin.skip);
      return;
    }
    for (const kind of [Kind.VpcConnector, Kind.ServiceNetworking]) {
      for (const v of versionsOf(
        kind,
        (o) => !deleting(o) && current(o) && isTrue(o, ConditionType.Ready),
        'Ready',
      )) {
        assert.equal(v.kstatus.status, 'Current', label(v));
        assert.deepEqual(
          v.argo,
          { status: 'Healthy', message: condition(v.object, ConditionType.Ready)?.message },
          label(v),
        );
      }
    }
  });

  test('Stalled (a subnet AWS refuses, a service of another account) is Failed in kstatus and Degraded in Argo CD', (t) => {
    if (typeof bin !== 'string') {
      t.skip(bin.skip);
      return;
    }
    const reasons = new Set<string>();
    for (const kind of [Kind.VpcConnector, Kind.ServiceNetworking]) {
      for (const v of versionsOf(kind, (o) => current(o) && isTrue(o, ConditionType.Stalled), 'Stalled')) {
        const stalled = condition(v.object, ConditionType.Stalled);
        reasons.add(stalled?.reason ?? '');
        assert.equal(v.kstatus.status, 'Failed', label(v));
        assert.equal(v.kstatus.message, stalled?.message, label(v));
        assert.deepEqual(v.argo, { status: 'Degraded', message: stalled?.message }, label(v));
      }
    }
    assert.deepEqual([...reasons].sort(), ['InvalidInput', 'NotPermitted']);
  });

  test('an edit the operator has not observed yet is InProgress and Progressing although Ready=True is still there', (t) => {
    if (typeof bin !== 'string') {
      t.skip(bin.skip);
      return;
    }
    assert.equal(edited.object.metadata.generation, 2);
    assert.equal(edited.object.status?.observedGeneration, 1);
    assert.equal(condition(edited.object, ConditionType.Ready)?.status, 'True', label(edited));
    assert.equal(edited.kstatus.status, 'InProgress', label(edited));
    assert.deepEqual(
      edited.argo,
      {
        status: 'Progressing',
        message: 'Waiting for the operator to observe generation 2; status describes generation 1.',
      },
      label(edited),
    );
    for (const v of history.filter((h) => h.object.status !== undefined && !current(h.object))) {
      assert.notEqual(v.argo.status, 'Healthy', label(v));
      assert.notEqual(v.kstatus.status, 'Current', label(v));
    }
  });

  test('a deletion waiting for a ServiceNetworking is Progressing in Argo CD with a message naming it (kstatus: Terminating)', (t) => {
    if (typeof bin !== 'string') {
      t.skip(bin.skip);
      return;
    }
    const message = condition(blocked.object, ConditionType.DeletionBlocked)?.message ?? '';
    assert.match(message, new RegExp(`ServiceNetworking ${namespace}/web`), label(blocked));
    assert.deepEqual(blocked.argo, { status: 'Progressing', message }, label(blocked));
    assert.equal(blocked.kstatus.status, 'Terminating', label(blocked));
  });

  test('on every version the watch saw, both tools agree, except kstatus reading a not-yet-seen object as Current', (t) => {
    if (typeof bin !== 'string') {
      t.skip(bin.skip);
      return;
    }
    const argoFor: Record<Kstatus['status'], string> = {
      Current: 'Healthy',
      InProgress: 'Progressing',
      Terminating: 'Progressing',
      Failed: 'Degraded',
      NotFound: 'Missing',
      Unknown: 'Unknown',
    };
    const unseen = history.filter((v) => v.object.status === undefined);
    assert.ok(unseen.length > 0, 'the watch saw objects before the operator wrote any status');
    for (const v of unseen) {
      // kstatus cannot tell an object its controller has not seen yet from one that never reports status
      // (cli-utils documents this); the Argo CD check knows these kinds always report, and waits.
      assert.equal(v.kstatus.status, 'Current', label(v));
      assert.deepEqual(v.argo, {
        status: 'Progressing',
        message: 'Waiting for the operator to report status.',
      });
    }
    for (const v of history.filter((h) => h.object.status !== undefined)) {
      // kstatus says Terminating for any deletion; the Argo CD check still reports a Stalled one as Degraded.
      const stalledDeletion =
        v.kstatus.status === 'Terminating' && current(v.object) && isTrue(v.object, ConditionType.Stalled);
      assert.equal(v.argo.status, stalledDeletion ? 'Degraded' : argoFor[v.kstatus.status], label(v));
    }
  });
});
