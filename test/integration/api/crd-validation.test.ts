// The generated CRDs on a real kube-apiserver: invalid manifests are refused at apply time with a message a
// human can act on (HTTP 422 and the text), valid ones are accepted and defaulted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { API_VERSION, GROUP, Kind, Plural, VERSION } from '../../../src/api/constants.ts';
import { crds, renderCrd } from '../../../src/api/crds.ts';
import { startTestCluster, type TestCluster } from '../../harness/cluster.ts';
import { matchingKubectl } from '../../harness/kubectl.ts';

type Spec = Record<string, unknown>;
type KindName = (typeof Kind)[keyof typeof Kind];

const subnetA = 'subnet-0123456789abcdef0';
const subnetB = 'subnet-0fedcba9876543210';
const sgA = 'sg-0123456789abcdef0';
const connectorArn =
  'arn:aws:apprunner:us-east-1:123456789012:vpcconnector/team-a-connector/1/0123456789abcdef0123456789abcdef';
const serviceArn =
  'arn:aws:apprunner:us-east-1:123456789012:service/payments/8fe1e10304f84fd2b0df550fe98a71fa';

const vpcc = (overrides: Spec = {}): Spec => ({ subnets: [subnetA], securityGroups: [sgA], ...overrides });
const svcnet = (overrides: Spec = {}): Spec => ({
  serviceArn,
  egress: { type: 'VPC', vpcConnectorRef: { name: 'team-a' } },
  ...overrides,
});

interface CreateCase {
  name: string;
  kind: KindName;
  spec: Spec;
  /** Text the API server's message must contain (the part a human reads). */
  message: string | RegExp;
}

const invalidOnCreate: CreateCase[] = [
  {
    name: 'rejects a subnet id that is not subnet- followed by 8 or 17 hex digits',
    kind: Kind.VpcConnector,
    spec: vpcc({ subnets: ['subnet-123'] }),
    message: /spec\.subnets\[0\].*should match '\^subnet-/,
  },
  {
    name: 'rejects a subnet id in upper-case hex, which AWS never issues',
    kind: Kind.VpcConnector,
    spec: vpcc({ subnets: ['subnet-0123456789ABCDEF0'] }),
    message: /spec\.subnets\[0\].*should match/,
  },
  {
    name: 'rejects an empty subnet list',
    kind: Kind.VpcConnector,
    spec: vpcc({ subnets: [] }),
    message: /spec\.subnets.*should have at least 1 items/,
  },
  {
    name: 'rejects a subnet listed twice, because subnets are a set',
    kind: Kind.VpcConnector,
    spec: vpcc({ subnets: [subnetA, subnetA] }),
    message: /spec\.subnets\[1\]: Duplicate value/,
  },
  {
    name: 'rejects more than 16 subnets',
    kind: Kind.VpcConnector,
    spec: vpcc({
      subnets: Array.from({ length: 17 }, (_, i) => `subnet-${i.toString(16).padStart(8, '0')}`),
    }),
    message: /spec\.subnets: Too many: 17: must have at most 16 items/,
  },
  {
    name: 'rejects a security group id that is not sg- followed by 8 or 17 hex digits',
    kind: Kind.VpcConnector,
    spec: vpcc({ securityGroups: ['sg-xyz'] }),
    message: /spec\.securityGroups\[0\].*should match '\^sg-/,
  },
  {
    name: 'rejects a security group listed twice',
    kind: Kind.VpcConnector,
    spec: vpcc({ securityGroups: [sgA, sgA] }),
    message: /spec\.securityGroups\[1\]: Duplicate value/,
  },
  {
    name: 'rejects a connector name longer than the 40 characters AWS allows',
    kind: Kind.VpcConnector,
    spec: vpcc({ vpcConnectorName: 'a'.repeat(41) }),
    message: /spec\.vpcConnectorName: Too long: may not be (longer|more) than 40/,
  },
  {
    name: 'rejects a connector name shorter than the 4 characters AWS requires',
    kind: Kind.VpcConnector,
    spec: vpcc({ vpcConnectorName: 'abc' }),
    message: /spec\.vpcConnectorName.*should be at least 4 chars long/,
  },
  {
    name: 'rejects a connector name with a character AWS does not allow',
    kind: Kind.VpcConnector,
    spec: vpcc({ vpcConnectorName: 'team.connector' }),
    message: /spec\.vpcConnectorName.*should match/,
  },
  {
    name: 'rejects a region that is not of the form us-east-1',
    kind: Kind.VpcConnector,
    spec: vpcc({ region: 'US-East-1' }),
    message: /spec\.region.*should match/,
  },
  {
    name: 'rejects an unknown updatePolicy with the allowed values',
    kind: Kind.VpcConnector,
    spec: vpcc({ updatePolicy: 'Replace' }),
    message: /spec\.updatePolicy: Unsupported value: "Replace": supported values: "Rotate", "Reject"/,
  },
  {
    name: 'rejects a managed connector without subnets',
    kind: Kind.VpcConnector,
    spec: { securityGroups: [sgA] },
    message: 'spec.subnets is required when managementPolicy is Manage',
  },
  {
    name: 'rejects Observe without a connector name or ARN to adopt',
    kind: Kind.VpcConnector,
    spec: { managementPolicy: 'Observe' },
    message:
      'managementPolicy Observe adopts an existing connector: set spec.vpcConnectorName or spec.vpcConnectorArn',
  },
  {
    name: 'rejects spec.vpcConnectorArn on a managed connector',
    kind: Kind.VpcConnector,
    spec: vpcc({ vpcConnectorArn: connectorArn }),
    message: 'spec.vpcConnectorArn is only for managementPolicy Observe',
  },
  {
    name: 'rejects an observed ARN whose name differs from spec.vpcConnectorName',
    kind: Kind.VpcConnector,
    spec: { managementPolicy: 'Observe', vpcConnectorArn: connectorArn, vpcConnectorName: 'other-connector' },
    message: 'spec.vpcConnectorArn names a different connector than spec.vpcConnectorName',
  },
  {
    name: 'rejects an observed ARN in another region than spec.region',
    kind: Kind.VpcConnector,
    spec: { managementPolicy: 'Observe', vpcConnectorArn: connectorArn, region: 'eu-west-1' },
    message: 'spec.vpcConnectorArn is in a different region than spec.region',
  },
  {
    name: 'rejects a malformed connector ARN',
    kind: Kind.VpcConnector,
    spec: { managementPolicy: 'Observe', vpcConnectorArn: 'arn:aws:apprunner:us-east-1:123:vpcconnector/x' },
    message: /spec\.vpcConnectorArn.*should match/,
  },
  {
    name: "rejects a tag key starting with 'aws:'",
    kind: Kind.VpcConnector,
    spec: vpcc({ tags: { 'aws:team': 'a' } }),
    message: "tag keys must not start with 'aws:'",
  },
  {
    name: 'rejects a tag key in the operator-reserved apprunnernet.dev/ prefix',
    kind: Kind.VpcConnector,
    spec: vpcc({ tags: { 'apprunnernet.dev/cluster': 'prod' } }),
    message: "tag keys under 'apprunnernet.dev/' are reserved",
  },
  {
    name: 'rejects a tag key longer than 128 characters',
    kind: Kind.VpcConnector,
    spec: vpcc({ tags: { ['k'.repeat(129)]: 'v' } }),
    message: 'tag keys must be 1 to 128 characters long',
  },
  {
    name: 'rejects a tag value longer than 256 characters',
    kind: Kind.VpcConnector,
    spec: vpcc({ tags: { team: 'v'.repeat(257) } }),
    message: /spec\.tags\.team: Too long: may not be (longer|more) than 256/,
  },
  {
    name: 'rejects a tag key with a zero-width space, which would pass for another key',
    kind: Kind.VpcConnector,
    spec: vpcc({ tags: { 'te\u200bam': 'a' } }),
    message:
      'tag keys and values must not contain control characters, line separators or invisible characters',
  },
  {
    name: 'rejects a tag value with a newline, which AWS refuses',
    kind: Kind.VpcConnector,
    spec: vpcc({ tags: { team: 'a\nadmin: true' } }),
    message: 'tag keys and values must not contain control characters',
  },
  {
    name: 'rejects a subnet id with a zero-width space and shows it escaped',
    kind: Kind.VpcConnector,
    spec: vpcc({ subnets: ['subnet-01234567\u200b89abcdef0'] }),
    message: /spec\.subnets\[0\]: Invalid value: "subnet-01234567\\u200b89abcdef0": .*should match/,
  },
  {
    name: 'rejects tags under Observe, which never changes the connector',
    kind: Kind.VpcConnector,
    spec: { managementPolicy: 'Observe', vpcConnectorName: 'legacy-connector', tags: { team: 'a' } },
    message: 'spec.tags is only for managementPolicy Manage',
  },
  {
    name: 'rejects an observed ARN whose partition does not match its region',
    kind: Kind.VpcConnector,
    spec: { managementPolicy: 'Observe', vpcConnectorArn: connectorArn.replace('arn:aws:', 'arn:aws-cn:') },
    message: "the ARN's partition does not match its region",
  },
  {
    name: 'rejects a service ARN of the GovCloud partition in a commercial region',
    kind: Kind.ServiceNetworking,
    spec: svcnet({ serviceArn: serviceArn.replace('arn:aws:', 'arn:aws-us-gov:') }),
    message: "the ARN's partition does not match its region",
  },
  {
    name: 'rejects a connector ARN of another account than the service',
    kind: Kind.ServiceNetworking,
    spec: svcnet({
      egress: { type: 'VPC', vpcConnectorArn: connectorArn.replace(':123456789012:', ':999999999999:') },
    }),
    message: 'spec.egress.vpcConnectorArn must be in the same AWS account as spec.serviceArn',
  },
  {
    name: 'rejects a service ARN that is not an App Runner service ARN',
    kind: Kind.ServiceNetworking,
    spec: svcnet({ serviceArn: 'arn:aws:ecs:us-east-1:123456789012:service/payments' }),
    message: /spec\.serviceArn.*should match/,
  },
  {
    name: 'rejects VPC egress that names both a VpcConnector and an ARN',
    kind: Kind.ServiceNetworking,
    spec: svcnet({
      egress: { type: 'VPC', vpcConnectorRef: { name: 'team-a' }, vpcConnectorArn: connectorArn },
    }),
    message: 'egress type VPC needs exactly one of vpcConnectorRef and vpcConnectorArn',
  },
  {
    name: 'rejects VPC egress without a connector',
    kind: Kind.ServiceNetworking,
    spec: svcnet({ egress: { type: 'VPC' } }),
    message: 'egress type VPC needs exactly one of vpcConnectorRef and vpcConnectorArn',
  },
  {
    name: 'rejects DEFAULT egress that names a connector',
    kind: Kind.ServiceNetworking,
    spec: svcnet({ egress: { type: 'DEFAULT', vpcConnectorRef: { name: 'team-a' } } }),
    message: 'egress type DEFAULT takes neither vpcConnectorRef nor vpcConnectorArn',
  },
  {
    name: 'rejects a connector ARN in another region than the service',
    kind: Kind.ServiceNetworking,
    spec: svcnet({
      egress: { type: 'VPC', vpcConnectorArn: connectorArn.replace('us-east-1', 'eu-west-1') },
    }),
    message: 'spec.egress.vpcConnectorArn must be in the same region as spec.serviceArn',
  },
  {
    name: 'rejects an unknown egress type with the allowed values',
    kind: Kind.ServiceNetworking,
    spec: svcnet({ egress: { type: 'PRIVATE' } }),
    message: /spec\.egress\.type: Unsupported value: "PRIVATE": supported values: "VPC", "DEFAULT"/,
  },
  {
    name: 'rejects an unknown IP address type',
    kind: Kind.ServiceNetworking,
    spec: svcnet({ ipAddressType: 'IPV6' }),
    message: /spec\.ipAddressType: Unsupported value: "IPV6"/,
  },
  {
    name: 'rejects a VpcConnector reference that is not a Kubernetes object name',
    kind: Kind.ServiceNetworking,
    spec: svcnet({ egress: { type: 'VPC', vpcConnectorRef: { name: 'Team_A' } } }),
    message: /spec\.egress\.vpcConnectorRef\.name.*should match/,
  },
  {
    name: 'rejects a ServiceNetworking without a service ARN',
    kind: Kind.ServiceNetworking,
    spec: { egress: { type: 'DEFAULT' } },
    message: /spec\.serviceArn: Required value/,
  },
];

interface UpdateCase {
  name: string;
  kind: KindName;
  before: Spec;
  after: Spec;
  message: string;
}

const invalidOnUpdate: UpdateCase[] = [
  {
    name: 'rejects an edit of subnets under updatePolicy Reject and says how to proceed',
    kind: Kind.VpcConnector,
    before: vpcc({ updatePolicy: 'Reject' }),
    after: vpcc({ updatePolicy: 'Reject', subnets: [subnetA, subnetB] }),
    message:
      'spec.subnets cannot change while updatePolicy is Reject: App Runner connectors are immutable; set updatePolicy: Rotate',
  },
  {
    name: 'rejects adding security groups under updatePolicy Reject',
    kind: Kind.VpcConnector,
    before: { subnets: [subnetA], updatePolicy: 'Reject' },
    after: vpcc({ updatePolicy: 'Reject' }),
    message: 'spec.securityGroups cannot change while updatePolicy is Reject',
  },
  {
    name: 'rejects a rename of the connector under updatePolicy Reject',
    kind: Kind.VpcConnector,
    before: vpcc({ updatePolicy: 'Reject', vpcConnectorName: 'team-a-one' }),
    after: vpcc({ updatePolicy: 'Reject', vpcConnectorName: 'team-a-two' }),
    message: 'spec.vpcConnectorName cannot change while updatePolicy is Reject',
  },
  {
    name: 'rejects a change of region whatever the update policy',
    kind: Kind.VpcConnector,
    before: vpcc({ region: 'us-east-1' }),
    after: vpcc({ region: 'us-west-2' }),
    message: 'spec.region cannot change or be removed',
  },
  {
    name: 'rejects removing the region, which would move the connector to the operator default',
    kind: Kind.VpcConnector,
    before: vpcc({ region: 'us-east-1' }),
    after: vpcc(),
    message: 'spec.region cannot change or be removed',
  },
  {
    name: 'rejects pointing a ServiceNetworking at another service',
    kind: Kind.ServiceNetworking,
    before: svcnet(),
    after: svcnet({ serviceArn: serviceArn.replace('payments', 'checkout') }),
    message: 'spec.serviceArn cannot change',
  },
];

const validOnUpdate: Omit<UpdateCase, 'message'>[] = [
  {
    name: 'accepts an edit of subnets under updatePolicy Rotate (the operator rotates the connector)',
    kind: Kind.VpcConnector,
    before: vpcc(),
    after: vpcc({ subnets: [subnetA, subnetB] }),
  },
  {
    name: 'accepts switching from Reject to Rotate together with a subnet edit',
    kind: Kind.VpcConnector,
    before: vpcc({ updatePolicy: 'Reject' }),
    after: vpcc({ updatePolicy: 'Rotate', subnets: [subnetB] }),
  },
  {
    name: 'accepts reordering subnets under Reject, because a set has no order',
    kind: Kind.VpcConnector,
    before: vpcc({ updatePolicy: 'Reject', subnets: [subnetA, subnetB] }),
    after: vpcc({ updatePolicy: 'Reject', subnets: [subnetB, subnetA] }),
  },
  {
    name: 'accepts a tag edit under Reject, because tags can change in place',
    kind: Kind.VpcConnector,
    before: vpcc({ updatePolicy: 'Reject', tags: { team: 'a' } }),
    after: vpcc({ updatePolicy: 'Reject', tags: { team: 'b' } }),
  },
  {
    name: 'accepts adding a region that was absent',
    kind: Kind.VpcConnector,
    before: vpcc(),
    after: vpcc({ region: 'us-east-1' }),
  },
  {
    name: 'accepts moving a service from a VpcConnector to DEFAULT egress',
    kind: Kind.ServiceNetworking,
    before: svcnet(),
    after: svcnet({ egress: { type: 'DEFAULT' } }),
  },
];

const validOnCreate: Omit<CreateCase, 'message'>[] = [
  { name: 'accepts a minimal managed connector', kind: Kind.VpcConnector, spec: { subnets: [subnetA] } },
  {
    name: 'accepts 8- and 17-digit ids, a name, a region and tags',
    kind: Kind.VpcConnector,
    spec: {
      subnets: [subnetA, 'subnet-0a1b2c3d'],
      securityGroups: [sgA, 'sg-0a1b2c3d'],
      vpcConnectorName: 'Team_A-connector',
      region: 'ap-southeast-2',
      tags: { team: 'payments', 'cost-center': '' },
      updatePolicy: 'Reject',
      deletionPolicy: 'Retain',
    },
  },
  {
    name: 'accepts Observe by name without subnets',
    kind: Kind.VpcConnector,
    spec: { managementPolicy: 'Observe', vpcConnectorName: 'legacy-connector' },
  },
  {
    name: 'accepts Observe by ARN with a matching name and region',
    kind: Kind.VpcConnector,
    spec: {
      managementPolicy: 'Observe',
      vpcConnectorArn: connectorArn,
      vpcConnectorName: 'team-a-connector',
      region: 'us-east-1',
    },
  },
  { name: 'accepts VPC egress through a VpcConnector', kind: Kind.ServiceNetworking, spec: svcnet() },
  {
    name: 'accepts VPC egress through a connector ARN in the service region, with ingress and IP type',
    kind: Kind.ServiceNetworking,
    spec: svcnet({
      egress: { type: 'VPC', vpcConnectorArn: connectorArn },
      ingress: { isPubliclyAccessible: false },
      ipAddressType: 'DUAL_STACK',
      deletionPolicy: 'Retain',
    }),
  },
  {
    name: 'accepts a service ARN of the China partition in a China region',
    kind: Kind.ServiceNetworking,
    spec: svcnet({
      serviceArn:
        'arn:aws-cn:apprunner:cn-north-1:123456789012:service/payments/8fe1e10304f84fd2b0df550fe98a71fa',
    }),
  },
  {
    name: 'accepts DEFAULT egress',
    kind: Kind.ServiceNetworking,
    spec: svcnet({ egress: { type: 'DEFAULT' } }),
  },
];

const plural = (kind: KindName): string =>
  kind === Kind.VpcConnector ? Plural.VpcConnector : Plural.ServiceNetworking;

interface ApiError {
  code: number;
  message: string;
}

/** The status code and the API server's Status message of a failed call. */
function apiError(err: unknown): ApiError {
  const e = err as { code?: unknown; body?: unknown };
  if (typeof e.code !== 'number') throw err;
  const body: unknown = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
  const message = (body as { message?: unknown } | undefined)?.message;
  return { code: e.code, message: typeof message === 'string' ? message : String(e.body) };
}

void describe('CRD validation on a real API server', () => {
  let cluster: TestCluster;
  let custom: CustomObjectsApi;
  let namespace: string;
  let counter = 0;

  before(async () => {
    cluster = await startTestCluster();
    await cluster.installCrds(crds);
    custom = cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    namespace = await cluster.newNamespace('crd-validation');
  });
  after(async () => {
    await cluster.stop();
  });

  const create = (kind: KindName, spec: Spec) =>
    custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plural(kind),
      body: { apiVersion: API_VERSION, kind, metadata: { name: `obj-${++counter}` }, spec },
    }) as Promise<{ metadata: { name: string }; spec: Spec }>;

  const rejection = async (call: Promise<unknown>): Promise<ApiError> => {
    try {
      await call;
    } catch (err) {
      return apiError(err);
    }
    assert.fail('the API server accepted the manifest');
  };

  for (const c of invalidOnCreate) {
    void it(c.name, async () => {
      const { code, message } = await rejection(create(c.kind, c.spec));
      assert.equal(code, 422, message);
      if (typeof c.message === 'string') assert.ok(message.includes(c.message), message);
      else assert.match(message, c.message);
    });
  }

  for (const c of validOnCreate) {
    void it(c.name, async () => {
      const created = await create(c.kind, c.spec);
      assert.ok(created.metadata.name);
    });
  }

  void it('defaults the policies of a VpcConnector to Rotate, Delete and Manage', async () => {
    const created = await create(Kind.VpcConnector, { subnets: [subnetA] });
    assert.deepEqual(
      [created.spec.updatePolicy, created.spec.deletionPolicy, created.spec.managementPolicy],
      ['Rotate', 'Delete', 'Manage'],
    );
  });

  void it('defaults the deletion policy of a ServiceNetworking to Detach', async () => {
    const created = await create(Kind.ServiceNetworking, svcnet());
    assert.equal(created.spec.deletionPolicy, 'Detach');
  });

  const update = async (kind: KindName, before: Spec, after: Spec): Promise<unknown> => {
    const created = await create(kind, before);
    return (await custom.patchNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plural(kind),
      name: created.metadata.name,
      body: [{ op: 'replace', path: '/spec', value: after }],
    })) as unknown;
  };

  for (const c of invalidOnUpdate) {
    void it(c.name, async () => {
      const { code, message } = await rejection(update(c.kind, c.before, c.after));
      assert.equal(code, 422, message);
      assert.ok(message.includes(c.message), message);
    });
  }

  for (const c of validOnUpdate) {
    void it(c.name, async () => {
      await update(c.kind, c.before, c.after);
    });
  }

  void it('accepts and refuses manifests through kubectl apply, as users run it', async (t) => {
    const kubectl = await matchingKubectl(cluster);
    if (typeof kubectl !== 'string') {
      t.skip(kubectl.skip);
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'apprunner-net-kubectl-'));
    try {
      const apply = (name: string, manifest: object) => {
        const file = join(dir, `${name}.yaml`);
        writeFileSync(file, JSON.stringify(manifest));
        return spawnSync(kubectl, ['--kubeconfig', cluster.kubeconfigPath, 'apply', '-f', file], {
          encoding: 'utf8',
          timeout: 30_000,
        });
      };
      const crdFile = join(dir, 'crds.yaml');
      writeFileSync(crdFile, crds.map(renderCrd).join('---\n'));
      const installed = spawnSync(
        kubectl,
        ['--kubeconfig', cluster.kubeconfigPath, 'apply', '--server-side', '-f', crdFile],
        { encoding: 'utf8', timeout: 30_000 },
      );
      assert.equal(installed.status, 0, installed.stderr);

      const manifest = (name: string, spec: Spec) => ({
        apiVersion: API_VERSION,
        kind: Kind.VpcConnector,
        metadata: { name, namespace },
        spec,
      });
      const good = apply('good', manifest('kubectl-good', vpcc()));
      assert.equal(good.status, 0, good.stderr);
      assert.match(good.stdout, /vpcconnector\.apprunnernet\.dev\/kubectl-good created/);

      const bad = apply('bad', manifest('kubectl-bad', vpcc({ subnets: [subnetA, subnetA] })));
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /spec\.subnets\[1\]: Duplicate value/);

      const listed = spawnSync(
        kubectl,
        ['--kubeconfig', cluster.kubeconfigPath, 'get', 'apprunner', '-n', namespace, '-o', 'wide'],
        { encoding: 'utf8', timeout: 30_000 },
      );
      assert.equal(listed.status, 0, listed.stderr);
      assert.match(listed.stdout, /NAME\s+READY\s+REASON\s+CONNECTOR\s+AWS-STATUS\s+ARN\s+MESSAGE\s+AGE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
