// Reading the simulator's audit log (`GET /_sim/calls`) the way a reviewer checks the operator: which AWS
// mutations it made, in which order, and whether that order is the one AWS requires. Pure functions over
// the log; the demo prints the steps and fails on any problem.
import { SLR_NAME, arnName } from './table.ts';

/** One entry of `GET /_sim/calls` (the fields the demo reads). */
export interface AuditCall {
  seq: number;
  /** ISO 8601. */
  time: string;
  caller: string;
  operation: string;
  params: Record<string, unknown>;
  status: number;
  errorCode?: string;
}

/** One AWS mutation the operator made, as the demo prints it. */
export interface Step {
  seq: number;
  time: string;
  operation: string;
  /** The connector, service or role it acted on. */
  subject: string;
  detail: string;
}

interface UpdateServiceParams {
  ServiceArn?: string;
  NetworkConfiguration?: { EgressConfiguration?: { EgressType?: string; VpcConnectorArn?: string } };
}

/** The operator's calls carry its SDK app id (`apprunner-net`); the simulator records it as the caller. */
const isOperator = (c: AuditCall): boolean => c.caller.startsWith('apprunner-net');

const succeeded = (c: AuditCall): boolean => isOperator(c) && c.status === 200;

/** Where an UpdateService points the service's egress: a connector ARN, or '' for DEFAULT (or no change). */
function egressOf(c: AuditCall): { service: string; connector: string } | undefined {
  if (c.operation !== 'UpdateService') return undefined;
  const p = c.params as UpdateServiceParams;
  const egress = p.NetworkConfiguration?.EgressConfiguration;
  if (p.ServiceArn === undefined || egress === undefined) return undefined;
  return {
    service: p.ServiceArn,
    connector: egress.EgressType === 'VPC' ? (egress.VpcConnectorArn ?? '') : '',
  };
}

const deletedArn = (c: AuditCall): string => (c.params as { VpcConnectorArn?: string }).VpcConnectorArn ?? '';

/** The connector each service uses after the operator's successful calls before `seq` ('' = DEFAULT). */
function attachments(calls: readonly AuditCall[], seq: number): Map<string, string> {
  const attached = new Map<string, string>();
  for (const c of calls) {
    if (c.seq >= seq || !succeeded(c)) continue;
    const egress = egressOf(c);
    if (egress !== undefined) attached.set(egress.service, egress.connector);
  }
  return attached;
}

/** Connector names the operator created and had not deleted before `seq`. */
function liveConnectors(calls: readonly AuditCall[], seq: number): Set<string> {
  const live = new Set<string>();
  for (const c of calls) {
    if (c.seq >= seq || !succeeded(c)) continue;
    if (c.operation === 'CreateVpcConnector') {
      live.add((c.params as { VpcConnectorName?: string }).VpcConnectorName ?? '');
    } else if (c.operation === 'DeleteVpcConnector') {
      live.delete(arnName(deletedArn(c)));
    }
  }
  return live;
}

/**
 * The operator's successful mutations from `fromSeq` on: connector creations and deletions, every
 * UpdateService (an attach, a move or a detach) and the role's deletion.
 */
export function mutations(calls: readonly AuditCall[], fromSeq: number): Step[] {
  const attached = attachments(calls, fromSeq);
  const steps: Step[] = [];
  for (const c of calls) {
    if (c.seq < fromSeq || !succeeded(c)) continue;
    const base = { seq: c.seq, time: c.time, operation: c.operation };
    const egress = egressOf(c);
    if (egress !== undefined) {
      const was = attached.get(egress.service) ?? '';
      attached.set(egress.service, egress.connector);
      const to = egress.connector === '' ? 'DEFAULT' : `VPC ${arnName(egress.connector)}`;
      const from = was === '' ? 'DEFAULT' : arnName(was);
      const verb = egress.connector === '' ? 'detach' : was === '' ? 'attach' : 'move';
      steps.push({
        ...base,
        subject: arnName(egress.service),
        detail: `${verb}: egress ${to} (was ${from})`,
      });
    } else if (c.operation === 'CreateVpcConnector') {
      const p = c.params as { VpcConnectorName?: string; Subnets?: string[] };
      steps.push({
        ...base,
        subject: p.VpcConnectorName ?? '?',
        detail: `subnets ${(p.Subnets ?? []).join(', ')}`,
      });
    } else if (c.operation === 'DeleteVpcConnector') {
      const arn = deletedArn(c);
      steps.push({ ...base, subject: arnName(arn), detail: `revision ${arn.split('/')[2] ?? '?'}` });
    } else if (c.operation === 'DeleteServiceLinkedRole') {
      steps.push({ ...base, subject: SLR_NAME, detail: '' });
    }
  }
  return steps;
}

/**
 * What is wrong with the teardown that started at `fromSeq`, as sentences (empty when the order is right):
 * every connector alive at the start deleted, each only once no service's last UpdateService pointed at it,
 * and the service-linked role deleted after the last connector.
 */
export function teardownProblems(calls: readonly AuditCall[], fromSeq: number): string[] {
  const problems: string[] = [];
  const deletes = calls.filter(
    (c) => c.seq >= fromSeq && succeeded(c) && c.operation === 'DeleteVpcConnector',
  );
  const deleted = new Set(deletes.map((d) => arnName(deletedArn(d))));
  for (const name of liveConnectors(calls, fromSeq)) {
    if (!deleted.has(name)) problems.push(`connector ${name} was never deleted`);
  }
  for (const d of deletes) {
    const arn = deletedArn(d);
    for (const [service, connector] of attachments(calls, d.seq)) {
      if (connector === arn) {
        problems.push(
          `${arnName(service)} was not detached before its connector ${arnName(arn)} was deleted (#${d.seq})`,
        );
      }
    }
  }
  const roleDeletes = calls.filter(
    (c) => c.seq >= fromSeq && succeeded(c) && c.operation === 'DeleteServiceLinkedRole',
  );
  if (roleDeletes.length === 0) problems.push('the service-linked role was never deleted');
  const lastConnectorDelete = Math.max(0, ...deletes.map((d) => d.seq));
  for (const r of roleDeletes) {
    if (r.seq < lastConnectorDelete) {
      problems.push(
        `the service-linked role was deleted (#${r.seq}) before the last connector (#${lastConnectorDelete})`,
      );
    }
  }
  return problems;
}

/**
 * What is wrong with the rotation of connector `oldArn` that started at `fromSeq`: every service on it moved
 * straight to a new connector (never through DEFAULT) before the old one was deleted.
 */
export function rotationProblems(calls: readonly AuditCall[], fromSeq: number, oldArn: string): string[] {
  const problems: string[] = [];
  const old = arnName(oldArn);
  const users = [...attachments(calls, fromSeq)].filter(([, c]) => c === oldArn).map(([s]) => s);
  const window = calls.filter((c) => c.seq >= fromSeq && succeeded(c));
  if (!window.some((c) => c.operation === 'CreateVpcConnector'))
    problems.push('no new connector was created');
  const removal = window.find((c) => c.operation === 'DeleteVpcConnector' && deletedArn(c) === oldArn);
  if (removal === undefined) problems.push(`the old connector ${old} was never deleted`);
  for (const service of users) {
    const moves = window.flatMap((c) => {
      const egress = egressOf(c);
      return egress?.service === service ? [{ seq: c.seq, to: egress.connector }] : [];
    });
    const name = arnName(service);
    if (moves.some((m) => m.to === ''))
      problems.push(`${name} went through DEFAULT egress during the rotation`);
    const moved = moves.find((m) => m.to !== '' && m.to !== oldArn);
    if (moved === undefined) problems.push(`${name} never moved off ${old}`);
    else if (removal !== undefined && moved.seq > removal.seq) {
      problems.push(`${name} moved (#${moved.seq}) after ${old} was deleted (#${removal.seq})`);
    }
  }
  return problems;
}

/** `#42  12:03:04.512 +1.3s  DeleteVpcConnector       team-a-shared     revision 1` */
export function formatSteps(steps: readonly Step[], originMs: number): string[] {
  const operationWidth = Math.max(0, ...steps.map((s) => s.operation.length));
  // A long subject (the role's name) runs over rather than widening every line.
  const subjectWidth = Math.min(24, Math.max(0, ...steps.map((s) => s.subject.length)));
  const seqWidth = Math.max(0, ...steps.map((s) => String(s.seq).length));
  return steps.map((s) => {
    const offset = `+${((Date.parse(s.time) - originMs) / 1000).toFixed(1)}s`;
    return [
      `#${String(s.seq).padEnd(seqWidth)}`,
      s.time.slice(11, 23),
      offset.padStart(6),
      s.operation.padEnd(operationWidth),
      s.subject.padEnd(subjectWidth),
      s.detail,
    ]
      .join('  ')
      .trimEnd();
  });
}
