// IAM (awsQuery, XML) operations around the App Runner networking service-linked role. IAM is global:
// one set of roles and deletion tasks whatever region the caller signed for.

import { createRole, findRole, Invariants, iso, SLR_NAME, SLR_PRINCIPAL, type Ctx } from './engine.ts';
import { iamErrors as E } from './errors.ts';
import type { Handler } from './handler.ts';
import { list, type XmlNode } from './xml.ts';
import type { DeletionTask, Role } from './world.ts';

export type QueryInput = Readonly<Record<string, string>>;

/** A successful IAM result: the children of `<{Op}Result>` (undefined = no Result element). */
export type IamResult = XmlNode | undefined;

/** Service principals this simulator knows how to link a role to. */
const linkedRoles: Readonly<Record<string, { name: string; description: string }>> = {
  [SLR_PRINCIPAL]: {
    name: SLR_NAME,
    description: 'Service-linked role for App Runner networking (VPC connectors).',
  },
  'apprunner.amazonaws.com': {
    name: 'AWSServiceRoleForAppRunner',
    description: 'Service-linked role for AWS App Runner.',
  },
};

const roleNamePattern = /^[\w+=,.@-]+$/;

function requireParam(input: QueryInput, name: string, max: number, pattern?: RegExp): string {
  const v = input[name];
  if (v === undefined || v === '') {
    throw E.invalidInput(
      `1 validation error detected: Value null at '${name}' failed to satisfy constraint: Member must not be null`,
    );
  }
  if (v.length > max) {
    throw E.invalidInput(
      `1 validation error detected: Value '${v}' at '${name}' failed to satisfy constraint: Member must have length less than or equal to ${max}`,
    );
  }
  if (pattern !== undefined && !pattern.test(v)) {
    throw E.invalidInput(
      `1 validation error detected: Value '${v}' at '${name}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source}`,
    );
  }
  return v;
}

function roleXml(role: Role): XmlNode {
  const trust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: role.servicePrincipal }, Action: 'sts:AssumeRole' }],
  });
  return {
    Path: role.path,
    RoleName: role.name,
    RoleId: role.roleId,
    Arn: role.arn,
    CreateDate: iso(role.createdAt),
    AssumeRolePolicyDocument: encodeURIComponent(trust),
    Description: role.description,
    MaxSessionDuration: 3600,
    RoleLastUsed: {},
  };
}

const roleArnFor = (ctx: Ctx, name: string): string => {
  const principal = Object.entries(linkedRoles).find(([, v]) => v.name === name)?.[0];
  return principal === undefined
    ? `arn:aws:iam::${ctx.accountId}:role/${name}`
    : `arn:aws:iam::${ctx.accountId}:role/aws-service-role/${principal}/${name}`;
};

const notFound = (name: string): Error => E.noSuchEntity(`The role with name ${name} cannot be found.`);

function handler(
  mutates: boolean,
  target: (ctx: Ctx, input: QueryInput) => { resource: string; context?: Record<string, string> },
  run: (ctx: Ctx, input: QueryInput) => IamResult,
): Handler<QueryInput> {
  return { mutates, target, run };
}

const byRoleName = (ctx: Ctx, input: QueryInput): { resource: string } => ({
  resource: roleArnFor(ctx, input.RoleName ?? '*'),
});

const getRole = handler(false, byRoleName, (ctx, input) => {
  const name = requireParam(input, 'RoleName', 64, roleNamePattern);
  const role = findRole(ctx.world, name);
  if (role === undefined || role.readableAt > ctx.now) throw notFound(name);
  return { Role: roleXml(role) };
});

const createServiceLinkedRole = handler(
  true,
  (ctx, input) => {
    const principal = input.AWSServiceName ?? '';
    return {
      resource: roleArnFor(ctx, linkedRoles[principal]?.name ?? '*'),
      context: { 'iam:AWSServiceName': principal },
    };
  },
  (ctx, input) => {
    const principal = requireParam(input, 'AWSServiceName', 128, roleNamePattern);
    const known = linkedRoles[principal];
    if (known === undefined) {
      throw E.invalidInput(`The simulator cannot create a service-linked role for ${principal}.`);
    }
    if (input.CustomSuffix !== undefined)
      throw E.invalidInput(`Custom suffix is not allowed for ${principal}`);
    if (findRole(ctx.world, known.name) !== undefined) {
      throw E.invalidInput(
        `Service role name ${known.name} has been taken in this account, please try a different suffix.`,
      );
    }
    const role = createRole(ctx, known.name, principal, input.Description ?? known.description);
    return { Role: roleXml(role) };
  },
);

function pendingTask(ctx: Ctx, roleName: string): DeletionTask | undefined {
  return ctx.world.deletionTasks.find(
    (t) => t.roleName === roleName && (t.status === 'NOT_STARTED' || t.status === 'IN_PROGRESS'),
  );
}

const deleteServiceLinkedRole = handler(true, byRoleName, (ctx, input) => {
  const name = requireParam(input, 'RoleName', 64, roleNamePattern);
  const role = findRole(ctx.world, name);
  if (role === undefined) throw notFound(name);
  const connectors = Object.entries(ctx.world.regions).flatMap(([region, r]) =>
    r.connectors.filter((c) => c.status === 'ACTIVE').map((c) => `${region}: ${c.arn}`),
  );
  if (name === SLR_NAME && connectors.length > 0) {
    ctx.violation(
      Invariants.slrDeletedWithConnectors,
      role.arn,
      `connectors still exist: ${connectors.join(', ')}`,
    );
  }
  const existing = pendingTask(ctx, name);
  if (existing !== undefined) return { DeletionTaskId: existing.id };
  const t = ctx.config.timings;
  const task: DeletionTask = {
    id: `task${role.path}${name}/${ctx.prng.uuid()}`,
    roleName: name,
    submittedAt: ctx.now,
    inProgressAt: ctx.now + t.slrDeletionNotStartedMs,
    endsAt: ctx.now + t.slrDeletionNotStartedMs + t.slrDeletionInProgressMs,
    status: 'NOT_STARTED',
  };
  ctx.world.deletionTasks.push(task);
  return { DeletionTaskId: task.id };
});

const getServiceLinkedRoleDeletionStatus = handler(
  false,
  (ctx, input) => {
    const roleName = (input.DeletionTaskId ?? '').split('/').at(-2) ?? '*';
    return { resource: roleArnFor(ctx, roleName) };
  },
  (ctx, input) => {
    const id = requireParam(input, 'DeletionTaskId', 1000);
    if (!/^task\/aws-service-role\/[^/]+\/[^/]+\/[0-9a-f-]{36}$/.test(id)) {
      throw E.invalidInput(`Invalid deletion task id: ${id}`);
    }
    const task = ctx.world.deletionTasks.find((t) => t.id === id);
    if (task === undefined) throw E.noSuchEntity(`Deletion task ${id} cannot be found.`);
    const reason = task.reason;
    return {
      Status: task.status,
      ...(reason !== undefined
        ? {
            Reason: {
              Reason: reason.reason,
              RoleUsageList: list(
                'member',
                reason.roleUsage.map((u) => ({ Region: u.region, Resources: list('member', u.resources) })),
              ),
            },
          }
        : {}),
    };
  },
);

const deleteRole = handler(true, byRoleName, (ctx, input) => {
  const name = requireParam(input, 'RoleName', 64, roleNamePattern);
  const role = findRole(ctx.world, name);
  if (role === undefined) throw notFound(name);
  throw E.unmodifiable(
    `Cannot perform the operation on the protected role '${name}' - this role is only modifiable by AWS`,
  );
});

export const iamHandlers: Readonly<Record<string, Handler<QueryInput>>> = {
  GetRole: getRole,
  CreateServiceLinkedRole: createServiceLinkedRole,
  DeleteServiceLinkedRole: deleteServiceLinkedRole,
  GetServiceLinkedRoleDeletionStatus: getServiceLinkedRoleDeletionStatus,
  DeleteRole: deleteRole,
};
