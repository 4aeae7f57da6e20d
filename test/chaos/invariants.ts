// The invariants of DESIGN.md §4 that a chaos run can check after the fact, as pure functions of what the run
// collected: the simulator's audit log (every AWS call, by caller) and final state (every connector and every
// service operation with its planned timing, never purged within a run), samples of the cluster taken while
// the run went on, the lifetimes of the operator processes, and the simulator's own violation list.
// Each check returns violations as sentences naming the resource, the call and the time; none of them trusts
// the operator's own view.
import { OwnershipTag } from '../../src/api/constants.ts';

/** One entry of GET /_sim/calls. */
export interface AuditCall {
  seq: number;
  /** ISO time with milliseconds. */
  time: string;
  caller: string;
  operation: string;
  params: Record<string, unknown>;
  status: number;
  errorCode?: string;
}

export interface SimTag {
  Key: string;
  Value: string;
}

export interface SimConnector {
  arn: string;
  name: string;
  subnets: string[];
  securityGroups: string[];
  status: 'ACTIVE' | 'INACTIVE';
  createdAt: number;
  deletedAt?: number;
  tags: SimTag[];
}

export interface SimNetwork {
  egressType: 'DEFAULT' | 'VPC';
  vpcConnectorArn?: string;
}

export interface SimOperation {
  id: string;
  type: string;
  startedAt: number;
  /** IN_PROGRESS until then; null = stuck forever. */
  workEndsAt: number | null;
  outcome: 'SUCCEEDED' | 'FAILED' | 'ROLLBACK_SUCCEEDED' | 'ROLLBACK_FAILED';
  rollbackEndsAt?: number;
  previousNetwork?: SimNetwork;
  nextNetwork?: SimNetwork;
}

export interface SimService {
  arn: string;
  network: SimNetwork;
  /** Newest first. */
  operations: SimOperation[];
}

/** The part of GET /_sim/state the checks read. */
export interface SimState {
  regions: Record<string, { vpcConnectors: SimConnector[]; services: SimService[] }>;
}

/** A ServiceNetworking as the runner saw it in the cluster at `at`, beside the simulator's state then. */
export interface ReadySample {
  at: number;
  key: string;
  serviceArn: string;
  generation: number;
  /** The Ready condition, when True at the current generation; undefined otherwise. */
  readySince?: number;
  lastOperationStatus?: string;
  /** The generation whose spec that operation applied (status.lastOperation.generation). */
  lastOperationGeneration?: number;
  /** spec.egress: DEFAULT, or the VpcConnector object ("ns/name") it names. */
  desired: { type: 'DEFAULT' } | { type: 'VPC'; connectorObject: string };
  /** The simulator's facts about the service, read just after the object (see awsFactsFor). */
  aws?: AwsFacts;
}

/** One operator process: its AWS caller (as the audit log spells it) and when it ran. */
export interface OperatorInstance {
  id: string;
  caller: string;
  startedAt: number;
  endedAt?: number;
}

export interface Evidence {
  clusterName: string;
  calls: readonly AuditCall[];
  /** The state at the end of the run (after the final deletion). */
  state: SimState;
  simViolations: readonly unknown[];
  samples: readonly ReadySample[];
  /** Callers that are the operator's (every other caller is the harness or a human). */
  isOperator: (caller: string) => boolean;
  instances: readonly OperatorInstance[];
  /** Objects of either kind still in the cluster at the end ("Kind ns/name"). */
  remainingObjects: readonly string[];
  /** Objects that did not converge (or were not gone) within the run's stated bound, with the bound. */
  overdue: readonly string[];
}

export interface Violation {
  invariant: string;
  detail: string;
}

export const MUTATING_OPERATIONS: ReadonlySet<string> = new Set([
  'CreateVpcConnector',
  'DeleteVpcConnector',
  'TagResource',
  'UntagResource',
  'UpdateService',
  'CreateServiceLinkedRole',
  'DeleteServiceLinkedRole',
]);

const FAILED_OUTCOMES: ReadonlySet<string> = new Set(['FAILED', 'ROLLBACK_SUCCEEDED', 'ROLLBACK_FAILED']);

const ms = (iso: string): number => Date.parse(iso);
const at = (t: number): string => new Date(t).toISOString();

/** When an operation stopped being in flight (Infinity: stuck forever). */
export function operationEnd(op: SimOperation): number {
  if (op.workEndsAt === null) return Number.POSITIVE_INFINITY;
  return op.outcome === 'ROLLBACK_SUCCEEDED' || op.outcome === 'ROLLBACK_FAILED'
    ? (op.rollbackEndsAt ?? op.workEndsAt)
    : op.workEndsAt;
}

/** The connectors a service uses at `t`: both ends of an operation in flight, else where the last one left it. */
export function connectorsInUse(service: SimService, t: number): Set<string> {
  const ops = [...service.operations]
    .filter((o) => o.previousNetwork !== undefined && o.nextNetwork !== undefined)
    .sort((a, b) => a.startedAt - b.startedAt);
  const vpc = (n: SimNetwork | undefined): string[] =>
    n?.egressType === 'VPC' && n.vpcConnectorArn !== undefined ? [n.vpcConnectorArn] : [];
  let current: SimNetwork | undefined = ops[0]?.previousNetwork ?? service.network;
  for (const op of ops) {
    if (op.startedAt > t) break;
    if (t < operationEnd(op)) return new Set([...vpc(op.previousNetwork), ...vpc(op.nextNetwork)]);
    current = op.outcome === 'SUCCEEDED' ? op.nextNetwork : op.previousNetwork;
  }
  return new Set(vpc(current));
}

function ownerOf(c: SimConnector): { cluster?: string; object?: string } {
  const tag = (key: string): string | undefined => c.tags.find((t) => t.Key === key)?.Value;
  const namespace = tag(OwnershipTag.namespace);
  const name = tag(OwnershipTag.name);
  return {
    ...(tag(OwnershipTag.cluster) === undefined ? {} : { cluster: tag(OwnershipTag.cluster) }),
    ...(namespace === undefined || name === undefined ? {} : { object: `${namespace}/${name}` }),
  };
}

const allConnectors = (state: SimState): SimConnector[] =>
  Object.values(state.regions).flatMap((r) => r.vpcConnectors);
const allServices = (state: SimState): SimService[] =>
  Object.values(state.regions).flatMap((r) => r.services);
const ended = (c: SimConnector): number => c.deletedAt ?? Number.POSITIVE_INFINITY;

/** I1: no DeleteVpcConnector while a service uses the connector; no role deletion while a connector exists. */
export function checkDeletions(e: Evidence): Violation[] {
  const out: Violation[] = [];
  const services = allServices(e.state);
  const connectors = allConnectors(e.state);
  for (const call of e.calls) {
    if (!e.isOperator(call.caller)) continue;
    const t = ms(call.time);
    if (call.operation === 'DeleteVpcConnector') {
      const arn = typeof call.params.VpcConnectorArn === 'string' ? call.params.VpcConnectorArn : '';
      const users = services.filter((s) => connectorsInUse(s, t).has(arn)).map((s) => s.arn);
      if (users.length > 0) {
        out.push({
          invariant: 'I1: DeleteVpcConnector while in use',
          detail: `call #${call.seq} at ${call.time} by ${call.caller} deleted ${arn} (answered ${call.status}${call.errorCode === undefined ? '' : ` ${call.errorCode}`}) while ${users.join(', ')} used it`,
        });
      }
    }
    if (call.operation === 'DeleteServiceLinkedRole' && call.status === 200) {
      const alive = connectors.filter((c) => c.createdAt <= t && t < ended(c)).map((c) => c.arn);
      if (alive.length > 0) {
        out.push({
          invariant: 'I1: DeleteServiceLinkedRole while connectors exist',
          detail: `call #${call.seq} at ${call.time} by ${call.caller} while ${alive.length} connector(s) existed: ${alive.join(', ')}`,
        });
      }
    }
  }
  return out;
}

/**
 * I2: never two ACTIVE connectors of one object with the same subnets and security groups (a create that
 * should have been an adoption), never more than two at once (a rotation has an old and a new one), and
 * none of this cluster's connectors left ACTIVE at the end. I9: every connector the operator created carries
 * the ownership tags.
 */
export function checkConnectors(e: Evidence): Violation[] {
  const out: Violation[] = [];
  const mine = allConnectors(e.state).filter((c) => ownerOf(c).cluster === e.clusterName);
  const byObject = new Map<string, SimConnector[]>();
  for (const c of mine) {
    const object = ownerOf(c).object ?? '(untagged)';
    byObject.set(object, [...(byObject.get(object) ?? []), c]);
  }
  const config = (c: SimConnector): string =>
    `${[...c.subnets].sort().join(',')}|${[...c.securityGroups].sort().join(',')}`;
  for (const [object, list] of byObject) {
    const sorted = [...list].sort((a, b) => a.createdAt - b.createdAt);
    for (const [i, c] of sorted.entries()) {
      const overlapping = sorted.filter(
        (o) => o !== c && o.createdAt <= c.createdAt && c.createdAt < ended(o),
      );
      const twin = overlapping.find((o) => config(o) === config(c));
      if (twin !== undefined) {
        out.push({
          invariant: 'I2: duplicate connector',
          detail: `${object}: ${c.arn} was created at ${at(c.createdAt)} while ${twin.arn}, with the same subnets and security groups, was ACTIVE`,
        });
      } else if (overlapping.length >= 2) {
        out.push({
          invariant: 'I2: more than two ACTIVE connectors for one object',
          detail: `${object}: ${c.arn} (#${i + 1}) was created at ${at(c.createdAt)} while ${overlapping.map((o) => o.arn).join(' and ')} were ACTIVE`,
        });
      }
    }
  }
  for (const c of mine) {
    if (c.status === 'ACTIVE') {
      out.push({
        invariant: 'I2: connector left behind',
        detail: `${c.arn} (object ${ownerOf(c).object ?? '(untagged)'}) is still ACTIVE at the end of the run`,
      });
    }
  }
  for (const call of e.calls) {
    if (call.operation !== 'CreateVpcConnector' || !e.isOperator(call.caller)) continue;
    const tags = Array.isArray(call.params.Tags) ? (call.params.Tags as SimTag[]) : [];
    const keys = new Set(tags.map((t) => t.Key));
    const missing = Object.values(OwnershipTag).filter((k) => !keys.has(k));
    if (missing.length > 0) {
      out.push({
        invariant: 'I9: connector created without ownership tags',
        detail: `call #${call.seq} at ${call.time} created ${String(call.params.VpcConnectorName)} without ${missing.join(', ')}`,
      });
    }
  }
  return out;
}

/** I4: never a second operation on a service while one is in flight (the simulator keeps every operation). */
export function checkServiceOperations(e: Evidence): Violation[] {
  const out: Violation[] = [];
  for (const s of allServices(e.state)) {
    const ops = [...s.operations].sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 1; i < ops.length; i++) {
      const before = ops[i - 1];
      const op = ops[i];
      if (before === undefined || op === undefined) continue;
      if (op.startedAt < operationEnd(before)) {
        out.push({
          invariant: 'I4: UpdateService while an operation was in flight',
          detail: `${s.arn}: operation ${op.id} started at ${at(op.startedAt)} while ${before.id} (started ${at(before.startedAt)}) ran until ${at(operationEnd(before))}`,
        });
      }
    }
  }
  return out;
}

/** What AWS (the simulator) had for a service at a sample's instant: its egress and its latest operation. */
export interface AwsFacts {
  egressType: 'DEFAULT' | 'VPC';
  vpcConnectorArn?: string;
  /** The VpcConnector object ("ns/name") whose ownership tags the connector carries. */
  connectorObject?: string;
  latestOperation?: { id: string; outcome: string; end: number };
}

/** The AwsFacts of `serviceArn` in `state`, counting only operations started by `t`. */
export function awsFactsFor(state: SimState, serviceArn: string, t: number): AwsFacts | undefined {
  const service = allServices(state).find((s) => s.arn === serviceArn);
  if (service === undefined) return undefined;
  const latest = [...service.operations]
    .filter((o) => o.startedAt <= t)
    .sort((a, b) => b.startedAt - a.startedAt)[0];
  const connector = allConnectors(state).find((c) => c.arn === service.network.vpcConnectorArn);
  const object = connector === undefined ? undefined : ownerOf(connector).object;
  return {
    egressType: service.network.egressType,
    ...(service.network.vpcConnectorArn === undefined
      ? {}
      : { vpcConnectorArn: service.network.vpcConnectorArn }),
    ...(object === undefined ? {} : { connectorObject: object }),
    ...(latest === undefined
      ? {}
      : { latestOperation: { id: latest.id, outcome: latest.outcome, end: operationEnd(latest) } }),
  };
}

/**
 * I5: a ServiceNetworking is never Ready on a failed operation: neither while its own record
 * (status.lastOperation) says the operation it started for this generation (or a later one) failed, nor when
 * it turned Ready after AWS's latest operation on the service failed and AWS kept a configuration other than
 * the one the spec asks for. A later generation whose spec AWS already had (an edit back to what the rollback
 * kept) is Ready without an operation while the record still shows the rolled-back one; the second check
 * covers it against AWS.
 */
export function checkReadyAfterFailure(e: Evidence): Violation[] {
  const out: Violation[] = [];
  for (const sample of e.samples) {
    if (sample.readySince === undefined) continue;
    if (
      sample.lastOperationStatus !== undefined &&
      FAILED_OUTCOMES.has(sample.lastOperationStatus) &&
      sample.generation <= (sample.lastOperationGeneration ?? sample.generation)
    ) {
      out.push({
        invariant: 'I5: Ready on a failed operation',
        detail: `${sample.key} at ${at(sample.at)} is Ready at generation ${sample.generation} while status.lastOperation${sample.lastOperationGeneration === undefined ? '' : ` (generation ${sample.lastOperationGeneration})`} is ${sample.lastOperationStatus}`,
      });
      continue;
    }
    const aws = sample.aws;
    const latest = aws?.latestOperation;
    if (
      aws === undefined ||
      latest === undefined ||
      !FAILED_OUTCOMES.has(latest.outcome) ||
      latest.end > sample.at
    ) {
      continue;
    }
    const matches =
      sample.desired.type === 'DEFAULT'
        ? aws.egressType === 'DEFAULT'
        : aws.egressType === 'VPC' && aws.connectorObject === sample.desired.connectorObject;
    if (!matches && sample.readySince >= latest.end) {
      out.push({
        invariant: 'I5: Ready on a failed operation',
        detail: `${sample.key} became Ready at ${at(sample.readySince)} after operation ${latest.id} ended ${latest.outcome} at ${at(latest.end)}, and AWS still has egress ${aws.egressType}${aws.vpcConnectorArn === undefined ? '' : ` via ${aws.vpcConnectorArn}`}`,
      });
    }
  }
  return out;
}

/**
 * I7: at most one operator process mutates AWS at a time. Each mutating call is attributed to the newest
 * process of its caller that had started by then (a killed process's call still in flight is its
 * successor's problem, not a second writer); the windows [first, last mutation] of two processes with
 * different callers never overlap.
 */
export function mutationWindows(
  e: Evidence,
): Map<string, { caller: string; first: number; last: number; count: number }> {
  const windows = new Map<string, { caller: string; first: number; last: number; count: number }>();
  for (const call of e.calls) {
    if (!MUTATING_OPERATIONS.has(call.operation) || !e.isOperator(call.caller)) continue;
    const t = ms(call.time);
    const instance = e.instances
      .filter((i) => i.caller === call.caller && i.startedAt <= t)
      .sort((a, b) => b.startedAt - a.startedAt)[0];
    const id = instance?.id ?? `unknown process of ${call.caller}`;
    const w = windows.get(id);
    if (w === undefined) windows.set(id, { caller: call.caller, first: t, last: t, count: 1 });
    else {
      w.last = Math.max(w.last, t);
      w.count++;
    }
  }
  return windows;
}

export function checkSingleWriter(e: Evidence): Violation[] {
  const out: Violation[] = [];
  const list = [...mutationWindows(e)].sort((a, b) => a[1].first - b[1].first);
  for (let i = 0; i < list.length; i++) {
    for (let j = i + 1; j < list.length; j++) {
      const [a, wa] = list[i] ?? ['', undefined];
      const [b, wb] = list[j] ?? ['', undefined];
      if (wa === undefined || wb === undefined || wa.caller === wb.caller) continue;
      if (wb.first <= wa.last) {
        out.push({
          invariant: 'I7: two replicas mutated AWS at the same time',
          detail: `${a} (${wa.caller}) mutated from ${at(wa.first)} to ${at(wa.last)}, ${b} (${wb.caller}) from ${at(wb.first)}`,
        });
      }
    }
  }
  return out;
}

/**
 * The simulator's own violations, less its I7 reports of a handover: the simulator flags two callers
 * mutating one resource within a few seconds, without knowing processes. When the earlier caller's
 * process had exited before the later call (a replica stopped, then another started), the two never ran
 * at once; overlapping processes are what checkSingleWriter judges, from the process windows.
 */
export function simulatorViolations(e: Evidence): Violation[] {
  return e.simViolations
    .filter((v) => !isHandover(e, v))
    .map((v) => ({ invariant: 'GET /_sim/violations', detail: JSON.stringify(v) }));
}

function isHandover(e: Evidence, v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const { invariant, time, detail } = v as Record<string, unknown>;
  if (typeof invariant !== 'string' || !invariant.startsWith('I7:')) return false;
  if (typeof time !== 'string' || typeof detail !== 'string') return false;
  const earlier = /^(.+) mutated it (\d+) ms earlier$/.exec(detail);
  if (earlier === null) return false;
  const [, caller = '', ago = '0'] = earlier;
  const at = ms(time);
  const earlierAt = at - Number(ago);
  const process = e.instances
    .filter((i) => i.caller === caller && i.startedAt <= earlierAt)
    .sort((a, b) => b.startedAt - a.startedAt)[0];
  return process?.endedAt !== undefined && process.endedAt <= at;
}

/** Everything: the checks above, the simulator's own violations, and what the run saw unconverged. */
export function checkAll(e: Evidence): Violation[] {
  return [
    ...simulatorViolations(e),
    ...checkDeletions(e),
    ...checkConnectors(e),
    ...checkServiceOperations(e),
    ...checkReadyAfterFailure(e),
    ...checkSingleWriter(e),
    ...e.overdue.map((detail) => ({ invariant: 'Convergence bound exceeded', detail })),
    ...e.remainingObjects.map((o) => ({
      invariant: 'Object left in the cluster',
      detail: `${o} still exists after the final deletion`,
    })),
  ];
}
