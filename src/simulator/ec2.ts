// The EC2 subset (ec2Query protocol, XML): VPCs, subnets and security groups to validate connectors
// against, and DescribeNetworkInterfaces to see the ENIs the simulated App Runner manages.

import type { Ctx } from './engine.ts';
import { AwsError } from './errors.ts';
import type { Handler } from './handler.ts';
import { BadTokenError, paginate, timeKey } from './paginate.ts';
import { wildcardMatch } from './policy.ts';
import {
  regionOf,
  type NetworkInterface,
  type SecurityGroup,
  type Subnet,
  type Tag,
  type Vpc,
} from './world.ts';
import { list, type XmlList, type XmlNode } from './xml.ts';
import type { QueryInput } from './iam.ts';

/** The children of `<{Op}Response>` after `<requestId>`. */
export type Ec2Result = XmlNode;

const err = (code: string, message: string): AwsError => new AwsError(code, 400, message);

/** `Prefix.1`, `Prefix.2`, ... in index order. */
function indexed(input: QueryInput, prefix: string): string[] {
  const out: [number, string][] = [];
  for (const [k, v] of Object.entries(input)) {
    const m = /^(.+)\.(\d+)$/.exec(k);
    if (m?.[1] === prefix) out.push([Number(m[2]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
}

interface Filter {
  name: string;
  values: string[];
}

function filters(input: QueryInput): Filter[] {
  const names = new Map<number, string>();
  for (const [k, v] of Object.entries(input)) {
    const m = /^Filter\.(\d+)\.Name$/.exec(k);
    if (m !== null) names.set(Number(m[1]), v);
  }
  return [...names.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([i, name]) => ({ name, values: indexed(input, `Filter.${i}.Value`) }));
}

function tagSpecs(input: QueryInput, resourceType: string): Tag[] {
  const out: Tag[] = [];
  for (let i = 1; input[`TagSpecification.${i}.ResourceType`] !== undefined; i++) {
    if (input[`TagSpecification.${i}.ResourceType`] !== resourceType) continue;
    for (let j = 1; input[`TagSpecification.${i}.Tag.${j}.Key`] !== undefined; j++) {
      out.push({
        Key: input[`TagSpecification.${i}.Tag.${j}.Key`] ?? '',
        Value: input[`TagSpecification.${i}.Tag.${j}.Value`] ?? '',
      });
    }
  }
  return out;
}

type Field<T> = (item: T) => string | readonly string[] | undefined;

/** Applies EC2 filters (values OR-ed with `*`/`?` wildcards, filters AND-ed); unknown names are InvalidParameterValue. */
function applyFilters<T extends { tags: Tag[] }>(
  items: readonly T[],
  fs: readonly Filter[],
  fields: Readonly<Record<string, Field<T>>>,
): T[] {
  const getters = fs.map((f) => {
    if (f.name.startsWith('tag:')) {
      const key = f.name.slice(4);
      return { f, get: (i: T) => i.tags.find((t) => t.Key === key)?.Value };
    }
    if (f.name === 'tag-key') return { f, get: (i: T) => i.tags.map((t) => t.Key) };
    if (f.name === 'tag-value') return { f, get: (i: T) => i.tags.map((t) => t.Value) };
    const get = fields[f.name];
    if (get === undefined) throw err('InvalidParameterValue', `The filter '${f.name}' is invalid`);
    return { f, get };
  });
  return items.filter((item) =>
    getters.every(({ f, get }) => {
      const v = get(item);
      const values = v === undefined ? [] : typeof v === 'string' ? [v] : v;
      return values.some((x) => f.values.some((p) => wildcardMatch(p, x, false)));
    }),
  );
}

function byIds<T extends { id: string }>(
  items: readonly T[],
  ids: readonly string[],
  code: string,
  noun: string,
): T[] {
  if (ids.length === 0) return [...items];
  const missing = ids.filter((id) => !items.some((i) => i.id === id));
  if (missing.length > 0) {
    throw err(
      code,
      `The ${noun} ${missing.length === 1 ? `'${missing[0] ?? ''}' does` : `'${missing.join(', ')}' do`} not exist`,
    );
  }
  return items.filter((i) => ids.includes(i.id));
}

function page<T extends { id: string; createdAt: number }>(
  ctx: Ctx,
  input: QueryInput,
  items: T[],
  hasIds: boolean,
): { items: T[]; nextToken?: string } {
  const max = input.MaxResults === undefined ? undefined : Number(input.MaxResults);
  if (max !== undefined) {
    if (hasIds)
      throw err(
        'InvalidParameterCombination',
        'The parameter MaxResults cannot be used with the parameter ids',
      );
    if (!Number.isInteger(max) || max < 5 || max > 1000) {
      throw err(
        'InvalidParameterValue',
        `Value ( ${input.MaxResults ?? ''} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`,
      );
    }
  }
  try {
    return paginate(ctx, items, (i) => timeKey(i.createdAt, i.id), max, input.NextToken);
  } catch (e) {
    if (e instanceof BadTokenError)
      throw err('InvalidParameterValue', `Invalid value '${input.NextToken ?? ''}' for nextToken`);
    throw e;
  }
}

const tagSet = (tags: readonly Tag[]): XmlList =>
  list(
    'item',
    tags.map((t) => ({ key: t.Key, value: t.Value })),
  );
const withToken = (token: string | undefined): XmlNode => (token === undefined ? {} : { nextToken: token });

function vpcXml(ctx: Ctx, v: Vpc): XmlNode {
  return {
    vpcId: v.id,
    ownerId: ctx.accountId,
    state: 'available',
    cidrBlock: v.cidrBlock,
    cidrBlockAssociationSet: list('item', [
      {
        cidrBlock: v.cidrBlock,
        associationId: `vpc-cidr-assoc-${v.id.slice(4)}`,
        cidrBlockState: { state: 'associated' },
      },
    ]),
    dhcpOptionsId: 'dopt-00000000000000000',
    instanceTenancy: 'default',
    isDefault: v.isDefault,
    tagSet: tagSet(v.tags),
  };
}

const directions: Readonly<Record<string, string>> = {
  north: 'n',
  south: 's',
  east: 'e',
  west: 'w',
  central: 'c',
  northeast: 'ne',
  northwest: 'nw',
  southeast: 'se',
  southwest: 'sw',
};

/** The zone id of a zone name, in AWS's form (us-east-1a -> use1-az1, eu-west-1b -> euw1-az2). */
export function availabilityZoneId(zone: string): string {
  const region = zone.slice(0, -1);
  const parts = region.split('-');
  const prefix = parts
    .map((p, i) => (i === 0 || /^\d+$/.test(p) ? p : (directions[p] ?? p[0] ?? '')))
    .join('');
  return `${prefix}-az${zone.slice(-1).charCodeAt(0) - 96}`;
}

function subnetXml(ctx: Ctx, s: Subnet): XmlNode {
  return {
    subnetId: s.id,
    subnetArn: `arn:aws:ec2:${ctx.region}:${ctx.accountId}:subnet/${s.id}`,
    state: 'available',
    vpcId: s.vpcId,
    ownerId: ctx.accountId,
    cidrBlock: s.cidrBlock,
    ipv6CidrBlockAssociationSet: list('item', []),
    availableIpAddressCount: 250,
    availabilityZone: s.availabilityZone,
    availabilityZoneId: availabilityZoneId(s.availabilityZone),
    defaultForAz: false,
    mapPublicIpOnLaunch: false,
    assignIpv6AddressOnCreation: false,
    tagSet: tagSet(s.tags),
  };
}

function sgXml(ctx: Ctx, g: SecurityGroup): XmlNode {
  return {
    ownerId: ctx.accountId,
    groupId: g.id,
    groupName: g.name,
    groupDescription: g.description,
    vpcId: g.vpcId,
    securityGroupArn: `arn:aws:ec2:${ctx.region}:${ctx.accountId}:security-group/${g.id}`,
    ipPermissions: list('item', []),
    ipPermissionsEgress: list('item', [
      { ipProtocol: '-1', ipRanges: list('item', [{ cidrIp: '0.0.0.0/0' }]) },
    ]),
    tagSet: tagSet(g.tags),
  };
}

function eniXml(ctx: Ctx, e: NetworkInterface): XmlNode {
  const groups = regionOf(ctx.world, ctx.region).securityGroups;
  return {
    networkInterfaceId: e.id,
    subnetId: e.subnetId,
    vpcId: e.vpcId,
    availabilityZone: e.availabilityZone,
    description: e.description,
    ownerId: ctx.accountId,
    requesterId: 'AROAAPPRUNNERNETWORKING',
    requesterManaged: true,
    status: 'in-use',
    macAddress: e.macAddress,
    privateIpAddress: e.privateIpAddress,
    privateIpAddressesSet: list('item', [{ privateIpAddress: e.privateIpAddress, primary: true }]),
    sourceDestCheck: true,
    groupSet: list(
      'item',
      e.securityGroups.map((id) => ({ groupId: id, groupName: groups.find((g) => g.id === id)?.name ?? '' })),
    ),
    interfaceType: 'interface',
    tagSet: tagSet(e.tags),
  };
}

function handler(mutates: boolean, run: (ctx: Ctx, input: QueryInput) => Ec2Result): Handler<QueryInput> {
  return { mutates, target: () => ({ resource: '*' }), run };
}

const required = (input: QueryInput, name: string): string => {
  const v = input[name];
  if (v === undefined || v === '')
    throw err('MissingParameter', `The request must contain the parameter ${name}`);
  return v;
};

const cidrPattern = /^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/;

/** Creates a VPC and its default security group (shared by CreateVpc and seeds). */
export function createVpc(ctx: Ctx, cidrBlock: string, tags: Tag[], id?: string, isDefault = false): Vpc {
  const r = regionOf(ctx.world, ctx.region);
  const vpc: Vpc = { id: id ?? `vpc-${ctx.prng.hex(17)}`, cidrBlock, isDefault, tags, createdAt: ctx.now };
  r.vpcs.push(vpc);
  r.securityGroups.push({
    id: `sg-${ctx.prng.hex(17)}`,
    vpcId: vpc.id,
    name: 'default',
    description: 'default VPC security group',
    tags: [],
    createdAt: ctx.now,
  });
  return vpc;
}

export function createSubnet(
  ctx: Ctx,
  vpcId: string,
  cidrBlock: string,
  az: string | undefined,
  tags: Tag[],
  id?: string,
): Subnet {
  const r = regionOf(ctx.world, ctx.region);
  if (!r.vpcs.some((v) => v.id === vpcId))
    throw err('InvalidVpcID.NotFound', `The vpc ID '${vpcId}' does not exist`);
  const subnet: Subnet = {
    id: id ?? `subnet-${ctx.prng.hex(17)}`,
    vpcId,
    cidrBlock,
    availabilityZone:
      az ?? `${ctx.region}${'abc'[r.subnets.filter((s) => s.vpcId === vpcId).length % 3] ?? 'a'}`,
    tags,
    createdAt: ctx.now,
  };
  r.subnets.push(subnet);
  return subnet;
}

export function createSecurityGroup(
  ctx: Ctx,
  vpcId: string,
  name: string,
  description: string,
  tags: Tag[],
  id?: string,
): SecurityGroup {
  const r = regionOf(ctx.world, ctx.region);
  if (!r.vpcs.some((v) => v.id === vpcId))
    throw err('InvalidVpcID.NotFound', `The vpc ID '${vpcId}' does not exist`);
  if (r.securityGroups.some((g) => g.vpcId === vpcId && g.name === name)) {
    throw err('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpcId}'`);
  }
  const group: SecurityGroup = {
    id: id ?? `sg-${ctx.prng.hex(17)}`,
    vpcId,
    name,
    description,
    tags,
    createdAt: ctx.now,
  };
  r.securityGroups.push(group);
  return group;
}

export const ec2Handlers: Readonly<Record<string, Handler<QueryInput>>> = {
  CreateVpc: handler(true, (ctx, input) => {
    const cidr = required(input, 'CidrBlock');
    if (!cidrPattern.test(cidr))
      throw err(
        'InvalidParameterValue',
        `Value (${cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`,
      );
    return { vpc: vpcXml(ctx, createVpc(ctx, cidr, tagSpecs(input, 'vpc'))) };
  }),
  CreateSubnet: handler(true, (ctx, input) => {
    const vpcId = required(input, 'VpcId');
    const cidr = required(input, 'CidrBlock');
    if (!cidrPattern.test(cidr))
      throw err(
        'InvalidParameterValue',
        `Value (${cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`,
      );
    return {
      subnet: subnetXml(
        ctx,
        createSubnet(ctx, vpcId, cidr, input.AvailabilityZone, tagSpecs(input, 'subnet')),
      ),
    };
  }),
  CreateSecurityGroup: handler(true, (ctx, input) => {
    const name = required(input, 'GroupName');
    const description = required(input, 'GroupDescription');
    const r = regionOf(ctx.world, ctx.region);
    const vpcId = input.VpcId ?? r.vpcs.find((v) => v.isDefault)?.id;
    if (vpcId === undefined) throw err('VPCIdNotSpecified', 'No default VPC for this user');
    const g = createSecurityGroup(ctx, vpcId, name, description, tagSpecs(input, 'security-group'));
    return {
      return: true,
      groupId: g.id,
      securityGroupArn: `arn:aws:ec2:${ctx.region}:${ctx.accountId}:security-group/${g.id}`,
      tagSet: tagSet(g.tags),
    };
  }),
  DescribeVpcs: handler(false, (ctx, input) => {
    const r = regionOf(ctx.world, ctx.region);
    const ids = indexed(input, 'VpcId');
    const items = applyFilters(byIds(r.vpcs, ids, 'InvalidVpcID.NotFound', 'vpc ID'), filters(input), {
      'vpc-id': (v) => v.id,
      cidr: (v) => v.cidrBlock,
      'cidr-block-association.cidr-block': (v) => v.cidrBlock,
      'is-default': (v) => String(v.isDefault),
      state: () => 'available',
      'owner-id': () => ctx.accountId,
    });
    const p = page(ctx, input, items, ids.length > 0);
    return {
      vpcSet: list(
        'item',
        p.items.map((v) => vpcXml(ctx, v)),
      ),
      ...withToken(p.nextToken),
    };
  }),
  DescribeSubnets: handler(false, (ctx, input) => {
    const r = regionOf(ctx.world, ctx.region);
    const ids = indexed(input, 'SubnetId');
    const items = applyFilters(
      byIds(r.subnets, ids, 'InvalidSubnetID.NotFound', 'subnet ID'),
      filters(input),
      {
        'subnet-id': (s) => s.id,
        'vpc-id': (s) => s.vpcId,
        'availability-zone': (s) => s.availabilityZone,
        'cidr-block': (s) => s.cidrBlock,
        state: () => 'available',
        'owner-id': () => ctx.accountId,
      },
    );
    const p = page(ctx, input, items, ids.length > 0);
    return {
      subnetSet: list(
        'item',
        p.items.map((s) => subnetXml(ctx, s)),
      ),
      ...withToken(p.nextToken),
    };
  }),
  DescribeSecurityGroups: handler(false, (ctx, input) => {
    const r = regionOf(ctx.world, ctx.region);
    const ids = indexed(input, 'GroupId');
    const names = indexed(input, 'GroupName');
    let groups = byIds(r.securityGroups, ids, 'InvalidGroup.NotFound', 'security group');
    if (names.length > 0) {
      const missing = names.filter((n) => !groups.some((g) => g.name === n));
      if (missing.length > 0)
        throw err(
          'InvalidGroup.NotFound',
          `The security group '${missing.join(', ')}' does not exist in default VPC`,
        );
      groups = groups.filter((g) => names.includes(g.name));
    }
    const items = applyFilters(groups, filters(input), {
      'group-id': (g) => g.id,
      'group-name': (g) => g.name,
      'vpc-id': (g) => g.vpcId,
      description: (g) => g.description,
      'owner-id': () => ctx.accountId,
    });
    const p = page(ctx, input, items, ids.length + names.length > 0);
    return {
      securityGroupInfo: list(
        'item',
        p.items.map((g) => sgXml(ctx, g)),
      ),
      ...withToken(p.nextToken),
    };
  }),
  DescribeNetworkInterfaces: handler(false, (ctx, input) => {
    const r = regionOf(ctx.world, ctx.region);
    const ids = indexed(input, 'NetworkInterfaceId');
    const items = applyFilters(
      byIds(r.networkInterfaces, ids, 'InvalidNetworkInterfaceID.NotFound', 'networkInterface ID'),
      filters(input),
      {
        'network-interface-id': (e) => e.id,
        'subnet-id': (e) => e.subnetId,
        'vpc-id': (e) => e.vpcId,
        'group-id': (e) => e.securityGroups,
        'availability-zone': (e) => e.availabilityZone,
        description: (e) => e.description,
        status: () => 'in-use',
        'requester-managed': () => 'true',
        'interface-type': () => 'interface',
        'private-ip-address': (e) => e.privateIpAddress,
        'owner-id': () => ctx.accountId,
      },
    );
    const p = page(ctx, input, items, ids.length > 0);
    return {
      networkInterfaceSet: list(
        'item',
        p.items.map((e) => eniXml(ctx, e)),
      ),
      ...withToken(p.nextToken),
    };
  }),
};
