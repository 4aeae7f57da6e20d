// The demo's view of the world: one row per object of both kinds (its Ready condition beside what AWS
// shows for it) and one per AWS resource the operator manages (connectors, the service-linked role), as the
// simulator reports them. Pure: the caller fetches, this module shapes, compares and lays out.
import { ConditionType } from '../api/constants.ts';
import type { ServiceNetworking } from '../api/servicenetworking.ts';
import type { VpcConnector } from '../api/vpcconnector.ts';

/** The App Runner networking service-linked role's name. */
export const SLR_NAME = 'AWSServiceRoleForAppRunnerNetworking';

/** The parts of the simulator's `GET /_sim/state` the demo reads, for one region. */
export interface AwsSnapshot {
  connectors: readonly { arn: string; name: string; revision: number; status: 'ACTIVE' | 'INACTIVE' }[];
  services: readonly {
    arn: string;
    name: string;
    status: string;
    network: { egressType: string; vpcConnectorArn?: string };
  }[];
  roles: readonly { name: string }[];
  deletionTasks: readonly { roleName: string; status: string }[];
}

export interface ObjectRow {
  /** `vpcc/<name>` or `svcnet/<name>`. */
  key: string;
  kind: 'vpcc' | 'svcnet';
  name: string;
  ready: string;
  reason: string;
  /** What AWS shows: a connector's name and status, a service's egress. */
  aws: string;
  message: string;
}

export interface AwsRow {
  /** `connector/<name>/<revision>` or `role/<name>`. */
  key: string;
  name: string;
  status: string;
  usedBy: string;
}

export interface View {
  objects: ObjectRow[];
  aws: AwsRow[];
}

/** kubectl's short names, as the table shows them. */
export const shortKind = { VpcConnector: 'vpcc', ServiceNetworking: 'svcnet' } as const;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/**
 * The condition a human wants to see: DeletionBlocked while it holds (it names the blocker), else Ready.
 */
function headline(conditions: readonly Condition[] | undefined): Condition | undefined {
  const blocked = conditions?.find((c) => c.type === ConditionType.DeletionBlocked && c.status === 'True');
  return blocked ?? conditions?.find((c) => c.type === ConditionType.Ready);
}

/**
 * The name in an App Runner ARN: `team-a-shared` from `arn:aws:apprunner:<region>:<account>:vpcconnector/
 * team-a-shared/1/<id>`, `team-a-web` from `arn:aws:apprunner:<region>:<account>:service/team-a-web/<id>`.
 */
export function arnName(arn: string): string {
  return arn.split(':').at(-1)?.split('/')[1] ?? arn;
}

function serviceEgress(aws: AwsSnapshot, serviceArn: string): string {
  const service = aws.services.find((s) => s.arn === serviceArn);
  if (service === undefined) return 'no such service';
  const { egressType, vpcConnectorArn } = service.network;
  const egress =
    egressType === 'VPC' && vpcConnectorArn !== undefined ? `VPC ${arnName(vpcConnectorArn)}` : egressType;
  if (service.status === 'RUNNING') return egress;
  return `${egress} (${service.status === 'OPERATION_IN_PROGRESS' ? 'in progress' : service.status})`;
}

function connectorState(aws: AwsSnapshot, arn: string | undefined): string {
  if (arn === undefined) return '-';
  const connector = aws.connectors.find((c) => c.arn === arn);
  return `${arnName(arn)} ${connector?.status ?? 'gone'}`;
}

function row(
  kind: ObjectRow['kind'],
  object: { metadata: { name?: string; deletionTimestamp?: string } },
  conditions: readonly Condition[] | undefined,
  aws: string,
): ObjectRow {
  const name = object.metadata.name ?? '';
  const shown = headline(conditions);
  const ready = conditions?.find((c) => c.type === ConditionType.Ready)?.status ?? '-';
  return {
    key: `${kind}/${name}`,
    kind,
    name,
    ready,
    reason: shown?.reason ?? (object.metadata.deletionTimestamp === undefined ? 'Pending' : 'Deleting'),
    aws,
    message: shown?.message ?? 'The operator has not written a status yet.',
  };
}

/** The rows of the objects listed now, connectors first, each kind in name order. */
export function objectRows(
  connectors: readonly VpcConnector[],
  networkings: readonly ServiceNetworking[],
  aws: AwsSnapshot,
): ObjectRow[] {
  const byName = <T extends { metadata: { name?: string } }>(a: T, b: T): number =>
    (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
  return [
    ...[...connectors]
      .sort(byName)
      .map((c) => row('vpcc', c, c.status?.conditions, connectorState(aws, c.status?.vpcConnectorArn))),
    ...[...networkings]
      .sort(byName)
      .map((s) => row('svcnet', s, s.status?.conditions, serviceEgress(aws, s.spec.serviceArn))),
  ];
}

/** Every connector AWS knows (INACTIVE ones until purged), in name order, then the service-linked role. */
export function awsRows(aws: AwsSnapshot): AwsRow[] {
  const connectors = [...aws.connectors]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => ({
      key: `connector/${c.name}/${c.revision}`,
      name: c.name,
      status: c.status,
      usedBy: aws.services
        .filter((s) => s.network.egressType === 'VPC' && s.network.vpcConnectorArn === c.arn)
        .map((s) => s.name)
        .join(', '),
    }));
  const role = aws.roles.find((r) => r.name === SLR_NAME);
  const task = aws.deletionTasks.findLast((t) => t.roleName === SLR_NAME);
  const roles =
    role === undefined
      ? []
      : [
          {
            key: `role/${SLR_NAME}`,
            name: SLR_NAME,
            status: task === undefined ? 'present' : `deletion ${task.status}`,
            usedBy: '',
          },
        ];
  return [...connectors, ...roles];
}

/** An object that was listed before and is not any more: the API server no longer has it. */
export function goneRow(previous: ObjectRow): ObjectRow {
  return {
    ...previous,
    ready: '-',
    reason: 'Deleted',
    aws: previous.aws,
    message: 'Gone from the API server.',
  };
}

/**
 * Keeps rows that disappeared (deleted objects stay visible, marked), in first-seen order, followed by new
 * ones.
 */
export function withGone<R extends { key: string }>(
  previous: readonly R[],
  current: readonly R[],
  gone: (row: R) => R,
): R[] {
  const now = new Map(current.map((r) => [r.key, r]));
  const kept = previous.map((r) => now.get(r.key) ?? gone(r));
  const known = new Set(previous.map((r) => r.key));
  return [...kept, ...current.filter((r) => !known.has(r.key))];
}

/** The rows of `next` that differ from the row with the same key in `before` (or are new). */
export function changed<R extends { key: string }>(before: readonly R[], next: readonly R[]): R[] {
  const old = new Map(before.map((r) => [r.key, JSON.stringify(r)]));
  return next.filter((r) => old.get(r.key) !== JSON.stringify(r));
}

/** Cuts `text` to `width` characters, marking the cut with an ellipsis. */
export function truncate(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

export interface Style {
  bold: (text: string) => string;
  /** Colours a READY or STATUS cell (already padded) by its value. */
  state: (padded: string, value: string) => string;
}

const plain: Style = { bold: (t) => t, state: (t) => t };

/**
 * The table as lines no wider than `width`: KIND NAME READY REASON AWS MESSAGE, then the AWS resources.
 * MESSAGE takes what is left and is cut to fit; AWS is cut only when MESSAGE is down to its minimum.
 */
export function renderTable(view: View, width: number, style: Style = plain): string[] {
  const gap = '  ';
  const head = {
    kind: 'KIND',
    name: 'NAME',
    ready: 'READY',
    reason: 'REASON',
    aws: 'AWS',
    message: 'MESSAGE',
  };
  const widest = (key: keyof typeof head, cap = Infinity): number =>
    Math.min(cap, Math.max(head[key].length, ...view.objects.map((r) => r[key].length)));
  const w = {
    kind: widest('kind'),
    name: widest('name'),
    ready: widest('ready'),
    reason: widest('reason', 26),
    aws: widest('aws', 40),
  };
  const fixed = w.kind + w.name + w.ready + w.reason + 5 * gap.length;
  const minMessage = 12;
  w.aws = Math.max(3, Math.min(w.aws, width - fixed - minMessage));
  const messageWidth = Math.max(0, width - fixed - w.aws);
  const line = (r: typeof head, cell: (padded: string, value: string) => string = (p) => p): string =>
    [
      r.kind.padEnd(w.kind),
      r.name.padEnd(w.name),
      cell(r.ready.padEnd(w.ready), r.ready),
      truncate(r.reason, w.reason).padEnd(w.reason),
      truncate(r.aws, w.aws).padEnd(w.aws),
      truncate(r.message, messageWidth),
    ]
      .join(gap)
      .trimEnd();
  const lines = [
    style.bold(truncate(line(head), width)),
    ...view.objects.map((r) => styled(line, r, style, width)),
  ];
  if (view.aws.length > 0) {
    const awsHead = { name: 'AWS (simulator)', status: 'STATUS', usedBy: 'USED BY' };
    const nameWidth = Math.max(awsHead.name.length, ...view.aws.map((r) => r.name.length));
    const statusWidth = Math.max(awsHead.status.length, ...view.aws.map((r) => r.status.length));
    const awsLine = (r: typeof awsHead, cell: (padded: string, value: string) => string = (p) => p): string =>
      [r.name.padEnd(nameWidth), cell(r.status.padEnd(statusWidth), r.status), r.usedBy].join(gap).trimEnd();
    lines.push(
      '',
      style.bold(truncate(awsLine(awsHead), width)),
      ...view.aws.map((r) => styled(awsLine, r, style, width)),
    );
  }
  return lines;
}

/**
 * The coloured line when it fits; else the plain one cut to fit (escape codes must not count). A line never
 * wider than the terminal never wraps, which would break redrawing in place.
 */
function styled<R>(
  render: (r: R, cell?: (padded: string, value: string) => string) => string,
  r: R,
  style: Style,
  width: number,
): string {
  const bare = render(r);
  return bare.length <= width ? render(r, style.state) : truncate(bare, width);
}

/** One changed object as a log line (no terminal): `vpcc/shared  Ready=False  Creating  [AWS ...]  message`. */
export function objectLine(r: ObjectRow): string {
  return `${r.key}  Ready=${r.ready}  ${r.reason}  [AWS: ${r.aws}]  ${r.message}`;
}

/** One changed AWS resource as a log line. */
export function awsLine(r: AwsRow): string {
  const kind = r.key.startsWith('role/') ? 'role' : 'connector';
  return `aws ${kind} ${r.name}  ${r.status}${r.usedBy === '' ? '' : `  used by ${r.usedBy}`}`;
}
