// The simulated control plane's behaviour that is not tied to one wire protocol: lazy progress of
// asynchronous work (derived from timestamps and the injected clock at every request, no timers),
// connector "in use" bookkeeping, ENI management authorised by the SLR policy, and violations.

import type { ResolvedConfig } from './config.ts';
import { evaluatePolicy, type AuthorizationRequest } from './policy.ts';
import type { Prng } from './prng.ts';
import { appRunnerNetworkingServiceRolePolicy } from './slr-policy.ts';
import {
  regionOf,
  type Connector,
  type NetworkConfiguration,
  type NetworkInterface,
  type Operation,
  type OperationType,
  type RegionState,
  type Role,
  type Service,
  type ServiceStatus,
  type World,
} from './world.ts';

export const SLR_NAME = 'AWSServiceRoleForAppRunnerNetworking';
export const SLR_PRINCIPAL = 'networking.apprunner.amazonaws.com';
export const ENI_TAG = 'AWSAppRunnerManaged';
/** Who performs App Runner's own EC2 actions, in violations. */
const APP_RUNNER_ACTOR = `${SLR_NAME} (App Runner)`;

/** Everything a request handler needs; built once per request by the server. */
export interface Ctx {
  world: World;
  config: ResolvedConfig;
  prng: Prng;
  now: number;
  accountId: string;
  region: string;
  caller: string;
  operation: string;
  /** Records a violation; `actor` overrides who did it, what and when (App Runner's own ENI actions). */
  violation(
    invariant: string,
    resource: string,
    detail: string,
    actor?: { caller: string; operation: string; at: number },
  ): void;
}

export const Invariants = {
  connectorDeletedInUse: 'I1: DeleteVpcConnector while the connector is in use',
  slrDeletedWithConnectors: 'I1: DeleteServiceLinkedRole while connectors exist',
  updateOnBusyService: 'I4: UpdateService while the service is OPERATION_IN_PROGRESS',
  concurrentWriters: 'I7: two callers mutated one resource within the concurrency window',
  slrPolicyDenied: 'SLR policy denied an ENI action of App Runner',
} as const;

export function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function slrArn(accountId: string): string {
  return `arn:aws:iam::${accountId}:role/aws-service-role/${SLR_PRINCIPAL}/${SLR_NAME}`;
}

export function findRole(world: World, name: string): Role | undefined {
  return world.roles.find((r) => r.name === name);
}

/** Creates the networking SLR (no checks); used by CreateVpcConnector, CreateServiceLinkedRole and seeds. */
export function createRole(ctx: Ctx, name: string, principal: string, description: string): Role {
  const role: Role = {
    name,
    path: `/aws-service-role/${principal}/`,
    arn: `arn:aws:iam::${ctx.accountId}:role/aws-service-role/${principal}/${name}`,
    roleId: `AROA${ctx.prng.chars(17, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
    servicePrincipal: principal,
    description,
    createdAt: ctx.now,
    readableAt: ctx.now + ctx.config.consistency.slrReadDelayMs,
  };
  ctx.world.roles.push(role);
  return role;
}

// ---------------------------------------------------------------------------------------------
// Connectors in use

/**
 * Whether callers still see the connector ACTIVE: it is, or it was deleted less than
 * consistency.connectorDeleteDelayMs ago (AWS deletes asynchronously; the record is INACTIVE at once).
 */
export function appearsActive(c: Connector, now: number): boolean {
  return c.status === 'ACTIVE' || (c.inactiveVisibleAt !== undefined && now < c.inactiveVisibleAt);
}

/**
 * Why a connector is in use right now, or undefined if it is free. `visible` says whether a caller could
 * have seen the use (DescribeService, ListOperations) before trying to delete it; the release linger
 * cannot be seen, only met as the refusal, so meeting it is not a violation.
 */
export function connectorUse(
  r: RegionState,
  arn: string,
  now: number,
): { why: string; visible: boolean } | undefined {
  for (const s of r.services) {
    if (s.status !== 'DELETED' && s.network.egressType === 'VPC' && s.network.vpcConnectorArn === arn) {
      return { why: `service ${s.arn} uses it`, visible: true };
    }
    const op = s.operations[0];
    if (op !== undefined && op.endedAt === undefined && op.previousNetwork?.vpcConnectorArn === arn) {
      return { why: `an operation of service ${s.arn} is still moving off it`, visible: true };
    }
  }
  const hold = r.holds.find((h) => h.connectorArn === arn && h.until > now);
  if (hold !== undefined) {
    return { why: `service ${hold.serviceArn} released it less than the linger time ago`, visible: false };
  }
  return undefined;
}

function hold(
  ctx: Ctx,
  r: RegionState,
  connectorArn: string | undefined,
  serviceArn: string,
  at: number,
): void {
  if (connectorArn === undefined) return;
  const until = at + ctx.config.consistency.connectorReleaseLingerMs;
  if (until > ctx.now) r.holds.push({ connectorArn, serviceArn, until });
}

// ---------------------------------------------------------------------------------------------
// ENIs, authorised by the SLR permissions policy

function slrAllows(ctx: Ctx, req: AuthorizationRequest): { ok: true } | { ok: false; why: string } {
  if (findRole(ctx.world, SLR_NAME) === undefined) {
    return { ok: false, why: `the service-linked role ${SLR_NAME} does not exist` };
  }
  const policy = ctx.config.slrPolicy ?? appRunnerNetworkingServiceRolePolicy;
  let decision;
  try {
    decision = evaluatePolicy(policy, req);
  } catch (e) {
    return { ok: false, why: `the SLR policy cannot be evaluated: ${(e as Error).message}` };
  }
  if (decision.effect === 'Allow') return { ok: true };
  return {
    ok: false,
    why: `${req.action} on ${req.resource} was ${decision.effect === 'ExplicitDeny' ? 'explicitly denied' : 'not allowed'} by the SLR permissions policy`,
  };
}

function eniArn(ctx: Ctx, region: string, id: string): string {
  return `arn:aws:ec2:${region}:${ctx.accountId}:network-interface/${id}`;
}

function privateIp(prng: Prng, cidr: string): string {
  const [a = '10', b = '0', c = '0'] = cidr.split('/')[0]?.split('.') ?? [];
  return `${a}.${b}.${c}.${4 + Math.floor(prng.next() * 250)}`;
}

/** Creates one ENI per connector subnet for the service; returns a failure reason if the SLR policy forbids it. */
function createEnis(
  ctx: Ctx,
  region: string,
  service: Service,
  connector: Connector,
  at: number,
): string | undefined {
  const r = regionOf(ctx.world, region);
  const tagValue = 'true';
  const tagContext = { 'aws:TagKeys': [ENI_TAG], [`aws:RequestTag/${ENI_TAG}`]: tagValue };
  // App Runner first reads the network it attaches to, then creates and tags one ENI per subnet.
  for (const action of [
    'ec2:DescribeSubnets',
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeNetworkInterfaces',
  ]) {
    const verdict = slrAllows(ctx, { action, resource: '*', context: { 'aws:RequestedRegion': region } });
    if (!verdict.ok) {
      ctx.violation(Invariants.slrPolicyDenied, service.arn, verdict.why, {
        caller: APP_RUNNER_ACTOR,
        operation: action,
        at,
      });
      return verdict.why;
    }
  }
  const planned: NetworkInterface[] = [];
  for (const subnetId of connector.subnets) {
    if (
      r.networkInterfaces.some(
        (e) => e.serviceArn === service.arn && e.connectorArn === connector.arn && e.subnetId === subnetId,
      )
    ) {
      continue;
    }
    const subnet = r.subnets.find((s) => s.id === subnetId);
    const id = `eni-${ctx.prng.hex(17)}`;
    const checks: AuthorizationRequest[] = [
      {
        action: 'ec2:CreateNetworkInterface',
        resource: `arn:aws:ec2:${region}:${ctx.accountId}:network-interface/*`,
        context: { ...tagContext, 'aws:RequestedRegion': region },
      },
      {
        action: 'ec2:CreateTags',
        resource: eniArn(ctx, region, id),
        context: {
          ...tagContext,
          'ec2:CreateAction': 'CreateNetworkInterface',
          'aws:RequestedRegion': region,
        },
      },
    ];
    for (const check of checks) {
      const verdict = slrAllows(ctx, check);
      if (!verdict.ok) {
        ctx.violation(Invariants.slrPolicyDenied, service.arn, verdict.why, {
          caller: APP_RUNNER_ACTOR,
          operation: check.action,
          at,
        });
        return verdict.why;
      }
    }
    planned.push({
      id,
      subnetId,
      vpcId: connector.vpcId,
      availabilityZone: subnet?.availabilityZone ?? `${region}a`,
      securityGroups: [...connector.securityGroups],
      privateIpAddress: privateIp(ctx.prng, subnet?.cidrBlock ?? '10.0.0.0/24'),
      macAddress: `02:${ctx.prng.hex(10).replace(/(..)(?!$)/g, '$1:')}`,
      description: `AWS App Runner ENI for VPC connector ${connector.name} (service ${service.name})`,
      tags: [{ Key: ENI_TAG, Value: tagValue }],
      serviceArn: service.arn,
      connectorArn: connector.arn,
      createdAt: at,
    });
  }
  r.networkInterfaces.push(...planned);
  return undefined;
}

/** Deletes the service's ENIs for a connector (all connectors if undefined); denied deletions leak and are violations. */
function deleteEnis(
  ctx: Ctx,
  region: string,
  service: Service,
  connectorArn: string | undefined,
  at: number,
): void {
  const r = regionOf(ctx.world, region);
  r.networkInterfaces = r.networkInterfaces.filter((eni) => {
    if (eni.serviceArn !== service.arn) return true;
    if (connectorArn !== undefined && eni.connectorArn !== connectorArn) return true;
    const tag = eni.tags.find((t) => t.Key === ENI_TAG)?.Value;
    const verdict = slrAllows(ctx, {
      action: 'ec2:DeleteNetworkInterface',
      resource: eniArn(ctx, region, eni.id),
      context: { [`ec2:ResourceTag/${ENI_TAG}`]: tag, 'aws:RequestedRegion': region },
    });
    if (verdict.ok) return false;
    ctx.violation(Invariants.slrPolicyDenied, eni.id, `${verdict.why}; the ENI leaked`, {
      caller: APP_RUNNER_ACTOR,
      operation: 'ec2:DeleteNetworkInterface',
      at,
    });
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Operations

export function combinationKey(c: Connector): string {
  return `${[...c.subnets].sort().join(',')}|${[...c.securityGroups].sort().join(',')}`;
}

/** Extra duration for the first association of the connector's subnet+SG combination (and records it). */
export function firstAssociationDelay(ctx: Ctx, r: RegionState, network: NetworkConfiguration): number {
  if (network.egressType !== 'VPC' || network.vpcConnectorArn === undefined) return 0;
  const connector = r.connectors.find((c) => c.arn === network.vpcConnectorArn);
  if (connector === undefined) return 0;
  const key = combinationKey(connector);
  if (r.associatedCombinations.includes(key)) return 0;
  r.associatedCombinations.push(key);
  return ctx.config.timings.firstAssociationDelayMs;
}

function takeFault(fault: { serviceArns: string[]; next: number }, serviceArn: string): boolean {
  if (fault.serviceArns.includes(serviceArn)) return true;
  if (fault.next > 0) {
    fault.next -= 1;
    return true;
  }
  return false;
}

const isRollback = (o: Operation['outcome']): boolean =>
  o === 'ROLLBACK_SUCCEEDED' || o === 'ROLLBACK_FAILED';

/** Plans a new operation (timestamps and outcome decided now) and puts it first in the service's list. */
export function startOperation(
  ctx: Ctx,
  service: Service,
  type: OperationType,
  extra: {
    extraMs?: number;
    previousNetwork?: NetworkConfiguration;
    settledStatus?: ServiceStatus;
    /**
     * Why the operation cannot succeed (a subnet in an unsupported Availability Zone): a create ends FAILED,
     * an update ROLLBACK_SUCCEEDED, and no ENI is created.
     */
    doomed?: string;
  },
): Operation {
  const t = ctx.config.timings;
  const inProgressAt = ctx.now + t.operationPendingMs;
  const stuck = takeFault(ctx.config.faults.stuck, service.arn);
  const doomed = extra.doomed;
  const failure =
    doomed === undefined && type === 'UPDATE_SERVICE' && takeFault(ctx.config.faults.rollback, service.arn);
  const workEndsAt = stuck
    ? t.stuckOperationMs === null
      ? null
      : inProgressAt + t.stuckOperationMs
    : inProgressAt + t.operationDurationMs + (extra.extraMs ?? 0);
  const op: Operation = {
    id: ctx.prng.uuid(),
    type,
    targetArn: service.arn,
    startedAt: ctx.now,
    inProgressAt,
    workEndsAt,
    outcome: failure ? ctx.config.faults.rollback.outcome : 'SUCCEEDED',
    previousStatus: service.status,
    ...(extra.settledStatus !== undefined ? { settledStatus: extra.settledStatus } : {}),
  };
  if (failure) {
    if (isRollback(op.outcome)) op.rollbackEndsAt = (workEndsAt ?? ctx.now) + t.rollbackDurationMs;
    op.failureReason = `injected by faults.rollback (${op.outcome})`;
  }
  if (doomed !== undefined) {
    op.outcome = type === 'CREATE_SERVICE' ? 'FAILED' : 'ROLLBACK_SUCCEEDED';
    if (isRollback(op.outcome)) op.rollbackEndsAt = (workEndsAt ?? ctx.now) + t.rollbackDurationMs;
    op.failureReason = doomed;
    // No ENI can be placed in a zone App Runner does not support: there is nothing to create.
    op.enisCreated = true;
  }
  if (extra.previousNetwork !== undefined) {
    op.previousNetwork = extra.previousNetwork;
    op.nextNetwork = { ...service.network };
  }
  service.operations.unshift(op);
  service.status = 'OPERATION_IN_PROGRESS';
  service.updatedAt = ctx.now;
  return op;
}

/** The status an operation shows now (after settle, terminal ones carry endedAt). */
export function operationStatus(
  op: Operation,
  now: number,
): Operation['outcome'] | 'PENDING' | 'IN_PROGRESS' | 'ROLLBACK_IN_PROGRESS' {
  if (op.endedAt !== undefined) return op.outcome;
  if (now < op.inProgressAt) return 'PENDING';
  if (op.workEndsAt === null || now < op.workEndsAt) return 'IN_PROGRESS';
  return 'ROLLBACK_IN_PROGRESS';
}

function connectorOf(r: RegionState, n: NetworkConfiguration | undefined): Connector | undefined {
  if (n?.egressType !== 'VPC' || n.vpcConnectorArn === undefined) return undefined;
  return r.connectors.find((c) => c.arn === n.vpcConnectorArn);
}

function progressOperation(ctx: Ctx, region: string, r: RegionState, s: Service, op: Operation): void {
  if (op.endedAt !== undefined) return;
  const now = ctx.now;
  // ENIs for the configuration being applied are created when the work starts.
  if (op.enisCreated !== true && now >= op.inProgressAt) {
    op.enisCreated = true;
    const target =
      op.type === 'CREATE_SERVICE' || op.type === 'UPDATE_SERVICE' ? connectorOf(r, s.network) : undefined;
    if (target !== undefined) {
      const failure = createEnis(ctx, region, s, target, op.inProgressAt);
      if (failure !== undefined) {
        op.failureReason = failure;
        if (op.type === 'CREATE_SERVICE') op.outcome = 'FAILED';
        else {
          op.outcome = 'ROLLBACK_SUCCEEDED';
          op.rollbackEndsAt = (op.workEndsAt ?? now) + ctx.config.timings.rollbackDurationMs;
        }
      }
    }
  }
  if (op.workEndsAt === null || now < op.workEndsAt) return;
  let at = op.workEndsAt;
  if (isRollback(op.outcome)) {
    const rollbackEndsAt = op.rollbackEndsAt ?? at;
    if (now < rollbackEndsAt) return;
    at = rollbackEndsAt;
  }
  finishOperation(ctx, region, r, s, op, at);
}

function finishOperation(
  ctx: Ctx,
  region: string,
  r: RegionState,
  s: Service,
  op: Operation,
  at: number,
): void {
  op.endedAt = at;
  s.updatedAt = at;
  switch (op.type) {
    case 'CREATE_SERVICE':
      if (op.outcome === 'SUCCEEDED') s.status = 'RUNNING';
      else {
        s.status = 'CREATE_FAILED';
        deleteEnis(ctx, region, s, undefined, at);
      }
      break;
    case 'UPDATE_SERVICE':
    case 'START_DEPLOYMENT': {
      const before = op.previousNetwork;
      const after = op.nextNetwork ?? s.network;
      if (op.outcome !== 'SUCCEEDED' && before !== undefined) {
        // Rolled back or failed: back to the old configuration, releasing what the new one took.
        s.network = { ...before };
        s.status =
          op.previousStatus === 'PAUSED' || op.previousStatus === 'CREATE_FAILED'
            ? op.previousStatus
            : 'RUNNING';
        if (after.vpcConnectorArn !== undefined && after.vpcConnectorArn !== before.vpcConnectorArn) {
          deleteEnis(ctx, region, s, after.vpcConnectorArn, at);
          hold(ctx, r, after.vpcConnectorArn, s.arn, at);
        }
      } else {
        s.status = op.settledStatus ?? 'RUNNING';
        if (before !== undefined && before.vpcConnectorArn !== after.vpcConnectorArn) {
          if (before.vpcConnectorArn !== undefined) deleteEnis(ctx, region, s, before.vpcConnectorArn, at);
          hold(ctx, r, before.vpcConnectorArn, s.arn, at);
        }
      }
      break;
    }
    case 'PAUSE_SERVICE':
      s.status = 'PAUSED';
      break;
    case 'RESUME_SERVICE':
      s.status = 'RUNNING';
      break;
    case 'DELETE_SERVICE':
      s.status = 'DELETED';
      s.deletedAt = at;
      deleteEnis(ctx, region, s, undefined, at);
      if (s.network.egressType === 'VPC') hold(ctx, r, s.network.vpcConnectorArn, s.arn, at);
      break;
  }
}

/** Brings the world up to `ctx.now`: operations, retention purges, holds, SLR deletion tasks. */
export function settle(ctx: Ctx): void {
  const now = ctx.now;
  const t = ctx.config.timings;
  for (const [region, r] of Object.entries(ctx.world.regions)) {
    for (const s of r.services) {
      const op = s.operations[0];
      if (op !== undefined && op.endedAt === undefined) progressOperation(ctx, region, r, s, op);
    }
    if (r.services.some((s) => s.status === 'DELETED')) {
      r.services = r.services.filter(
        (s) => s.status !== 'DELETED' || (s.deletedAt ?? now) + t.deletedServiceRetentionMs > now,
      );
    }
    if (r.connectors.some((c) => c.status === 'INACTIVE')) {
      // Retention starts when the deletion shows (after consistency.connectorDeleteDelayMs).
      r.connectors = r.connectors.filter(
        (c) =>
          c.status !== 'INACTIVE' ||
          (c.inactiveVisibleAt ?? c.deletedAt ?? now) + t.inactiveConnectorRetentionMs > now,
      );
    }
    if (r.holds.length > 0) r.holds = r.holds.filter((h) => h.until > now);
    for (const ic of r.ingressConnections) {
      if (ic.pendingUntil === undefined || ic.pendingUntil > now) continue;
      if (ic.status === 'PENDING_DELETION') {
        ic.status = 'DELETED';
        ic.deletedAt = ic.pendingUntil;
      } else ic.status = 'AVAILABLE';
      delete ic.pendingUntil;
    }
    if (r.ingressConnections.some((ic) => ic.status === 'DELETED')) {
      r.ingressConnections = r.ingressConnections.filter(
        (ic) => ic.status !== 'DELETED' || (ic.deletedAt ?? now) + t.deletedServiceRetentionMs > now,
      );
    }
  }
  for (const task of ctx.world.deletionTasks) {
    if (task.status === 'SUCCEEDED' || task.status === 'FAILED') continue;
    if (now >= task.endsAt) finishDeletionTask(ctx, task);
    else if (now >= task.inProgressAt) task.status = 'IN_PROGRESS';
  }
}

function finishDeletionTask(ctx: Ctx, task: World['deletionTasks'][number]): void {
  const usage: { region: string; resources: string[] }[] = [];
  for (const [region, r] of Object.entries(ctx.world.regions)) {
    // A connector whose asynchronous delete has not finished still uses the role.
    const arns = r.connectors.filter((c) => appearsActive(c, ctx.now)).map((c) => c.arn);
    if (arns.length > 0) usage.push({ region, resources: arns });
  }
  if (usage.length > 0) {
    task.status = 'FAILED';
    task.reason = {
      reason: `Service-linked role ${task.roleName} is still used by AWS App Runner VPC connectors. Delete them and try again.`,
      roleUsage: usage,
    };
  } else if (ctx.config.faults.slrDeletionFailure) {
    task.status = 'FAILED';
    task.reason = {
      reason: `AWS App Runner could not clean up the resources of service-linked role ${task.roleName}. Wait a few minutes and try again.`,
      roleUsage: [],
    };
  } else {
    task.status = 'SUCCEEDED';
    ctx.world.roles = ctx.world.roles.filter((r) => r.name !== task.roleName);
  }
}
