// One chaos run: a real kube-apiserver + etcd, the simulator, and the operator as child processes, a
// workload of VpcConnectors and ServiceNetworkings changed in random overlapping order, and faults injected
// phase after phase (operator kills throughout). At the end: faults cleared, everything must become Ready
// within a bound, then everything is deleted and must be gone within a bound; then every invariant is
// checked from the audit log, the simulator's final state and the samples of the cluster.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { API_VERSION, ConditionType, GROUP, Kind, Plural, VERSION } from '../../src/api/constants.ts';
import { crds } from '../../src/api/crds.ts';
import type { ServiceNetworking, ServiceNetworkingSpec } from '../../src/api/servicenetworking.ts';
import type { VpcConnector, VpcConnectorSpec } from '../../src/api/vpcconnector.ts';
import { ROLE_DELETION_RETRY_MS } from '../../src/controllers/vpcconnector/machine.ts';
import { createPrng } from '../../src/simulator/prng.ts';
import { startSimulator, type SimulatorConfig } from '../../src/simulator/index.ts';
import { installCrds } from '../harness/cluster.ts';
import { kubeconfigYaml, startControlPlane } from '../harness/control-plane.ts';
import { fastSimulator } from '../integration/operator/fixtures.ts';
import { startAwsProxy } from './aws-proxy.ts';
import {
  awsFactsFor,
  checkAll,
  MUTATING_OPERATIONS,
  type AuditCall,
  type OperatorInstance,
  type ReadySample,
  type SimState,
  type Violation,
} from './invariants.ts';
import { startKubeProxy } from './kube-proxy.ts';
import type { Phase, Profile } from './profiles.ts';
import {
  accessKeyOf,
  callerOf,
  restartableApiServer,
  sleep,
  startReplica,
  type OperatorReplica,
} from './processes.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const REGION = 'us-east-1';
const SUBNETS = ['subnet-0c4a05000000000a1', 'subnet-0c4a05000000000b2', 'subnet-0c4a05000000000c3'];
const SECURITY_GROUPS = ['sg-0c4a0500000000001', 'sg-0c4a0500000000002'];
const LEADER = 'Became leader; started reconciling';
/** The teardown's role deletion fault is cleared once a deletion task failed, or after this. */
const ROLE_FAULT_MAX_MS = 240_000;
const UNELECTED = 'Leader election is disabled; started reconciling';

export interface RunOptions {
  profile: Profile;
  seed: number;
  log: (line: string) => void;
}

export interface Durations {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface FailoverTime {
  killed: string;
  /** From the leader's SIGKILL to the other replica's "Became leader". */
  takeoverMs: number;
  /** From the SIGKILL to the other replica's first AWS call. */
  firstCallMs: number | undefined;
}

export interface ChaosReport {
  profile: string;
  seed: number;
  startedAt: string;
  durationMs: number;
  kills: { random: number; betweenCallAndWrite: number; leader: number; total: number };
  /** The mutating call each between-call-and-write kill followed, by operation. */
  killedAfter: Record<string, number>;
  phases: { name: string; faults: string; ms: number }[];
  /** Fault answers and events the run produced, by kind (counted from the simulator and the proxies). */
  faults: Record<string, number>;
  apiServerDowntimeMs: number[];
  convergence: { ready: Durations; deleted: Durations; settleMs: number; teardownMs: number };
  boundsMs: { settle: number; teardown: number };
  objects: { connectors: number; serviceNetworkings: number; workloadOperations: number };
  awsCalls: {
    total: number;
    mutating: number;
    perObject: number;
    mutatingPerObject: number;
    failedAndRetried: number;
    byOperation: Record<string, number>;
  };
  failovers: FailoverTime[];
  violations: Violation[];
}

type Obj = VpcConnector | ServiceNetworking;

interface Pending {
  kind: 'ready' | 'gone';
  generation: number;
  since: number;
}

function percentiles(values: number[]): Durations {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number =>
    sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
  return { count: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}

function readyAt(o: Obj): { generation: number; since: number } | undefined {
  const c = o.status?.conditions?.find((x) => x.type === ConditionType.Ready);
  if (c?.status !== 'True') return undefined;
  const generation = o.metadata.generation ?? 0;
  if ((c.observedGeneration ?? 0) < generation || (o.status?.observedGeneration ?? 0) < generation)
    return undefined;
  return { generation, since: Date.parse(c.lastTransitionTime) };
}

const tail = (r: OperatorReplica): string =>
  [...r.recent.slice(-30).map((l) => JSON.stringify(l)), ...r.rawErrors.slice(-20)].join('\n');

const stalled = (o: Obj): boolean =>
  o.status?.conditions?.some((c) => c.type === ConditionType.Stalled && c.status === 'True') ?? false;

export async function runChaos(options: RunOptions): Promise<ChaosReport> {
  const { profile, seed, log } = options;
  const prng = createPrng(seed);
  const random = (): number => prng.next();
  const between = ([lo, hi]: [number, number]): number => lo + random() * (hi - lo);
  const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(random() * list.length)];
  const started = Date.now();
  const work = mkdtempSync(join(tmpdir(), 'apprunner-net-chaos-'));
  const cleanups: (() => Promise<void>)[] = [];
  let keep = false;
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };

  try {
    // ---- the control plane, with a restartable API server and a faulty proxy for the operator ----
    const plane = await startControlPlane();
    cleanups.push(() => plane.stop());
    const ca = Buffer.from(plane.caData, 'base64');
    const apiServer = restartableApiServer({
      pid: plane.pids.apiserver,
      server: plane.server,
      ca,
      token: plane.token,
      logFile: join(plane.dir, 'apiserver.log'),
    });
    cleanups.push(() => apiServer.stop());
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(plane.kubeconfigPath);
    await installCrds(kubeConfig, crds);
    const namespace = `chaos-${seed}`;
    await kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
    const kubeProxy = await startKubeProxy(plane.server, ca, random);
    cleanups.push(() => kubeProxy.close());
    kubeProxy.faults = { watchLifetimeMs: profile.watchLifetimeMs, conflictRate: profile.conflictRate };
    const operatorKubeconfig = join(work, 'operator.kubeconfig');
    // client-node speaks plain HTTP only with TLS verification off; the proxy verifies the API server's certificate.
    const proxied = kubeconfigYaml(kubeProxy.url, plane.caData, plane.token).replace(
      /certificate-authority-data: .*/,
      'insecure-skip-tls-verify: true',
    );
    writeFileSync(operatorKubeconfig, proxied, { mode: 0o600 });

    // ---- the simulator, behind a proxy that can kill the operator right after a mutation ----
    const base: SimulatorConfig = {
      timings: fastSimulator.timings ?? {},
      behaviour: { callLogLimit: 5_000_000, concurrentCallerWindowMs: 5_000 },
      randomSeed: seed,
    };
    const sim = await startSimulator({ config: base });
    cleanups.push(() => sim.close());
    const admin = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
      const response = await fetch(`${sim.url}${path}`, {
        method,
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`simulator ${method} ${path}: HTTP ${response.status} ${text}`);
      return JSON.parse(text) as T;
    };
    const seeded = await admin<{ services: { arn: string }[] }>('POST', '/_sim/seed', {
      regions: {
        [REGION]: {
          vpcs: [
            {
              vpcId: 'vpc-0c4a0500000000001',
              subnets: SUBNETS.map((subnetId) => ({ subnetId })),
              securityGroups: SECURITY_GROUPS.map((groupId, i) => ({ groupId, groupName: `app-${i}` })),
            },
          ],
          services: Array.from({ length: profile.services }, (_, i) => ({ serviceName: `svc-${i}` })),
        },
      },
    });
    const serviceArns = seeded.services.map((s) => s.arn);
    const awsProxy = await startAwsProxy(sim.url);
    cleanups.push(() => awsProxy.close());
    const setFaults = async (phase: SimulatorConfig): Promise<void> => {
      await admin('POST', '/_sim/faults?mode=replace', base);
      await admin('POST', '/_sim/faults', phase);
    };

    // ---- operator replicas ----
    const clusterName = `chaos-${seed}`;
    const instances: OperatorInstance[] = [];
    const replicas: OperatorReplica[] = [];
    let serial = 0;
    const baseArgs = [
      '--aws-endpoint-url',
      awsProxy.url,
      '--region',
      REGION,
      '--cluster-name',
      clusterName,
      '--namespace',
      namespace,
      '--tenancy',
      'SingleTenant',
      '--service-linked-role-deletion',
      'WhenUnused',
      // Objects Stalled by a fault a human then fixes are looked at again within this.
      '--resync-period',
      '30s',
      '--bind-address',
      '127.0.0.1',
      '--health-port',
      '0',
      '--metrics-port',
      '0',
      '--log-level',
      'info',
    ];
    const launch = (slot: string, leaderElect: boolean): OperatorReplica => {
      serial++;
      const replica = startReplica({
        root,
        slot,
        serial,
        kubeconfigPath: operatorKubeconfig,
        args: leaderElect
          ? [
              ...baseArgs,
              '--leader-elect',
              '--leader-elect-namespace',
              namespace,
              '--leader-elect-name',
              'chaos',
            ]
          : baseArgs,
        milestones: [LEADER, UNELECTED],
        logFile: join(work, `operator-${slot}-${serial}.log`),
      });
      replicas.push(replica);
      instances.push({ id: replica.id, caller: callerOf(slot), startedAt: replica.startedAt });
      void replica.exited.then(() => {
        const entry = instances.find((i) => i.id === replica.id);
        if (entry !== undefined && replica.endedAt !== undefined) entry.endedAt = replica.endedAt;
      });
      return replica;
    };
    cleanups.push(async () => {
      await Promise.all(replicas.map((r) => r.kill()));
    });

    // ---- the cluster as the runner sees it ----
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const ref = (kind: 'vpcc' | 'svcnet') => ({
      group: GROUP,
      version: VERSION,
      plural: kind === 'vpcc' ? Plural.VpcConnector : Plural.ServiceNetworking,
      namespace,
    });
    const list = async <T extends Obj>(kind: 'vpcc' | 'svcnet'): Promise<T[]> =>
      ((await custom.listNamespacedCustomObject(ref(kind))) as { items: T[] }).items;
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

    const pending = new Map<string, Pending>();
    const readyDurations: number[] = [];
    const goneDurations: number[] = [];
    const samples: ReadySample[] = [];
    const calls: AuditCall[] = [];
    let workloadOperations = 0;
    const createdObjects = { connectors: 0, serviceNetworkings: 0 };
    let connectorSerial = 0;
    let snSerial = 0;

    const track = (key: string, o: Obj | undefined, kind: Pending['kind']): void => {
      pending.set(key, { kind, generation: o?.metadata.generation ?? 0, since: Date.now() });
    };
    const subnetSet = (): string[] => {
      const chosen = SUBNETS.filter(() => random() < 0.5);
      return chosen.length > 0 ? chosen : [pick(SUBNETS) ?? SUBNETS[0] ?? ''];
    };
    const sgSet = (): string[] => (random() < 0.7 ? [SECURITY_GROUPS[0] ?? ''] : [...SECURITY_GROUPS]);

    /** One random change of the workload; API errors (the API server restarting) are counted, not fatal. */
    const operate = async (): Promise<void> => {
      const [connectors, sns] = await Promise.all([
        list<VpcConnector>('vpcc'),
        list<ServiceNetworking>('svcnet'),
      ]);
      const live = connectors.filter((c) => c.metadata.deletionTimestamp === undefined);
      const liveSns = sns.filter((s) => s.metadata.deletionTimestamp === undefined);
      const taken = new Set(sns.map((s) => s.spec.serviceArn));
      const free = serviceArns.filter((a) => !taken.has(a));
      const egress = (): ServiceNetworkingSpec['egress'] => {
        const target = random() < 0.2 ? undefined : pick(live);
        return target === undefined
          ? { type: 'DEFAULT' }
          : { type: 'VPC', vpcConnectorRef: { name: target.metadata.name ?? '' } };
      };
      const choices: [number, () => Promise<void>][] = [
        [
          live.length < profile.connectors ? 3 : 0,
          async () => {
            const name = `c${++connectorSerial}`;
            const spec: Partial<VpcConnectorSpec> = {
              subnets: subnetSet(),
              securityGroups: sgSet(),
              updatePolicy: 'Rotate',
            };
            const body = {
              apiVersion: API_VERSION,
              kind: Kind.VpcConnector,
              metadata: { name, namespace },
              spec,
            };
            const created = (await custom.createNamespacedCustomObject({
              ...ref('vpcc'),
              body,
            })) as VpcConnector;
            createdObjects.connectors++;
            track(`VpcConnector ${name}`, created, 'ready');
          },
        ],
        [
          live.length > 0 ? 2 : 0,
          async () => {
            const target = pick(live);
            if (target === undefined) return;
            const name = target.metadata.name ?? '';
            const spec = random() < 0.7 ? { subnets: subnetSet() } : { securityGroups: sgSet() };
            const patched = (await custom.patchNamespacedCustomObject(
              { ...ref('vpcc'), name, body: { spec } },
              merge,
            )) as VpcConnector;
            track(`VpcConnector ${name}`, patched, 'ready');
          },
        ],
        [
          live.length > 1 ? 1 : 0,
          async () => {
            const name = pick(live)?.metadata.name ?? '';
            await custom.deleteNamespacedCustomObject({ ...ref('vpcc'), name });
            track(`VpcConnector ${name}`, undefined, 'gone');
          },
        ],
        [
          free.length > 0 ? 3 : 0,
          async () => {
            const serviceArn = pick(free) ?? '';
            const name = `sn${++snSerial}`;
            const spec: ServiceNetworkingSpec = { serviceArn, egress: egress(), deletionPolicy: 'Detach' };
            const body = {
              apiVersion: API_VERSION,
              kind: Kind.ServiceNetworking,
              metadata: { name, namespace },
              spec,
            };
            const created = (await custom.createNamespacedCustomObject({
              ...ref('svcnet'),
              body,
            })) as ServiceNetworking;
            createdObjects.serviceNetworkings++;
            track(`ServiceNetworking ${name}`, created, 'ready');
          },
        ],
        [
          liveSns.length > 0 ? 3 : 0,
          async () => {
            const name = pick(liveSns)?.metadata.name ?? '';
            // A merge patch replaces egress wholesale only if the other member is removed explicitly.
            const next = egress();
            const body = {
              spec: {
                egress:
                  next.type === 'VPC'
                    ? { ...next, vpcConnectorArn: null }
                    : { type: 'DEFAULT', vpcConnectorRef: null, vpcConnectorArn: null },
              },
            };
            const patched = (await custom.patchNamespacedCustomObject(
              { ...ref('svcnet'), name, body },
              merge,
            )) as ServiceNetworking;
            track(`ServiceNetworking ${name}`, patched, 'ready');
          },
        ],
        [
          liveSns.length > 0 ? 1 : 0,
          async () => {
            const name = pick(liveSns)?.metadata.name ?? '';
            await custom.deleteNamespacedCustomObject({ ...ref('svcnet'), name });
            track(`ServiceNetworking ${name}`, undefined, 'gone');
          },
        ],
      ];
      const total = choices.reduce((sum, [w]) => sum + w, 0);
      let roll = random() * total;
      for (const [weight, action] of choices) {
        roll -= weight;
        if (weight > 0 && roll < 0) {
          await action();
          workloadOperations++;
          return;
        }
      }
    };

    // ---- the observer: convergence, samples for I5, the audit log as it grows ----
    let lastSeq = 0;
    let latestState: SimState | undefined;
    let lastObjects: { connectors: VpcConnector[]; sns: ServiceNetworking[] } = { connectors: [], sns: [] };
    const observe = async (): Promise<void> => {
      const [connectors, sns] = await Promise.all([
        list<VpcConnector>('vpcc'),
        list<ServiceNetworking>('svcnet'),
      ]);
      const seenAt = Date.now();
      const state = await admin<SimState>('GET', '/_sim/state');
      const fresh = await admin<{ calls: AuditCall[] }>('GET', `/_sim/calls?since=${lastSeq}`);
      for (const c of fresh.calls) calls.push(c);
      lastSeq = calls.at(-1)?.seq ?? lastSeq;
      latestState = state;
      lastObjects = { connectors, sns };
      const byKey = new Map<string, Obj>([
        ...connectors.map((c): [string, Obj] => [`VpcConnector ${c.metadata.name ?? ''}`, c]),
        ...sns.map((s): [string, Obj] => [`ServiceNetworking ${s.metadata.name ?? ''}`, s]),
      ]);
      for (const [key, p] of pending) {
        const o = byKey.get(key);
        if (p.kind === 'gone' && o === undefined) {
          goneDurations.push(seenAt - p.since);
          pending.delete(key);
        } else if (p.kind === 'ready' && o !== undefined) {
          const ready = readyAt(o);
          if (ready !== undefined && ready.generation >= p.generation) {
            readyDurations.push(seenAt - p.since);
            pending.delete(key);
          }
        } else if (p.kind === 'ready' && o === undefined) pending.delete(key);
      }
      for (const s of sns) {
        const ready = readyAt(s);
        if (ready === undefined) continue;
        const aws = awsFactsFor(state, s.spec.serviceArn, seenAt);
        const egress = s.spec.egress;
        samples.push({
          at: seenAt,
          key: `${namespace}/${s.metadata.name ?? ''}`,
          serviceArn: s.spec.serviceArn,
          generation: ready.generation,
          readySince: ready.since,
          ...(s.status?.lastOperation?.status === undefined
            ? {}
            : { lastOperationStatus: s.status.lastOperation.status }),
          ...(s.status?.lastOperation?.generation === undefined
            ? {}
            : { lastOperationGeneration: s.status.lastOperation.generation }),
          desired:
            egress.type === 'VPC'
              ? { type: 'VPC', connectorObject: `${namespace}/${egress.vpcConnectorRef?.name ?? ''}` }
              : { type: 'DEFAULT' },
          ...(aws === undefined ? {} : { aws }),
        });
      }
    };
    /** Switches the background loops read (an object, so that no narrowing pretends they never change). */
    const loops = { observing: true, killing: false, killerStopped: false };
    const replicaNow = (): OperatorReplica => current;
    const observer = (async () => {
      while (loops.observing) {
        await observe().catch(() => undefined);
        await sleep(1_000);
      }
    })();

    // ---- kills ----
    const kills = { random: 0, betweenCallAndWrite: 0, leader: 0 };
    const killedAfter: Record<string, number> = {};
    let current = launch('a', false);
    if (!(await current.waitForLog((l) => l.msg === UNELECTED, 60_000))) {
      throw new Error(`the operator did not start reconciling within 60 s:\n${tail(current)}`);
    }

    /**
     * Kills the single replica at random instants while `loops.killing` is set, across phase boundaries, and starts
     * it again after a pause. `pauseKills` waits for a kill in progress to have its replacement started.
     */
    let cycle: Promise<void> = Promise.resolve();
    const killOnce = async (): Promise<void> => {
      const victim = current;
      if (random() < profile.betweenCallAndWriteShare) {
        let operation: string | undefined;
        const trapped = awsProxy
          .killOnNextMutation(accessKeyOf('a'), () => victim.kill())
          .then((op) => {
            operation = op;
          });
        await Promise.race([trapped, sleep(10_000)]);
        awsProxy.disarm();
        if (operation === undefined) {
          await victim.kill();
          kills.random++;
        } else {
          kills.betweenCallAndWrite++;
          killedAfter[operation] = (killedAfter[operation] ?? 0) + 1;
        }
      } else {
        await victim.kill();
        kills.random++;
      }
      await sleep(between(profile.restartPauseMs));
      current = launch('a', false);
    };
    const killer = (async () => {
      while (!loops.killerStopped) {
        const victim = current;
        const due = victim.startedAt + between(profile.killAfterMs);
        const stillDue = (): boolean => loops.killing && replicaNow() === victim && !loops.killerStopped;
        while (Date.now() < due && stillDue()) await sleep(100);
        if (!stillDue()) {
          await sleep(100);
          continue;
        }
        cycle = killOnce();
        await cycle;
      }
    })();
    const pauseKills = async (): Promise<void> => {
      loops.killing = false;
      await cycle;
    };

    const workloadLoop = async (until: () => boolean): Promise<void> => {
      while (!until()) {
        await sleep(between(profile.operationEveryMs));
        if (until()) return;
        await operate().catch(() => undefined);
      }
    };

    // ---- phases ----
    const failovers: FailoverTime[] = [];
    const apiServerDowntimeMs: number[] = [];
    const phaseTimes: ChaosReport['phases'] = [];
    const runPhase = async (phase: Phase): Promise<void> => {
      const phaseStart = Date.now();
      log(`phase: ${phase.name} (${phase.faults})`);
      const activeConnectors = (latestState?.regions[REGION]?.vpcConnectors ?? []).filter(
        (c) => c.status === 'ACTIVE',
      ).length;
      await setFaults(
        typeof phase.sim === 'function' ? phase.sim({ activeConnectors, serviceArns }) : phase.sim,
      );
      if (phase.leaderKills !== undefined) {
        await failoverPhase(phase.leaderKills);
      } else {
        const end = phaseStart + profile.phaseMs;
        const done = (): boolean => Date.now() >= end;
        const restarts = (async () => {
          for (let i = 0; i < (phase.apiServerRestarts ?? 0); i++) {
            const at = phaseStart + ((i + 0.5) * profile.phaseMs) / (phase.apiServerRestarts ?? 1);
            while (Date.now() < at) await sleep(100);
            const down = await apiServer.restart();
            apiServerDowntimeMs.push(down);
            log(`  kube-apiserver restarted (${down} ms unavailable)`);
          }
        })();
        loops.killing = true;
        await Promise.all([workloadLoop(done), restarts]);
      }
      phaseTimes.push({ name: phase.name, faults: phase.faults, ms: Date.now() - phaseStart });
      log(
        `  kills so far: ${kills.random} random, ${kills.betweenCallAndWrite} between call and write, ${kills.leader} leader`,
      );
    };

    const failoverPhase = async (leaderKills: number): Promise<void> => {
      await pauseKills();
      await current.stop();
      const live: Record<string, OperatorReplica> = { a: launch('a', true), b: launch('b', true) };
      let done = false;
      const workload = workloadLoop(() => done);
      const leaderOf = (): OperatorReplica | undefined =>
        Object.values(live).find(
          (r) => r.endedAt === undefined && r.firstLog((l) => l.msg === LEADER) !== undefined,
        );
      const waitLeader = async (timeoutMs: number): Promise<OperatorReplica | undefined> => {
        const deadline = Date.now() + timeoutMs;
        while (Date.now() < deadline) {
          const leader = leaderOf();
          if (leader !== undefined) return leader;
          await sleep(100);
        }
        return undefined;
      };
      try {
        for (let i = 0; i < leaderKills; i++) {
          const leader = await waitLeader(90_000);
          if (leader === undefined) throw new Error('no replica became leader within 90 s');
          await sleep(between([3_000, 8_000]));
          const killedAt = Date.now();
          await leader.kill();
          kills.leader++;
          const other = Object.values(live).find((r) => r !== leader);
          await sleep(between(profile.restartPauseMs));
          live[leader.slot] = launch(leader.slot, true);
          const next = await waitLeader(90_000);
          const became = next?.firstLog((l) => l.msg === LEADER);
          if (next === undefined || became === undefined)
            throw new Error('no replica took over within 90 s of the leader kill');
          failovers.push({ killed: leader.id, takeoverMs: became - killedAt, firstCallMs: undefined });
          log(
            `  leader ${leader.id} killed; ${next.id} took over after ${became - killedAt} ms${next === other ? '' : ' (the restarted one)'}`,
          );
          firstCallChecks.push({ index: failovers.length - 1, caller: callerOf(next.slot), after: killedAt });
        }
      } finally {
        done = true;
        await workload;
        await Promise.all(Object.values(live).map((r) => r.stop()));
      }
      current = launch('a', false);
      await current.waitForLog((l) => l.msg === UNELECTED, 60_000);
    };
    const firstCallChecks: { index: number; caller: string; after: number }[] = [];

    for (const phase of profile.phases) await runPhase(phase);

    // ---- settle: faults cleared, Stalled objects fixed as a human would, everything Ready within a bound ----
    log('phase: settle (faults cleared, no kills; every object must become Ready)');
    await pauseKills();
    await setFaults({});
    kubeProxy.faults = { watchLifetimeMs: profile.watchLifetimeMs, conflictRate: profile.conflictRate };
    const settleStart = Date.now();
    const overdue: string[] = [];
    let retrySerial = 0;
    /**
     * What a human would do once the faults are gone: point ServiceNetworkings whose connector is gone or
     * going at DEFAULT, and edit every Stalled object so that its new generation is tried again. Returns how
     * many objects that are not being deleted are not Ready yet.
     */
    const repair = async (): Promise<number> => {
      const connectors = await list<VpcConnector>('vpcc');
      const sns = await list<ServiceNetworking>('svcnet');
      const live = new Set(
        connectors.filter((c) => c.metadata.deletionTimestamp === undefined).map((c) => c.metadata.name),
      );
      let notReady = 0;
      for (const s of sns) {
        if (s.metadata.deletionTimestamp !== undefined) continue;
        const name = s.metadata.name ?? '';
        const refName = s.spec.egress.vpcConnectorRef?.name;
        const dangling = s.spec.egress.type === 'VPC' && refName !== undefined && !live.has(refName);
        if (readyAt(s) === undefined || dangling) notReady++;
        if (!dangling && !stalled(s)) continue;
        const spec =
          dangling || s.spec.egress.type === 'VPC'
            ? { egress: { type: 'DEFAULT', vpcConnectorRef: null, vpcConnectorArn: null } }
            : { ingress: { isPubliclyAccessible: ++retrySerial % 2 === 0 } };
        await custom
          .patchNamespacedCustomObject({ ...ref('svcnet'), name, body: { spec } }, merge)
          .catch(() => undefined);
      }
      for (const c of connectors) {
        if (c.metadata.deletionTimestamp !== undefined || readyAt(c) !== undefined) continue;
        notReady++;
        if (stalled(c)) {
          const body = { spec: { tags: { 'chaos-retry': String(++retrySerial) } } };
          await custom
            .patchNamespacedCustomObject({ ...ref('vpcc'), name: c.metadata.name ?? '', body }, merge)
            .catch(() => undefined);
        }
      }
      return notReady;
    };
    let settledCount = -1;
    const settleDeadline = settleStart + profile.settleBoundMs;
    while (Date.now() < settleDeadline) {
      settledCount = await repair().catch(() => -1);
      if (settledCount === 0) break;
      await sleep(3_000);
    }
    const settleMs = Date.now() - settleStart;
    if (settledCount !== 0) {
      for (const o of [...lastObjects.connectors, ...lastObjects.sns]) {
        if (readyAt(o) === undefined && o.metadata.deletionTimestamp === undefined) {
          overdue.push(
            `${o.kind} ${namespace}/${o.metadata.name ?? ''} was not Ready ${profile.settleBoundMs / 1000} s after the faults were cleared: ${JSON.stringify(o.status?.conditions?.map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`))}`,
          );
        }
      }
    }
    log(
      `  settled in ${settleMs} ms${settledCount === 0 ? '' : ` (NOT within ${profile.settleBoundMs} ms)`}`,
    );

    // ---- teardown: everything deleted in random order, kills continue, role deletion fails at first ----
    const roleFails = profile.roleDeletionFailsInTeardown;
    const teardownBoundMs = profile.teardownBoundMs + (roleFails ? ROLE_DELETION_RETRY_MS + 60_000 : 0);
    log(
      `phase: teardown (everything deleted${roleFails ? '; the role deletion fails at first' : ''}; kills continue)`,
    );
    await setFaults(roleFails ? { faults: { slrDeletionFailure: true } } : {});
    const teardownStart = Date.now();
    loops.killing = true;
    const everything = [
      ...(await list<VpcConnector>('vpcc')).map((o) => ['vpcc', o] as const),
      ...(await list<ServiceNetworking>('svcnet')).map((o) => ['svcnet', o] as const),
    ].sort(() => random() - 0.5);
    for (const [kind, o] of everything) {
      const name = o.metadata.name ?? '';
      await custom.deleteNamespacedCustomObject({ ...ref(kind), name }).catch(() => undefined);
      track(`${o.kind} ${name}`, undefined, 'gone');
    }
    let roleFaultCleared = !roleFails;
    let remaining: string[] = [];
    const teardownDeadline = teardownStart + teardownBoundMs;
    while (Date.now() < teardownDeadline) {
      const state = await admin<{ iam: { deletionTasks: { status: string }[] } }>('GET', '/_sim/state');
      if (
        !roleFaultCleared &&
        (state.iam.deletionTasks.some((t) => t.status === 'FAILED') ||
          Date.now() - teardownStart > ROLE_FAULT_MAX_MS)
      ) {
        await setFaults({});
        roleFaultCleared = true;
        log('  role deletion fault cleared');
      }
      const left = await Promise.all([list<VpcConnector>('vpcc'), list<ServiceNetworking>('svcnet')]).catch(
        () => undefined,
      );
      if (left !== undefined) {
        remaining = [...left[0], ...left[1]].map(
          (o) =>
            `${o.kind} ${namespace}/${o.metadata.name ?? ''} (${(o.status?.conditions ?? []).map((c) => `${c.type}=${c.status} ${c.reason}: ${c.message}`).join('; ')})`,
        );
        if (remaining.length === 0 && roleFaultCleared) break;
      }
      await sleep(1_000);
    }
    const teardownMs = Date.now() - teardownStart;
    await pauseKills();
    loops.killerStopped = true;
    await killer;
    log(
      `  torn down in ${teardownMs} ms${remaining.length === 0 ? '' : ` (NOT within ${profile.teardownBoundMs} ms)`}`,
    );
    // The operator keeps running a little: a connector it still had to delete would be deleted now.
    await sleep(3_000);
    await current.stop();
    loops.observing = false;
    await observer;
    await observe().catch(() => undefined);

    // ---- evidence and checks ----
    const finalState = await admin<SimState & { iam: { deletionTasks: { status: string }[] } }>(
      'GET',
      '/_sim/state',
    );
    const simViolations = (await admin<{ violations: unknown[] }>('GET', '/_sim/violations')).violations;
    for (const check of firstCallChecks) {
      const first = calls.find((c) => c.caller === check.caller && Date.parse(c.time) > check.after);
      const f = failovers[check.index];
      if (f !== undefined && first !== undefined) f.firstCallMs = Date.parse(first.time) - check.after;
    }
    const isOperator = (caller: string): boolean => caller.startsWith('chaos-replica-');
    const violations = checkAll({
      clusterName,
      calls,
      state: finalState,
      simViolations,
      samples,
      isOperator,
      instances,
      remainingObjects: remaining,
      overdue,
    });
    if (kills.random + kills.betweenCallAndWrite + kills.leader < profile.minKills) {
      violations.push({
        invariant: 'Profile not met',
        detail: `${kills.random + kills.betweenCallAndWrite + kills.leader} kills, the ${profile.name} profile needs ${profile.minKills}`,
      });
    }
    for (const r of replicas) {
      if (r.rawErrors.length > 0) {
        violations.push({
          invariant: 'Operator crashed on its own',
          detail: `${r.id}: ${r.rawErrors.slice(0, 5).join(' | ')}`,
        });
      }
    }

    if (violations.length > 0) {
      keep = true;
      writeFileSync(join(work, 'calls.json'), JSON.stringify(calls));
      writeFileSync(join(work, 'state.json'), JSON.stringify(finalState));
      // The violations themselves, and what the checks that need more than the audit log read, so that a
      // failure stays diagnosable when the test's own output is cut off.
      writeFileSync(
        join(work, 'violations.json'),
        JSON.stringify({ violations, simViolations, instances, samples, remaining, overdue }),
      );
      for (const v of violations) log(`violation: ${v.invariant}: ${v.detail}`);
      log(`evidence kept in ${work} (calls.json, state.json, violations.json, operator-*.log)`);
    }
    const operatorCalls = calls.filter((c) => isOperator(c.caller));
    const byOperation: Record<string, number> = {};
    for (const c of operatorCalls) byOperation[c.operation] = (byOperation[c.operation] ?? 0) + 1;
    const faults: Record<string, number> = {};
    const count = (kind: string, n = 1): void => {
      faults[kind] = (faults[kind] ?? 0) + n;
    };
    for (const c of operatorCalls) {
      if (c.errorCode === undefined) continue;
      if (/Throttl/.test(c.errorCode)) count('throttled (429/400 Throttling)');
      else if (c.status >= 500) count('internal errors (500)');
      else if (/AccessDenied/.test(c.errorCode)) count('AccessDenied');
      else if (/Quota/.test(c.errorCode)) count('ServiceQuotaExceeded');
    }
    const services = Object.values(finalState.regions).flatMap((r) => r.services);
    for (const s of services) {
      for (const op of s.operations) {
        if (op.outcome !== 'SUCCEEDED') count(`operations ${op.outcome}`);
        if (op.workEndsAt !== null && op.workEndsAt - op.startedAt >= 8_000) count('operations stuck (8 s)');
      }
    }
    count('role deletions FAILED', finalState.iam.deletionTasks.filter((t) => t.status === 'FAILED').length);
    count('watches cut by the proxy', kubeProxy.counts.watchesCut);
    count('409 Conflict answered by the proxy', kubeProxy.counts.conflicts);
    count('503 while the API server restarted', kubeProxy.counts.unavailable);
    count('kube-apiserver restarts', apiServerDowntimeMs.length);
    const failedAndRetried = operatorCalls.filter(
      (c) => c.status === 429 || c.status >= 500 || /Throttl/.test(c.errorCode ?? ''),
    ).length;
    const objects = createdObjects.connectors + createdObjects.serviceNetworkings;
    const mutating = operatorCalls.filter((c) => MUTATING_OPERATIONS.has(c.operation)).length;

    return {
      profile: profile.name,
      seed,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      kills: { ...kills, total: kills.random + kills.betweenCallAndWrite + kills.leader },
      killedAfter,
      phases: phaseTimes,
      faults,
      apiServerDowntimeMs,
      convergence: {
        ready: percentiles(readyDurations),
        deleted: percentiles(goneDurations),
        settleMs,
        teardownMs,
      },
      boundsMs: { settle: profile.settleBoundMs, teardown: teardownBoundMs },
      objects: { ...createdObjects, workloadOperations },
      awsCalls: {
        total: operatorCalls.length,
        mutating,
        perObject: objects === 0 ? 0 : operatorCalls.length / objects,
        mutatingPerObject: objects === 0 ? 0 : mutating / objects,
        failedAndRetried,
        byOperation,
      },
      failovers,
      violations,
    };
  } catch (err) {
    keep = true;
    log(`the run failed; evidence kept in ${work}`);
    throw err;
  } finally {
    await cleanup();
    if (!keep) rmSync(work, { recursive: true, force: true });
  }
}
