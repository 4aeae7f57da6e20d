// App Runner (awsJson1_0) operations: VPC connectors, tags, and image-based services with their
// asynchronous operations. Behaviour follows semantics.md; where it says NOT FOUND the choice made
// here is documented in README.md (and, where it matters, switchable in config.behaviour).

import {
  appearsActive,
  connectorUse,
  createRole,
  findRole,
  firstAssociationDelay,
  Invariants,
  operationStatus,
  SLR_NAME,
  SLR_PRINCIPAL,
  slrArn,
  startOperation,
  type Ctx,
} from './engine.ts';
import { availabilityZoneId } from './ec2.ts';
import { appRunnerErrors as E } from './errors.ts';
import { resourceTagContext, tagContext, type Handler, type Target } from './handler.ts';
import { newestFirstKey, paginate, timeKey, type Page } from './paginate.ts';
import { BadTokenError } from './paginate.ts';
import { evaluatePolicy } from './policy.ts';
import {
  encryptionConfiguration,
  healthCheckConfiguration,
  instanceConfiguration,
  networkConfiguration,
  observabilityConfiguration,
  shapes,
  sourceConfiguration,
  stringList,
  tagList,
  validateInput,
  type Member,
} from './validate.ts';
import {
  regionOf,
  type Connector,
  type IngressConnection,
  type NetworkConfiguration,
  type Operation,
  type RegionState,
  type Service,
  type Subnet,
  type Tag,
  type Tagged,
} from './world.ts';

type Input = Record<string, unknown>;

const secs = (ms: number | undefined): number | undefined => (ms === undefined ? undefined : ms / 1000);

// ---------------------------------------------------------------------------------------------
// Serialisation

/** The connector as DescribeVpcConnector and ListVpcConnectors show it: ACTIVE until a delete has settled. */
function observedConnectorJson(c: Connector, now: number): Record<string, unknown> {
  if (c.status === 'INACTIVE' && appearsActive(c, now)) {
    const shown: Connector = { ...c, status: 'ACTIVE' };
    delete shown.deletedAt;
    return connectorJson(shown);
  }
  return connectorJson(c);
}

function connectorJson(c: Connector): Record<string, unknown> {
  return {
    VpcConnectorName: c.name,
    VpcConnectorArn: c.arn,
    VpcConnectorRevision: c.revision,
    Subnets: c.subnets,
    SecurityGroups: c.securityGroups,
    Status: c.status,
    CreatedAt: secs(c.createdAt),
    ...(c.deletedAt !== undefined ? { DeletedAt: secs(c.deletedAt) } : {}),
  };
}

function networkJson(n: NetworkConfiguration): Record<string, unknown> {
  return {
    EgressConfiguration: {
      EgressType: n.egressType,
      ...(n.egressType === 'VPC' && n.vpcConnectorArn !== undefined
        ? { VpcConnectorArn: n.vpcConnectorArn }
        : {}),
    },
    // Members no request ever set are left out, so clients must apply the defaults (public, IPV4) themselves.
    ...(n.ingressUnset === true
      ? {}
      : { IngressConfiguration: { IsPubliclyAccessible: n.isPubliclyAccessible } }),
    ...(n.ipAddressTypeUnset === true ? {} : { IpAddressType: n.ipAddressType }),
  };
}

const serviceUrl = (s: Service): string => (s.network.isPubliclyAccessible ? s.url : '');

function serviceJson(s: Service): Record<string, unknown> {
  return {
    ServiceName: s.name,
    ServiceId: s.id,
    ServiceArn: s.arn,
    ServiceUrl: serviceUrl(s),
    CreatedAt: secs(s.createdAt),
    UpdatedAt: secs(s.updatedAt),
    ...(s.deletedAt !== undefined ? { DeletedAt: secs(s.deletedAt) } : {}),
    Status: s.status,
    SourceConfiguration: s.sourceConfiguration,
    InstanceConfiguration: s.instanceConfiguration,
    ...(s.encryptionConfiguration !== undefined
      ? { EncryptionConfiguration: s.encryptionConfiguration }
      : {}),
    HealthCheckConfiguration: s.healthCheckConfiguration,
    AutoScalingConfigurationSummary: {
      AutoScalingConfigurationArn: s.autoScalingConfigurationArn,
      AutoScalingConfigurationName: 'DefaultConfiguration',
      AutoScalingConfigurationRevision: 1,
      Status: 'ACTIVE',
      CreatedAt: secs(s.createdAt),
      HasAssociatedService: true,
      IsDefault: true,
    },
    NetworkConfiguration: networkJson(s.network),
    ObservabilityConfiguration: s.observabilityConfiguration ?? { ObservabilityEnabled: false },
  };
}

function summaryJson(s: Service): Record<string, unknown> {
  return {
    ServiceName: s.name,
    ServiceId: s.id,
    ServiceArn: s.arn,
    ServiceUrl: serviceUrl(s),
    CreatedAt: secs(s.createdAt),
    UpdatedAt: secs(s.updatedAt),
    Status: s.status,
  };
}

function operationJson(op: Operation, now: number): Record<string, unknown> {
  const status = operationStatus(op, now);
  const updatedAt =
    op.endedAt ??
    (status === 'PENDING'
      ? op.startedAt
      : status === 'IN_PROGRESS'
        ? op.inProgressAt
        : (op.workEndsAt ?? op.inProgressAt));
  return {
    Id: op.id,
    Type: op.type,
    Status: status,
    TargetArn: op.targetArn,
    StartedAt: secs(op.startedAt),
    ...(op.endedAt !== undefined ? { EndedAt: secs(op.endedAt) } : {}),
    UpdatedAt: secs(updatedAt),
  };
}

// ---------------------------------------------------------------------------------------------
// Lookups

const here = (ctx: Ctx): RegionState => regionOf(ctx.world, ctx.region);

function findConnector(ctx: Ctx, arn: string): Connector {
  const c = here(ctx).connectors.find((x) => x.arn === arn);
  if (c === undefined)
    throw E.notFound(`A resource doesn't exist for the specified Amazon Resource Name (ARN): ${arn}`);
  return c;
}

function findService(ctx: Ctx, arn: string): Service {
  const s = here(ctx).services.find((x) => x.arn === arn);
  if (s === undefined)
    throw E.notFound(`A resource doesn't exist for the specified Amazon Resource Name (ARN): ${arn}`);
  return s;
}

function taggable(ctx: Ctx, arn: string): { resource: Tagged; gone: boolean } {
  const r = here(ctx);
  const c = r.connectors.find((x) => x.arn === arn);
  if (c !== undefined) return { resource: c, gone: c.status === 'INACTIVE' };
  const s = r.services.find((x) => x.arn === arn);
  if (s !== undefined) return { resource: s, gone: s.status === 'DELETED' };
  const ic = r.ingressConnections.find((x) => x.arn === arn);
  if (ic !== undefined) return { resource: ic, gone: ic.status === 'DELETED' };
  throw E.notFound(`A resource doesn't exist for the specified Amazon Resource Name (ARN): ${arn}`);
}

/**
 * Changes a resource's tags. With consistency.tagReadDelayMs, reads keep showing the tags from before the
 * first change of a burst until that long after the last one.
 */
function writeTags(ctx: Ctx, resource: Tagged, tags: Tag[]): void {
  const lag = ctx.config.consistency.tagReadDelayMs;
  if (lag > 0) {
    if (!(resource.tagsReadableAt !== undefined && ctx.now < resource.tagsReadableAt))
      resource.tagsBefore = resource.tags;
    resource.tagsReadableAt = ctx.now + lag;
  }
  resource.tags = tags;
}

/** Tag-lag fields of a resource created now: it reads as untagged for consistency.tagReadDelayMs. */
function freshTags(ctx: Ctx, tags: Tag[]): Tagged {
  const lag = ctx.config.consistency.tagReadDelayMs;
  return lag > 0 ? { tags, tagsBefore: [], tagsReadableAt: ctx.now + lag } : { tags };
}

const readTags = (resource: Tagged, now: number): Tag[] =>
  resource.tagsReadableAt !== undefined && now < resource.tagsReadableAt
    ? (resource.tagsBefore ?? [])
    : resource.tags;

function resourceTags(ctx: Ctx, arn: string): Record<string, string> {
  const r = here(ctx);
  const tags =
    r.connectors.find((x) => x.arn === arn)?.tags ??
    r.services.find((x) => x.arn === arn)?.tags ??
    r.ingressConnections.find((x) => x.arn === arn)?.tags ??
    [];
  return resourceTagContext(tags);
}

const arnPrefix = (ctx: Ctx): string => `arn:aws:apprunner:${ctx.region}:${ctx.accountId}`;

function pageOrBadToken<T>(fn: () => Page<T>): Page<T> {
  try {
    return fn();
  } catch (e) {
    if (e instanceof BadTokenError) throw E.invalidRequest(e.message);
    throw e;
  }
}

const asTags = (v: unknown): Tag[] =>
  ((v as { Key: string; Value?: string }[] | undefined) ?? []).map((t) => ({
    Key: t.Key,
    Value: t.Value ?? '',
  }));

function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const out = existing.filter((t) => !added.some((a) => a.Key === t.Key));
  return [...out, ...added];
}

// ---------------------------------------------------------------------------------------------
// Network configuration (semantics.md §5.8)

/** A service nobody configured the network of: DEFAULT egress, public, IPV4, ingress and IP type unset. */
const defaultNetwork: NetworkConfiguration = {
  egressType: 'DEFAULT',
  isPubliclyAccessible: true,
  ipAddressType: 'IPV4',
  ingressUnset: true,
  ipAddressTypeUnset: true,
};

/**
 * Applies a NetworkConfiguration input to `base`. An absent NetworkConfiguration keeps `base`; inside
 * it, an omitted sub-structure is preserved or reset per config (default preserve); an omitted
 * EgressType inside a present EgressConfiguration is DEFAULT; `IngressConfiguration: {}` is private.
 * Ingress and IpAddressType stay unset (left out of answers) until a request sets them.
 */
function applyNetwork(ctx: Ctx, base: NetworkConfiguration, raw: unknown): NetworkConfiguration {
  if (raw === undefined || raw === null) return { ...base };
  const input = raw as {
    EgressConfiguration?: { EgressType?: string; VpcConnectorArn?: string };
    IngressConfiguration?: { IsPubliclyAccessible?: boolean };
    IpAddressType?: string;
  };
  const from = ctx.config.behaviour.omittedNetworkSubStructure === 'reset' ? defaultNetwork : base;
  const out: NetworkConfiguration = { ...from };
  if (from.egressType !== 'VPC') delete out.vpcConnectorArn;
  const egress = input.EgressConfiguration;
  if (egress !== undefined) {
    const type = (egress.EgressType ?? 'DEFAULT') as NetworkConfiguration['egressType'];
    if (type === 'VPC') {
      if (egress.VpcConnectorArn === undefined) {
        throw E.invalidRequest('VpcConnectorArn is required in EgressConfiguration when EgressType is VPC.');
      }
      checkUsableConnector(ctx, egress.VpcConnectorArn);
      out.egressType = 'VPC';
      out.vpcConnectorArn = egress.VpcConnectorArn;
    } else {
      if (egress.VpcConnectorArn !== undefined) {
        throw E.invalidRequest(
          'VpcConnectorArn is only valid when EgressType is VPC; remove it or set EgressType to VPC.',
        );
      }
      out.egressType = 'DEFAULT';
      delete out.vpcConnectorArn;
    }
  }
  if (input.IngressConfiguration !== undefined) {
    out.isPubliclyAccessible = input.IngressConfiguration.IsPubliclyAccessible ?? false;
    delete out.ingressUnset;
  }
  if (input.IpAddressType !== undefined) {
    out.ipAddressType = input.IpAddressType as NetworkConfiguration['ipAddressType'];
    delete out.ipAddressTypeUnset;
  }
  return out;
}

function checkUsableConnector(ctx: Ctx, arn: string): void {
  const parts = arn.split(':');
  if (parts[2] !== 'apprunner' || !(parts[5] ?? '').startsWith('vpcconnector/')) {
    throw E.invalidRequest(`VpcConnectorArn ${arn} is not a VPC connector ARN.`);
  }
  if (parts[3] !== ctx.region || parts[4] !== ctx.accountId) {
    throw E.invalidRequest(
      `VPC connector ${arn} must be in the same account and Region as the service (${ctx.accountId}, ${ctx.region}).`,
    );
  }
  const c = here(ctx).connectors.find((x) => x.arn === arn);
  if (c === undefined) throw E.invalidRequest(`VPC connector ${arn} doesn't exist.`);
  if (c.status !== 'ACTIVE') throw E.invalidRequest(`VPC connector ${arn} is INACTIVE and can't be used.`);
}

// ---------------------------------------------------------------------------------------------
// Availability Zones App Runner does not support (semantics.md §5.1)

/**
 * Why a service cannot run on `network`: its connector has subnets in zones listed in
 * behaviour.unsupportedAvailabilityZones for the region. Undefined when nothing is wrong (or no VPC egress).
 */
function unsupportedZones(ctx: Ctx, network: NetworkConfiguration): string | undefined {
  const zones = ctx.config.behaviour.unsupportedAvailabilityZones[ctx.region] ?? [];
  if (zones.length === 0 || network.egressType !== 'VPC') return undefined;
  const r = here(ctx);
  const connector = r.connectors.find((c) => c.arn === network.vpcConnectorArn);
  if (connector === undefined) return undefined;
  const bad = connector.subnets
    .map((id) => r.subnets.find((x) => x.id === id))
    .filter(
      (x): x is Subnet =>
        x !== undefined &&
        (zones.includes(x.availabilityZone) || zones.includes(availabilityZoneId(x.availabilityZone))),
    );
  if (bad.length === 0) return undefined;
  const listed = bad.map((x) => `${x.id} (${x.availabilityZone}, ${availabilityZoneId(x.availabilityZone)})`);
  return `VPC connector ${connector.arn} has subnets in Availability Zones that App Runner doesn't support: ${listed.join(', ')}. Remove these subnets from the VPC connector, or replace them with subnets in supported Availability Zones.`;
}

/**
 * Applies behaviour.unsupportedAvailabilityZoneFailure: throws InvalidRequestException ('invalid-request'),
 * or returns the reason the operation will fail with ('fail-operation').
 */
function zoneFailure(ctx: Ctx, network: NetworkConfiguration): string | undefined {
  const why = unsupportedZones(ctx, network);
  if (why !== undefined && ctx.config.behaviour.unsupportedAvailabilityZoneFailure === 'invalid-request')
    throw E.invalidRequest(why);
  return why;
}

// ---------------------------------------------------------------------------------------------
// Handlers

const arnMember = (name: string): Record<string, Member> => ({
  [name]: { rule: shapes.AppRunnerResourceArn, required: true },
});

const byArn =
  (member: string) =>
  (ctx: Ctx, input: Input): Target => {
    const arn = input[member] as string;
    return { resource: arn, context: resourceTags(ctx, arn) };
  };

function handler(
  members: Readonly<Record<string, Member>>,
  mutates: boolean,
  target: (ctx: Ctx, input: Input) => Target,
  run: (ctx: Ctx, input: Input) => unknown,
): Handler<Input> {
  return {
    mutates,
    validate: (input) => {
      validateInput(members, input);
    },
    target,
    run,
  };
}

const createVpcConnector = handler(
  {
    VpcConnectorName: { rule: shapes.VpcConnectorName, required: true },
    Subnets: { rule: { ...stringList, min: 1 } as typeof stringList, required: true },
    SecurityGroups: { rule: stringList },
    Tags: { rule: tagList },
  },
  true,
  (ctx, input) => ({
    resource: `${arnPrefix(ctx)}:vpcconnector/${input.VpcConnectorName as string}/*`,
    context: tagContext(asTags(input.Tags)),
  }),
  (ctx, input) => {
    if (ctx.config.behaviour.createVpcConnectorNeedsEc2Describe) {
      // App Runner reads the subnets and security groups with the caller's own permissions.
      callerMay(ctx, 'ec2:DescribeSubnets');
      callerMay(ctx, 'ec2:DescribeSecurityGroups');
    }
    const r = here(ctx);
    const name = input.VpcConnectorName as string;
    const subnetIds = [...new Set(input.Subnets as string[])];
    const sgIds =
      input.SecurityGroups === undefined ? undefined : [...new Set(input.SecurityGroups as string[])];
    const subnets = subnetIds.map((id) => {
      const s = r.subnets.find((x) => x.id === id);
      if (s === undefined) throw E.invalidRequest(`The subnet ID '${id}' does not exist.`);
      return s;
    });
    const vpcIds = [...new Set(subnets.map((s) => s.vpcId))];
    const vpcId = vpcIds[0] ?? '';
    if (vpcIds.length > 1) {
      throw E.invalidRequest(
        `Subnets must all belong to one VPC, but they span ${vpcIds.join(', ')}: ${subnets.map((s) => `${s.id} (${s.vpcId})`).join(', ')}.`,
      );
    }
    let securityGroups: string[];
    if (sgIds === undefined || sgIds.length === 0) {
      const def = r.securityGroups.find((g) => g.vpcId === vpcId && g.name === 'default');
      securityGroups = def === undefined ? [] : [def.id];
    } else {
      for (const id of sgIds) {
        const g = r.securityGroups.find((x) => x.id === id);
        if (g === undefined) throw E.invalidRequest(`The security group '${id}' does not exist.`);
        if (g.vpcId !== vpcId) {
          throw E.invalidRequest(
            `Security group ${id} belongs to ${g.vpcId}, not to the subnets' VPC ${vpcId}.`,
          );
        }
      }
      securityGroups = sgIds;
    }
    // A connector whose delete has not settled still holds its name and counts toward the quota.
    const existing = r.connectors.find((c) => c.name === name && appearsActive(c, ctx.now));
    if (existing !== undefined) {
      throw E.invalidRequest(`A VPC connector with the name ${name} already exists: ${existing.arn}`);
    }
    const active = r.connectors.filter((c) => appearsActive(c, ctx.now)).length;
    if (active >= ctx.config.behaviour.connectorQuota) {
      throw E.quota(
        `You have reached the quota of ${ctx.config.behaviour.connectorQuota} VPC connectors in ${ctx.region}. Delete unused VPC connectors or request a quota increase.`,
      );
    }
    ensureServiceLinkedRole(ctx);
    const used = r.connectorRevisions[name] ?? 0;
    const revision = ctx.config.behaviour.connectorRevisionOnReuse === 'increment' ? used + 1 : 1;
    r.connectorRevisions[name] = Math.max(used, revision);
    const describeDelay = ctx.config.consistency.connectorDescribeDelayMs;
    const connector: Connector = {
      arn: `${arnPrefix(ctx)}:vpcconnector/${name}/${revision}/${ctx.prng.hex(32)}`,
      name,
      revision,
      subnets: subnetIds,
      securityGroups,
      vpcId,
      status: 'ACTIVE',
      createdAt: ctx.now,
      listableAt: ctx.now + ctx.config.consistency.connectorListDelayMs,
      ...(describeDelay > 0 ? { describableAt: ctx.now + describeDelay } : {}),
      ...freshTags(ctx, asTags(input.Tags)),
    };
    r.connectors.push(connector);
    return { VpcConnector: connectorJson(connector) };
  },
);

/** A dependent action App Runner performs with the caller's permissions; AccessDeniedException if the caller policy forbids it. */
function callerMay(ctx: Ctx, action: string): void {
  const policy = ctx.config.callerPolicy;
  if (policy === null) return;
  let allowed: boolean;
  try {
    allowed =
      evaluatePolicy(policy, { action, resource: '*', context: { 'aws:RequestedRegion': ctx.region } })
        .effect === 'Allow';
  } catch {
    allowed = false;
  }
  if (!allowed) {
    throw E.accessDenied(
      `User: arn:aws:iam::${ctx.accountId}:user/${ctx.caller.split(' ')[0] ?? ''} is not authorized to perform: ${action} on resource: * because no identity-based policy allows the ${action} action (needed by ${ctx.operation})`,
    );
  }
}

/** App Runner creates the networking SLR on the caller's behalf, which needs iam:CreateServiceLinkedRole. */
function ensureServiceLinkedRole(ctx: Ctx): void {
  if (findRole(ctx.world, SLR_NAME) !== undefined) return;
  const denied = (why: string): Error =>
    E.accessDenied(
      `Unable to create the service-linked role ${SLR_NAME}: ${why}. The caller needs iam:CreateServiceLinkedRole for ${SLR_PRINCIPAL}.`,
    );
  if (ctx.config.faults.accessDeniedOnSlrCreation) throw denied('access denied');
  const policy = ctx.config.callerPolicy;
  if (policy !== null) {
    let allowed: boolean;
    try {
      allowed =
        evaluatePolicy(policy, {
          action: 'iam:CreateServiceLinkedRole',
          resource: slrArn(ctx.accountId),
          context: { 'iam:AWSServiceName': SLR_PRINCIPAL, 'aws:RequestedRegion': ctx.region },
        }).effect === 'Allow';
    } catch {
      allowed = false;
    }
    if (!allowed) throw denied('the caller is not authorized to perform iam:CreateServiceLinkedRole');
  }
  createRole(ctx, SLR_NAME, SLR_PRINCIPAL, 'Service-linked role for App Runner networking (VPC connectors).');
}

const describeVpcConnector = handler(
  arnMember('VpcConnectorArn'),
  false,
  byArn('VpcConnectorArn'),
  (ctx, input) => {
    const c = findConnector(ctx, input.VpcConnectorArn as string);
    // Read-after-create lag: the new connector is not found yet.
    if (c.describableAt !== undefined && ctx.now < c.describableAt)
      throw E.notFound(`A resource doesn't exist for the specified Amazon Resource Name (ARN): ${c.arn}`);
    return { VpcConnector: observedConnectorJson(c, ctx.now) };
  },
);

const deleteVpcConnector = handler(
  arnMember('VpcConnectorArn'),
  true,
  byArn('VpcConnectorArn'),
  (ctx, input) => {
    const c = findConnector(ctx, input.VpcConnectorArn as string);
    if (c.status === 'INACTIVE') {
      // The first delete is still settling: AWS would plausibly accept the repeat; answer what the first did.
      if (appearsActive(c, ctx.now)) return { VpcConnector: connectorJson(c) };
      if (ctx.config.behaviour.deleteInactiveConnector === 'return-inactive')
        return { VpcConnector: connectorJson(c) };
      throw E.notFound(`A resource doesn't exist for the specified Amazon Resource Name (ARN): ${c.arn}`);
    }
    const use = connectorUse(here(ctx), c.arn, ctx.now);
    if (use !== undefined) {
      if (use.visible) ctx.violation(Invariants.connectorDeletedInUse, c.arn, use.why);
      throw E.invalidRequest(`Provided VPC connector arn is being used by other services. ARN:  ${c.arn}`);
    }
    c.status = 'INACTIVE';
    c.deletedAt = ctx.now;
    const settleDelay = ctx.config.consistency.connectorDeleteDelayMs;
    if (settleDelay > 0) c.inactiveVisibleAt = ctx.now + settleDelay;
    return { VpcConnector: connectorJson(c) };
  },
);

const listVpcConnectors = handler(
  { MaxResults: { rule: { kind: 'int', min: 1, max: 100 } }, NextToken: { rule: shapes.NextToken } },
  false,
  () => ({ resource: '*' }),
  (ctx, input) => {
    const all = here(ctx).connectors.filter(
      (c) =>
        c.listableAt <= ctx.now && (ctx.config.behaviour.listInactiveConnectors || appearsActive(c, ctx.now)),
    );
    const page = pageOrBadToken(() =>
      paginate(
        ctx,
        all,
        (c) => timeKey(c.createdAt, c.arn),
        input.MaxResults as number | undefined,
        input.NextToken as string | undefined,
      ),
    );
    return {
      VpcConnectors: page.items.map((c) => observedConnectorJson(c, ctx.now)),
      ...(page.nextToken !== undefined ? { NextToken: page.nextToken } : {}),
    };
  },
);

const tagResource = handler(
  {
    ResourceArn: { rule: shapes.AppRunnerResourceArn, required: true },
    Tags: { rule: tagList, required: true },
  },
  true,
  (ctx, input) => {
    const arn = input.ResourceArn as string;
    return { resource: arn, context: { ...resourceTags(ctx, arn), ...tagContext(asTags(input.Tags)) } };
  },
  (ctx, input) => {
    const t = taggable(ctx, input.ResourceArn as string);
    if (t.gone)
      throw E.invalidState(`Resource ${input.ResourceArn as string} is deleted and can't be tagged.`);
    writeTags(ctx, t.resource, mergeTags(t.resource.tags, asTags(input.Tags)));
    return {};
  },
);

const untagResource = handler(
  {
    ResourceArn: { rule: shapes.AppRunnerResourceArn, required: true },
    TagKeys: { rule: { kind: 'list', item: shapes.TagKey }, required: true },
  },
  true,
  (ctx, input) => {
    const arn = input.ResourceArn as string;
    return {
      resource: arn,
      context: { ...resourceTags(ctx, arn), 'aws:TagKeys': input.TagKeys as string[] },
    };
  },
  (ctx, input) => {
    const t = taggable(ctx, input.ResourceArn as string);
    if (t.gone)
      throw E.invalidState(`Resource ${input.ResourceArn as string} is deleted and can't be untagged.`);
    const keys = input.TagKeys as string[];
    writeTags(
      ctx,
      t.resource,
      t.resource.tags.filter((x) => !keys.includes(x.Key)),
    );
    return {};
  },
);

const listTagsForResource = handler(arnMember('ResourceArn'), false, byArn('ResourceArn'), (ctx, input) => ({
  Tags: readTags(taggable(ctx, input.ResourceArn as string).resource, ctx.now),
}));

const serviceConfigMembers: Record<string, Member> = {
  InstanceConfiguration: { rule: instanceConfiguration },
  HealthCheckConfiguration: { rule: healthCheckConfiguration },
  AutoScalingConfigurationArn: { rule: shapes.AppRunnerResourceArn },
  NetworkConfiguration: { rule: networkConfiguration },
  ObservabilityConfiguration: { rule: observabilityConfiguration },
};

function checkSource(raw: unknown): void {
  const src = raw as { ImageRepository?: unknown; CodeRepository?: unknown } | undefined;
  if (src === undefined) return;
  if (src.CodeRepository !== undefined) {
    throw E.invalidRequest(
      'The simulator supports image-based services only: use SourceConfiguration.ImageRepository.',
    );
  }
  if (src.ImageRepository === undefined) {
    throw E.invalidRequest('SourceConfiguration must contain ImageRepository or CodeRepository.');
  }
}

const obj = (v: unknown): Record<string, unknown> => (v ?? {}) as Record<string, unknown>;

/** Creates a service record; shared by CreateService and seeds (which settle it at once). */
export function newService(ctx: Ctx, name: string, input: Input, network: NetworkConfiguration): Service {
  const id = ctx.prng.hex(32);
  return {
    arn: `${arnPrefix(ctx)}:service/${name}/${id}`,
    id,
    name,
    url: `${ctx.prng.chars(10, 'abcdefghijklmnopqrstuvwxyz0123456789')}.${ctx.region}.awsapprunner.com`,
    status: 'OPERATION_IN_PROGRESS',
    createdAt: ctx.now,
    updatedAt: ctx.now,
    network,
    sourceConfiguration: { AutoDeploymentsEnabled: false, ...obj(input.SourceConfiguration) },
    instanceConfiguration: { Cpu: '1024', Memory: '2048', ...obj(input.InstanceConfiguration) },
    healthCheckConfiguration: {
      Protocol: 'TCP',
      Path: '/',
      Interval: 5,
      Timeout: 2,
      HealthyThreshold: 1,
      UnhealthyThreshold: 5,
      ...obj(input.HealthCheckConfiguration),
    },
    ...(input.ObservabilityConfiguration !== undefined
      ? { observabilityConfiguration: obj(input.ObservabilityConfiguration) }
      : {}),
    ...(input.EncryptionConfiguration !== undefined
      ? { encryptionConfiguration: obj(input.EncryptionConfiguration) }
      : {}),
    autoScalingConfigurationArn:
      (input.AutoScalingConfigurationArn as string | undefined) ??
      `${arnPrefix(ctx)}:autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001`,
    operations: [],
    tags: asTags(input.Tags),
  };
}

const createService = handler(
  {
    ServiceName: { rule: shapes.ServiceName, required: true },
    SourceConfiguration: { rule: sourceConfiguration, required: true },
    Tags: { rule: tagList },
    EncryptionConfiguration: { rule: encryptionConfiguration },
    ...serviceConfigMembers,
  },
  true,
  (ctx, input) => ({
    resource: `${arnPrefix(ctx)}:service/${input.ServiceName as string}/*`,
    context: tagContext(asTags(input.Tags)),
  }),
  (ctx, input) => {
    checkSource(input.SourceConfiguration);
    const r = here(ctx);
    const name = input.ServiceName as string;
    if (r.services.some((s) => s.name === name && s.status !== 'DELETED')) {
      throw E.invalidRequest(`Service with the provided name already exists: ${name}`);
    }
    const network = applyNetwork(ctx, defaultNetwork, input.NetworkConfiguration);
    const doomed = zoneFailure(ctx, network);
    const service = { ...newService(ctx, name, input, network), ...freshTags(ctx, asTags(input.Tags)) };
    r.services.push(service);
    const op = startOperation(ctx, service, 'CREATE_SERVICE', {
      extraMs: doomed === undefined ? firstAssociationDelay(ctx, r, network) : 0,
      ...(doomed !== undefined ? { doomed } : {}),
    });
    return { Service: serviceJson(service), OperationId: op.id };
  },
);

const describeService = handler(arnMember('ServiceArn'), false, byArn('ServiceArn'), (ctx, input) => ({
  Service: serviceJson(findService(ctx, input.ServiceArn as string)),
}));

const listServices = handler(
  { MaxResults: { rule: { kind: 'int', min: 1, max: 20 } }, NextToken: { rule: shapes.String } },
  false,
  () => ({ resource: '*' }),
  (ctx, input) => {
    const all = here(ctx).services.filter(
      (s) => ctx.config.behaviour.listDeletedServices || s.status !== 'DELETED',
    );
    const page = pageOrBadToken(() =>
      paginate(
        ctx,
        all,
        (s) => timeKey(s.createdAt, s.arn),
        input.MaxResults as number | undefined,
        input.NextToken as string | undefined,
      ),
    );
    return {
      ServiceSummaryList: page.items.map(summaryJson),
      ...(page.nextToken !== undefined ? { NextToken: page.nextToken } : {}),
    };
  },
);

function busy(s: Service, verb: string, allowed: readonly Service['status'][]): Error {
  return E.invalidState(
    `You can't ${verb} service ${s.arn} in its current state ${s.status}. The service status must be ${allowed.join(' or ')}.`,
  );
}

const updateService = handler(
  {
    ServiceArn: { rule: shapes.AppRunnerResourceArn, required: true },
    SourceConfiguration: { rule: sourceConfiguration },
    ...serviceConfigMembers,
  },
  true,
  byArn('ServiceArn'),
  (ctx, input) => {
    const s = findService(ctx, input.ServiceArn as string);
    const allowed = ['RUNNING', 'PAUSED', 'CREATE_FAILED'] as const;
    if (!(allowed as readonly string[]).includes(s.status)) {
      if (s.status === 'OPERATION_IN_PROGRESS') {
        ctx.violation(
          Invariants.updateOnBusyService,
          s.arn,
          `operation ${s.operations[0]?.id ?? '?'} is still in flight`,
        );
      }
      throw busy(s, 'update', allowed);
    }
    checkSource(input.SourceConfiguration);
    const r = here(ctx);
    const previous = { ...s.network };
    const next = applyNetwork(ctx, s.network, input.NetworkConfiguration);
    const doomed = zoneFailure(ctx, next);
    s.network = next;
    if (input.SourceConfiguration !== undefined)
      s.sourceConfiguration = { ...s.sourceConfiguration, ...obj(input.SourceConfiguration) };
    if (input.InstanceConfiguration !== undefined)
      s.instanceConfiguration = { ...s.instanceConfiguration, ...obj(input.InstanceConfiguration) };
    if (input.HealthCheckConfiguration !== undefined) {
      s.healthCheckConfiguration = { ...s.healthCheckConfiguration, ...obj(input.HealthCheckConfiguration) };
    }
    if (input.ObservabilityConfiguration !== undefined)
      s.observabilityConfiguration = obj(input.ObservabilityConfiguration);
    if (input.AutoScalingConfigurationArn !== undefined)
      s.autoScalingConfigurationArn = input.AutoScalingConfigurationArn as string;
    const op = startOperation(ctx, s, 'UPDATE_SERVICE', {
      extraMs:
        doomed === undefined && next.vpcConnectorArn !== previous.vpcConnectorArn
          ? firstAssociationDelay(ctx, r, next)
          : 0,
      previousNetwork: previous,
      settledStatus: s.status === 'PAUSED' ? 'PAUSED' : 'RUNNING',
      ...(doomed !== undefined ? { doomed } : {}),
    });
    return { Service: serviceJson(s), OperationId: op.id };
  },
);

function lifecycle(
  type: 'PAUSE_SERVICE' | 'RESUME_SERVICE' | 'DELETE_SERVICE',
  verb: string,
  allowed: readonly Service['status'][],
): Handler<Input> {
  return handler(arnMember('ServiceArn'), true, byArn('ServiceArn'), (ctx, input) => {
    const s = findService(ctx, input.ServiceArn as string);
    if (type === 'DELETE_SERVICE' && s.status === 'DELETED') {
      throw E.notFound(`A resource doesn't exist for the specified Amazon Resource Name (ARN): ${s.arn}`);
    }
    if (!allowed.includes(s.status)) throw busy(s, verb, allowed);
    if (type === 'DELETE_SERVICE') {
      const blocking = here(ctx).ingressConnections.find(
        (ic) => ic.serviceArn === s.arn && ic.status === 'AVAILABLE',
      );
      if (blocking !== undefined) {
        throw E.invalidState(
          `You cannot delete a Service while it has VpcIngressConnections with a status of AVAILABLE. Service Arn: ${s.arn} VpcIngressConnection Arn: ${blocking.arn}`,
        );
      }
    }
    const op = startOperation(ctx, s, type, {});
    return { Service: serviceJson(s), OperationId: op.id };
  });
}

const listOperations = handler(
  {
    ServiceArn: { rule: shapes.AppRunnerResourceArn, required: true },
    MaxResults: { rule: { kind: 'int', min: 1, max: 20 } },
    NextToken: { rule: shapes.String },
  },
  false,
  byArn('ServiceArn'),
  (ctx, input) => {
    const s = findService(ctx, input.ServiceArn as string);
    const page = pageOrBadToken(() =>
      paginate(
        ctx,
        s.operations,
        (o) => newestFirstKey(s.operations.length - s.operations.indexOf(o), o.id),
        input.MaxResults as number | undefined,
        input.NextToken as string | undefined,
      ),
    );
    return {
      OperationSummaryList: page.items.map((o) => operationJson(o, ctx.now)),
      ...(page.nextToken !== undefined ? { NextToken: page.nextToken } : {}),
    };
  },
);

// ---------------------------------------------------------------------------------------------
// VPC ingress connections (semantics.md §5.11): PENDING_* for timings.ingressConnectionPendingMs.

function ingressJson(ctx: Ctx, ic: IngressConnection): Record<string, unknown> {
  return {
    VpcIngressConnectionArn: ic.arn,
    VpcIngressConnectionName: ic.name,
    ServiceArn: ic.serviceArn,
    Status: ic.status,
    AccountId: ctx.accountId,
    DomainName: ic.domainName,
    IngressVpcConfiguration: { VpcId: ic.vpcId, VpcEndpointId: ic.vpcEndpointId },
    CreatedAt: secs(ic.createdAt),
    ...(ic.deletedAt !== undefined ? { DeletedAt: secs(ic.deletedAt) } : {}),
  };
}

function findIngress(ctx: Ctx, arn: string): IngressConnection {
  const ic = here(ctx).ingressConnections.find((x) => x.arn === arn);
  if (ic === undefined)
    throw E.notFound(`A resource doesn't exist for the specified Amazon Resource Name (ARN): ${arn}`);
  return ic;
}

const ingressVpcConfiguration: Member = {
  rule: {
    kind: 'struct',
    members: { VpcId: { rule: shapes.String }, VpcEndpointId: { rule: shapes.String } },
  },
  required: true,
};

function checkIngressVpc(ctx: Ctx, raw: unknown): { vpcId: string; vpcEndpointId: string } {
  const cfg = raw as { VpcId?: string; VpcEndpointId?: string };
  if (cfg.VpcId === undefined || cfg.VpcEndpointId === undefined) {
    throw E.invalidRequest('IngressVpcConfiguration needs both VpcId and VpcEndpointId.');
  }
  if (!here(ctx).vpcs.some((v) => v.id === cfg.VpcId))
    throw E.invalidRequest(`The vpc ID '${cfg.VpcId}' does not exist.`);
  return { vpcId: cfg.VpcId, vpcEndpointId: cfg.VpcEndpointId };
}

function ingressStateError(ic: IngressConnection, verb: string, allowed: readonly string[]): Error {
  return E.invalidState(
    `You can't ${verb} VPC ingress connection ${ic.arn} in its current state ${ic.status}. The status must be ${allowed.join(' or ')}.`,
  );
}

const createVpcIngressConnection = handler(
  {
    ServiceArn: { rule: shapes.AppRunnerResourceArn, required: true },
    VpcIngressConnectionName: { rule: shapes.VpcConnectorName, required: true },
    IngressVpcConfiguration: ingressVpcConfiguration,
    Tags: { rule: tagList },
  },
  true,
  (ctx, input) => ({
    resource: `${arnPrefix(ctx)}:vpcingressconnection/${input.VpcIngressConnectionName as string}/*`,
    context: tagContext(asTags(input.Tags)),
  }),
  (ctx, input) => {
    const r = here(ctx);
    const service = findService(ctx, input.ServiceArn as string);
    if (service.status === 'DELETED') throw busy(service, 'connect to', ['RUNNING', 'PAUSED']);
    const name = input.VpcIngressConnectionName as string;
    if (r.ingressConnections.some((ic) => ic.name === name && ic.status !== 'DELETED')) {
      throw E.invalidRequest(`A VPC ingress connection with the name ${name} already exists.`);
    }
    const { vpcId, vpcEndpointId } = checkIngressVpc(ctx, input.IngressVpcConfiguration);
    const ic: IngressConnection = {
      arn: `${arnPrefix(ctx)}:vpcingressconnection/${name}/${ctx.prng.hex(32)}`,
      name,
      serviceArn: service.arn,
      domainName: `${ctx.prng.chars(10, 'abcdefghijklmnopqrstuvwxyz0123456789')}.${ctx.region}.awsapprunner.com`,
      vpcId,
      vpcEndpointId,
      status: 'PENDING_CREATION',
      pendingUntil: ctx.now + ctx.config.timings.ingressConnectionPendingMs,
      createdAt: ctx.now,
      ...freshTags(ctx, asTags(input.Tags)),
    };
    r.ingressConnections.push(ic);
    return { VpcIngressConnection: ingressJson(ctx, ic) };
  },
);

const describeVpcIngressConnection = handler(
  arnMember('VpcIngressConnectionArn'),
  false,
  byArn('VpcIngressConnectionArn'),
  (ctx, input) => ({
    VpcIngressConnection: ingressJson(ctx, findIngress(ctx, input.VpcIngressConnectionArn as string)),
  }),
);

const updateVpcIngressConnection = handler(
  { ...arnMember('VpcIngressConnectionArn'), IngressVpcConfiguration: ingressVpcConfiguration },
  true,
  byArn('VpcIngressConnectionArn'),
  (ctx, input) => {
    const ic = findIngress(ctx, input.VpcIngressConnectionArn as string);
    const allowed = ['AVAILABLE', 'FAILED_CREATION', 'FAILED_UPDATE'];
    if (!allowed.includes(ic.status)) throw ingressStateError(ic, 'update', allowed);
    const { vpcId, vpcEndpointId } = checkIngressVpc(ctx, input.IngressVpcConfiguration);
    ic.vpcId = vpcId;
    ic.vpcEndpointId = vpcEndpointId;
    ic.status = 'PENDING_UPDATE';
    ic.pendingUntil = ctx.now + ctx.config.timings.ingressConnectionPendingMs;
    return { VpcIngressConnection: ingressJson(ctx, ic) };
  },
);

const deleteVpcIngressConnection = handler(
  arnMember('VpcIngressConnectionArn'),
  true,
  byArn('VpcIngressConnectionArn'),
  (ctx, input) => {
    const ic = findIngress(ctx, input.VpcIngressConnectionArn as string);
    const allowed = ['AVAILABLE', 'FAILED_CREATION', 'FAILED_UPDATE', 'FAILED_DELETION'];
    if (!allowed.includes(ic.status)) throw ingressStateError(ic, 'delete', allowed);
    ic.status = 'PENDING_DELETION';
    ic.pendingUntil = ctx.now + ctx.config.timings.ingressConnectionPendingMs;
    return { VpcIngressConnection: ingressJson(ctx, ic) };
  },
);

const listVpcIngressConnections = handler(
  {
    Filter: {
      rule: {
        kind: 'struct',
        members: {
          ServiceArn: { rule: shapes.AppRunnerResourceArn },
          VpcEndpointId: { rule: shapes.String },
        },
      },
    },
    MaxResults: { rule: { kind: 'int', min: 1, max: 100 } },
    NextToken: { rule: shapes.NextToken },
  },
  false,
  () => ({ resource: '*' }),
  (ctx, input) => {
    const filter = (input.Filter ?? {}) as { ServiceArn?: string; VpcEndpointId?: string };
    const all = here(ctx).ingressConnections.filter(
      (ic) =>
        ic.status !== 'DELETED' &&
        (filter.ServiceArn === undefined || ic.serviceArn === filter.ServiceArn) &&
        (filter.VpcEndpointId === undefined || ic.vpcEndpointId === filter.VpcEndpointId),
    );
    const page = pageOrBadToken(() =>
      paginate(
        ctx,
        all,
        (ic) => timeKey(ic.createdAt, ic.arn),
        input.MaxResults as number | undefined,
        input.NextToken as string | undefined,
      ),
    );
    return {
      VpcIngressConnectionSummaryList: page.items.map((ic) => ({
        VpcIngressConnectionArn: ic.arn,
        ServiceArn: ic.serviceArn,
      })),
      ...(page.nextToken !== undefined ? { NextToken: page.nextToken } : {}),
    };
  },
);

export const appRunnerHandlers: Readonly<Record<string, Handler<Input>>> = {
  CreateVpcConnector: createVpcConnector,
  DescribeVpcConnector: describeVpcConnector,
  ListVpcConnectors: listVpcConnectors,
  DeleteVpcConnector: deleteVpcConnector,
  TagResource: tagResource,
  UntagResource: untagResource,
  ListTagsForResource: listTagsForResource,
  CreateService: createService,
  DescribeService: describeService,
  ListServices: listServices,
  UpdateService: updateService,
  DeleteService: lifecycle('DELETE_SERVICE', 'delete', [
    'RUNNING',
    'PAUSED',
    'CREATE_FAILED',
    'DELETE_FAILED',
  ]),
  PauseService: lifecycle('PAUSE_SERVICE', 'pause', ['RUNNING']),
  ResumeService: lifecycle('RESUME_SERVICE', 'resume', ['PAUSED']),
  ListOperations: listOperations,
  CreateVpcIngressConnection: createVpcIngressConnection,
  DescribeVpcIngressConnection: describeVpcIngressConnection,
  UpdateVpcIngressConnection: updateVpcIngressConnection,
  DeleteVpcIngressConnection: deleteVpcIngressConnection,
  ListVpcIngressConnections: listVpcIngressConnections,
};

export { applyNetwork, defaultNetwork, operationJson };
