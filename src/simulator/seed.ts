// Seed documents: the networks (and, because the operator never creates services, the App Runner
// services) a run starts with. Used by --seed, SimulatorOptions.seed and POST /_sim/seed.

import { applyNetwork, defaultNetwork, newService } from './apprunner.ts';
import { createRole, findRole, SLR_NAME, SLR_PRINCIPAL, type Ctx } from './engine.ts';
import { createSecurityGroup, createSubnet, createVpc } from './ec2.ts';
import { regionOf, type Tag } from './world.ts';

export interface SeedDocument {
  /** Per region (e.g. 'us-east-1'): the networks and services it starts with. */
  regions?: Record<string, SeedRegion>;
  /** Create the networking service-linked role up front. Default false (CreateVpcConnector creates it). */
  serviceLinkedRole?: boolean;
}

export interface SeedRegion {
  /** VPCs with their subnets and security groups; each VPC also gets a 'default' security group. */
  vpcs?: SeedVpc[];
  /** App Runner services, created already settled (a CREATE_SERVICE operation SUCCEEDED at seed time). */
  services?: SeedService[];
}

export interface SeedVpc {
  /** Fixed id (e.g. 'vpc-0123456789abcdef0'); default a random one. */
  vpcId?: string;
  /** Default '10.0.0.0/16'. */
  cidrBlock?: string;
  /** Default false. */
  isDefault?: boolean;
  tags?: Record<string, string>;
  subnets?: SeedSubnet[];
  securityGroups?: SeedSecurityGroup[];
}

export interface SeedSubnet {
  /** Fixed id; default a random one. */
  subnetId?: string;
  /** Default '<first two octets of the VPC>.<index>.0/24'. */
  cidrBlock?: string;
  /** Default '<region>a', '<region>b', '<region>c' in turn. */
  availabilityZone?: string;
  tags?: Record<string, string>;
}

export interface SeedSecurityGroup {
  /** Fixed id; default a random one. */
  groupId?: string;
  groupName: string;
  /** Default 'seeded security group'. */
  description?: string;
  tags?: Record<string, string>;
}

export interface SeedService {
  serviceName: string;
  /** Default 'public.ecr.aws/aws-containers/hello-app-runner:latest'. */
  imageIdentifier?: string;
  /** Default 'RUNNING'. */
  status?: 'RUNNING' | 'PAUSED';
  /**
   * Absent: never set, so the service is public and DescribeService answers without IngressConfiguration
   * (a service created before private endpoints existed). Set (true or false): answered as IngressConfiguration.
   */
  isPubliclyAccessible?: boolean;
  /** Absent: never set, so the service is IPV4 and DescribeService answers without IpAddressType. */
  ipAddressType?: 'IPV4' | 'DUAL_STACK';
  tags?: Record<string, string>;
}

/** What a seed created, with the generated ids (the answer of POST /_sim/seed). */
export interface SeedResult {
  vpcs: {
    region: string;
    id: string;
    defaultSecurityGroupId: string;
    subnets: string[];
    securityGroups: Record<string, string>;
  }[];
  services: { region: string; name: string; arn: string }[];
}

const toTags = (t: Record<string, string> | undefined): Tag[] =>
  Object.entries(t ?? {}).map(([Key, Value]) => ({ Key, Value }));

/** Applies a seed; `withRegion` gives a context for a region. EC2 conflicts are thrown as AwsError. */
export function applySeed(ctx: Ctx, seed: SeedDocument, withRegion: (region: string) => Ctx): SeedResult {
  const result: SeedResult = { vpcs: [], services: [] };
  for (const [region, doc] of Object.entries(seed.regions ?? {})) {
    const c = withRegion(region);
    const r = regionOf(c.world, region);
    for (const v of doc.vpcs ?? []) {
      const vpc = createVpc(c, v.cidrBlock ?? '10.0.0.0/16', toTags(v.tags), v.vpcId, v.isDefault ?? false);
      const defaultSg = r.securityGroups.find((g) => g.vpcId === vpc.id && g.name === 'default');
      const base = vpc.cidrBlock.split('.').slice(0, 2).join('.');
      const subnets = (v.subnets ?? []).map(
        (s, i) =>
          createSubnet(
            c,
            vpc.id,
            s.cidrBlock ?? `${base}.${i}.0/24`,
            s.availabilityZone,
            toTags(s.tags),
            s.subnetId,
          ).id,
      );
      const groups: Record<string, string> = {};
      for (const g of v.securityGroups ?? []) {
        groups[g.groupName] = createSecurityGroup(
          c,
          vpc.id,
          g.groupName,
          g.description ?? 'seeded security group',
          toTags(g.tags),
          g.groupId,
        ).id;
      }
      result.vpcs.push({
        region,
        id: vpc.id,
        defaultSecurityGroupId: defaultSg?.id ?? '',
        subnets,
        securityGroups: groups,
      });
    }
    for (const s of doc.services ?? []) {
      if (r.services.some((x) => x.name === s.serviceName && x.status !== 'DELETED')) {
        throw new Error(`seed: service ${s.serviceName} already exists in ${region}`);
      }
      const network = applyNetwork(c, defaultNetwork, {
        ...(s.isPubliclyAccessible === undefined
          ? {}
          : { IngressConfiguration: { IsPubliclyAccessible: s.isPubliclyAccessible } }),
        ...(s.ipAddressType === undefined ? {} : { IpAddressType: s.ipAddressType }),
      });
      const service = newService(
        c,
        s.serviceName,
        {
          SourceConfiguration: {
            ImageRepository: {
              ImageIdentifier: s.imageIdentifier ?? 'public.ecr.aws/aws-containers/hello-app-runner:latest',
              ImageRepositoryType: 'ECR_PUBLIC',
              ImageConfiguration: { Port: '8000' },
            },
          },
          Tags: toTags(s.tags),
        },
        network,
      );
      service.status = s.status ?? 'RUNNING';
      service.operations.push({
        id: c.prng.uuid(),
        type: 'CREATE_SERVICE',
        targetArn: service.arn,
        startedAt: c.now,
        inProgressAt: c.now,
        workEndsAt: c.now,
        outcome: 'SUCCEEDED',
        endedAt: c.now,
        enisCreated: true,
      });
      r.services.push(service);
      result.services.push({ region, name: s.serviceName, arn: service.arn });
    }
  }
  if (seed.serviceLinkedRole === true && findRole(ctx.world, SLR_NAME) === undefined) {
    createRole(
      ctx,
      SLR_NAME,
      SLR_PRINCIPAL,
      'Service-linked role for App Runner networking (VPC connectors).',
    );
  }
  return result;
}
