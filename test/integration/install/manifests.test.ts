// The two ways to install the operator, the kustomize base (deploy/) and the Helm chart (charts/apprunner-net),
// rendered by the real tools (`kubectl kustomize`, `helm template` built by scripts/build-helm.sh): with the
// base's values the chart renders the same objects with the same RBAC rules, container, probes, security
// contexts, replicas and disruption budget; its values change what they should; it refuses bad values with a
// message; and both renderings pass a real API server's validation and its restricted Pod Security admission.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import type {
  KubernetesObject,
  V1ClusterRole,
  V1ClusterRoleBinding,
  V1CustomResourceDefinition,
  V1Deployment,
  V1Namespace,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import { parse } from 'yaml';
import { startTestCluster, type TestCluster } from '../../harness/cluster.ts';
import { matchingKubectl, runKubectl } from '../../harness/kubectl.ts';
import {
  BASE_NAMESPACE,
  baseEquivalentValues,
  chartDir,
  containerEnv,
  deployDir,
  find,
  helmBinary,
  helmTemplate,
  helmTemplateRaw,
  type HelmOptions,
  kustomize,
  objectKey,
  operatorContainer,
  parseObjects,
  podSpec,
  root,
} from './support.ts';

/** A ServiceMonitor as far as these tests read it. */
interface ServiceMonitor extends KubernetesObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    endpoints: { port: string; path: string; interval: string }[];
  };
}

const pod = { name: 'apprunner-net-0', namespace: BASE_NAMESPACE };

/** Whether every label of `selector` is among `labels`. */
function selects(
  selector: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  return (
    selector !== undefined &&
    Object.keys(selector).length > 0 &&
    Object.entries(selector).every(([key, value]) => labels?.[key] === value)
  );
}

function env(objects: readonly KubernetesObject[]): Record<string, string> {
  return containerEnv(operatorContainer(find(objects, 'Deployment')).env, pod);
}

describe('install manifests: the kustomize base and the Helm chart', () => {
  let cluster: TestCluster;
  let kubectl: string | { skip: string };
  let helm: string | { skip: string };
  let base: KubernetesObject[] = [];
  let chart: KubernetesObject[] = [];
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'apprunner-net-install-'));
    cluster = await startTestCluster();
    kubectl = await matchingKubectl(cluster);
    helm = helmBinary();
    if (typeof kubectl === 'string') base = kustomize(kubectl, deployDir);
    if (typeof helm === 'string') chart = helmTemplate(helm, baseEquivalentValues);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await cluster.stop();
  });

  /** Whether kubectl and helm are both here; else skips the test with the reason. */
  const ready = (t: TestContext): boolean => {
    const skip =
      typeof kubectl !== 'string' ? kubectl.skip : typeof helm !== 'string' ? helm.skip : undefined;
    if (skip === undefined) return true;
    t.skip(skip);
    return false;
  };
  const renderChart = (values: object, options?: HelmOptions): KubernetesObject[] =>
    helmTemplate(helm as string, { ...baseEquivalentValues, ...values }, options);

  test('the chart with the values of deploy/ renders the same objects: kind, name and namespace', (t) => {
    if (!ready(t)) return;
    assert.deepEqual(chart.map(objectKey).sort(), base.map(objectKey).sort());
    assert.deepEqual(base.map(objectKey).sort(), [
      'ClusterRole apprunner-net',
      'ClusterRoleBinding apprunner-net',
      'CustomResourceDefinition servicenetworkings.apprunnernet.dev',
      'CustomResourceDefinition vpcconnectors.apprunnernet.dev',
      'Deployment apprunner-net-system/apprunner-net',
      'Namespace apprunner-net-system',
      'PodDisruptionBudget apprunner-net-system/apprunner-net',
      'Role apprunner-net-system/apprunner-net-leader-election',
      'RoleBinding apprunner-net-system/apprunner-net-leader-election',
      'Service apprunner-net-system/apprunner-net-metrics',
      'ServiceAccount apprunner-net-system/apprunner-net',
    ]);
    // The chart's labels add Helm's own (instance, version, chart) to the base's.
    for (const object of base) {
      const twin = find(chart, object.kind ?? '', object.metadata?.name);
      for (const [key, value] of Object.entries(object.metadata?.labels ?? {})) {
        assert.equal(twin.metadata?.labels?.[key], value, `${objectKey(object)}: label ${key}`);
      }
    }
  });

  test('RBAC: the same ClusterRole and Role rules, bound to the same ServiceAccount', (t) => {
    if (!ready(t)) return;
    for (const [kind, name] of [
      ['ClusterRole', 'apprunner-net'],
      ['Role', 'apprunner-net-leader-election'],
    ] as const) {
      assert.deepEqual(
        (find(chart, kind, name) as V1ClusterRole | V1Role).rules,
        (find(base, kind, name) as V1ClusterRole | V1Role).rules,
        `${kind} ${name}`,
      );
    }
    for (const [kind, name] of [
      ['ClusterRoleBinding', 'apprunner-net'],
      ['RoleBinding', 'apprunner-net-leader-election'],
    ] as const) {
      const want = find(base, kind, name) as V1ClusterRoleBinding | V1RoleBinding;
      const got = find(chart, kind, name) as V1ClusterRoleBinding | V1RoleBinding;
      assert.deepEqual(got.roleRef, want.roleRef, `${kind} ${name}: roleRef`);
      assert.deepEqual(got.subjects, want.subjects, `${kind} ${name}: subjects`);
    }
    assert.deepEqual(
      (find(chart, 'ServiceAccount') as V1ServiceAccount).metadata?.annotations,
      (find(base, 'ServiceAccount') as V1ServiceAccount).metadata?.annotations,
      'no IAM role annotation unless one is given',
    );
  });

  test('the Deployment: replicas, the whole operator container, pod security context, volumes', (t) => {
    if (!ready(t)) return;
    const want = find(base, 'Deployment') as V1Deployment;
    const got = find(chart, 'Deployment') as V1Deployment;
    assert.equal(got.spec?.replicas, 2);
    assert.equal(got.spec.replicas, want.spec?.replicas);
    // Image, args (--leader-elect, the ports), env, ports, probes, resources, securityContext, mounts.
    assert.deepEqual(operatorContainer(got), operatorContainer(want));
    const { affinity: wantAffinity, ...wantPod } = podSpec(want);
    const { affinity: gotAffinity, ...gotPod } = podSpec(got);
    assert.deepEqual(gotPod, wantPod);
    assert.deepEqual(gotPod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.deepEqual(operatorContainer(got).securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    // Anti-affinity: the same preference, each over its own rendering's pod labels.
    for (const [rendering, affinity, deployment] of [
      ['base', wantAffinity, want],
      ['chart', gotAffinity, got],
    ] as const) {
      const terms = affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
      assert.equal(terms.length, 1, rendering);
      assert.equal(terms[0]?.weight, 100, rendering);
      assert.equal(terms[0].podAffinityTerm.topologyKey, 'kubernetes.io/hostname', rendering);
      const podLabels = deployment.spec?.template.metadata?.labels;
      assert.ok(selects(terms[0].podAffinityTerm.labelSelector?.matchLabels, podLabels), rendering);
      assert.ok(
        selects(deployment.spec?.selector.matchLabels, podLabels),
        `${rendering}: Deployment selector`,
      );
    }
  });

  test('the PodDisruptionBudget, the metrics Service and the Namespace are equivalent', (t) => {
    if (!ready(t)) return;
    for (const [rendering, objects] of [
      ['base', base],
      ['chart', chart],
    ] as const) {
      const podLabels = (find(objects, 'Deployment') as V1Deployment).spec?.template.metadata?.labels;
      const pdb = find(objects, 'PodDisruptionBudget') as V1PodDisruptionBudget;
      assert.equal(pdb.spec?.minAvailable, 1, rendering);
      assert.ok(selects(pdb.spec.selector?.matchLabels, podLabels), `${rendering}: PDB selector`);
      const service = find(objects, 'Service') as V1Service;
      assert.ok(selects(service.spec?.selector, podLabels), `${rendering}: Service selector`);
      assert.deepEqual(
        service.spec?.ports,
        [{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }],
        rendering,
      );
      const labels = (find(objects, 'Namespace') as V1Namespace).metadata?.labels ?? {};
      assert.equal(labels['pod-security.kubernetes.io/enforce'], 'restricted', rendering);
      assert.equal(labels['pod-security.kubernetes.io/warn'], 'restricted', rendering);
    }
  });

  test('the chart renders the CRDs of crds/ (no copy in the chart), kept on helm uninstall', (t) => {
    if (!ready(t)) return;
    const link = join(chartDir, 'files', 'crds');
    assert.ok(lstatSync(link).isSymbolicLink(), 'charts/apprunner-net/files/crds is a link, not a copy');
    assert.equal(readlinkSync(link), join('..', '..', '..', 'crds'));
    for (const want of base.filter((o) => o.kind === 'CustomResourceDefinition')) {
      const got = find(chart, 'CustomResourceDefinition', want.metadata?.name) as V1CustomResourceDefinition;
      assert.deepEqual(got.spec, (want as V1CustomResourceDefinition).spec, want.metadata?.name);
      assert.deepEqual(got.metadata?.annotations, { 'helm.sh/resource-policy': 'keep' });
    }
  });

  test('the image is the released one: deploy/, the chart and package.json name one version', (t) => {
    if (!ready(t)) return;
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    const meta = parse(readFileSync(join(chartDir, 'Chart.yaml'), 'utf8')) as {
      version: string;
      appVersion: string;
    };
    assert.equal(meta.version, version);
    assert.equal(meta.appVersion, version);
    assert.equal(
      operatorContainer(find(base, 'Deployment') as V1Deployment).image,
      `ghcr.io/apprunner-net/apprunner-net:${version}`,
    );
  });

  test('the service-monitor component and metrics.serviceMonitor.enabled add the same ServiceMonitor', (t) => {
    if (!ready(t)) return;
    const overlayDir = mkdtempSync(join(dir, 'overlay-'));
    const path = relative(overlayDir, deployDir);
    writeFileSync(
      join(overlayDir, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${path}`,
        'components:',
        `  - ${path}/components/service-monitor`,
        '',
      ].join('\n'),
    );
    const want = find(kustomize(kubectl as string, overlayDir), 'ServiceMonitor') as ServiceMonitor;
    const objects = renderChart({
      metrics: { service: { enabled: true }, serviceMonitor: { enabled: true } },
    });
    const got = find(objects, 'ServiceMonitor') as ServiceMonitor;
    assert.equal(got.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(objectKey(got), objectKey(want));
    assert.deepEqual(got.spec.endpoints, want.spec.endpoints);
    assert.ok(
      selects(got.spec.selector.matchLabels, (find(objects, 'Service') as V1Service).metadata?.labels),
    );
    assert.ok(selects(want.spec.selector.matchLabels, (find(base, 'Service') as V1Service).metadata?.labels));
    assert.ok(!chart.some((o) => o.kind === 'ServiceMonitor'), 'off by default');
  });

  /** One chart value and what it must change in the rendering. */
  interface ValueCase {
    name: string;
    values: object;
    options?: HelmOptions;
    check: (objects: KubernetesObject[]) => void;
  }
  const valueCases: ValueCase[] = [
    {
      name: 'tenancy SingleTenant becomes APPRUNNER_NET_TENANCY=SingleTenant',
      values: { tenancy: 'SingleTenant' },
      check: (o) => {
        assert.equal(env(o).APPRUNNER_NET_TENANCY, 'SingleTenant');
      },
    },
    {
      name: 'the AWS settings become their APPRUNNER_NET_* variables, an account id kept as a string',
      values: {
        region: 'eu-west-1',
        clusterName: 'prod-eu',
        awsEndpointUrl: 'http://apprunner-proxy.internal:8080',
        managedRegions: ['eu-central-1', 'us-east-1'],
        serviceLinkedRoleDeletion: 'WhenUnused',
      },
      options: { args: ['--set-string', 'awsAccountId=012345678901'] },
      check: (o) => {
        const e = env(o);
        assert.equal(e.APPRUNNER_NET_REGION, 'eu-west-1');
        assert.equal(e.APPRUNNER_NET_CLUSTER_NAME, 'prod-eu');
        assert.equal(e.APPRUNNER_NET_AWS_ENDPOINT_URL, 'http://apprunner-proxy.internal:8080');
        assert.equal(e.APPRUNNER_NET_AWS_ACCOUNT_ID, '012345678901');
        assert.equal(e.APPRUNNER_NET_MANAGED_REGIONS, 'eu-central-1,us-east-1');
        assert.equal(e.APPRUNNER_NET_SERVICE_LINKED_ROLE_DELETION, 'WhenUnused');
      },
    },
    {
      name: 'concurrency, resync period and log level become their variables',
      values: { concurrency: 8, resyncPeriod: '1h30m', logLevel: 'debug' },
      check: (o) => {
        const e = env(o);
        assert.equal(e.APPRUNNER_NET_CONCURRENCY, '8');
        assert.equal(e.APPRUNNER_NET_RESYNC_PERIOD, '1h30m');
        assert.equal(e.APPRUNNER_NET_LOG_LEVEL, 'debug');
      },
    },
    {
      name: 'serviceAccount.roleArn becomes the IRSA annotation',
      values: { serviceAccount: { roleArn: 'arn:aws:iam::111122223333:role/apprunner-net' } },
      check: (o) => {
        assert.deepEqual((find(o, 'ServiceAccount') as V1ServiceAccount).metadata?.annotations, {
          'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/apprunner-net',
        });
      },
    },
    {
      name: 'an image digest wins over the tag',
      values: { image: { tag: '0.2.0', digest: `sha256:${'a'.repeat(64)}` } },
      check: (o) => {
        assert.equal(
          operatorContainer(find(o, 'Deployment') as V1Deployment).image,
          `ghcr.io/apprunner-net/apprunner-net@sha256:${'a'.repeat(64)}`,
        );
      },
    },
    {
      name: 'one replica without leader election runs without --leader-elect',
      values: { replicaCount: 1, leaderElection: { enabled: false } },
      check: (o) => {
        const deployment = find(o, 'Deployment') as V1Deployment;
        assert.equal(deployment.spec?.replicas, 1);
        assert.deepEqual(operatorContainer(deployment).args, [
          'run',
          '--health-port=8081',
          '--metrics-port=8080',
        ]);
      },
    },
    {
      name: 'the chart defaults leave the namespace to helm install, and crds.install=false leaves out the CRDs',
      values: {
        namespace: { create: false },
        crds: { install: false },
        podDisruptionBudget: { enabled: false },
      },
      check: (o) => {
        for (const kind of ['Namespace', 'CustomResourceDefinition', 'PodDisruptionBudget']) {
          assert.ok(!o.some((x) => x.kind === kind), kind);
        }
      },
    },
    {
      name: 'another release name prefixes every name, and the bindings follow',
      values: {},
      options: { releaseName: 'blue', namespace: 'ops' },
      check: (o) => {
        const binding = find(o, 'ClusterRoleBinding', 'blue-apprunner-net') as V1ClusterRoleBinding;
        assert.equal(binding.roleRef.name, 'blue-apprunner-net');
        assert.deepEqual(binding.subjects, [
          { kind: 'ServiceAccount', name: 'blue-apprunner-net', namespace: 'ops' },
        ]);
        assert.equal(
          podSpec(find(o, 'Deployment', 'blue-apprunner-net') as V1Deployment).serviceAccountName,
          'blue-apprunner-net',
        );
        assert.equal(
          (find(o, 'RoleBinding', 'blue-apprunner-net-leader-election') as V1RoleBinding).roleRef.name,
          'blue-apprunner-net-leader-election',
        );
      },
    },
  ];
  for (const c of valueCases) {
    test(`values: ${c.name}`, (t) => {
      if (!ready(t)) return;
      c.check(renderChart(c.values, c.options));
    });
  }

  const refusals: { name: string; values: object; args?: string[]; message: RegExp }[] = [
    { name: 'no region', values: { region: '' }, message: /region is required/ },
    { name: 'no cluster name', values: { clusterName: '' }, message: /clusterName is required/ },
    {
      name: 'an unknown tenancy',
      values: { tenancy: 'Shared' },
      message: /tenancy.*Namespaced.*SingleTenant/s,
    },
    {
      name: 'an account id given as a number (its leading zeros would be lost)',
      values: {},
      args: ['--set', 'awsAccountId=123456789012'],
      message: /awsAccountId.*want string/s,
    },
    {
      name: 'two replicas without leader election',
      values: { leaderElection: { enabled: false } },
      message: /leaderElection.enabled must be true with more than one replica/,
    },
    {
      name: 'a ServiceMonitor without the Service it selects',
      values: { metrics: { service: { enabled: false }, serviceMonitor: { enabled: true } } },
      message: /needs metrics.service.enabled/,
    },
  ];
  for (const r of refusals) {
    test(`the chart refuses ${r.name}, saying why`, (t) => {
      if (!ready(t)) return;
      const result = helmTemplateRaw(
        helm as string,
        { ...baseEquivalentValues, ...r.values },
        { args: r.args ?? [] },
      );
      assert.notEqual(result.code, 0);
      assert.match(result.stderr, r.message);
    });
  }

  test('helm lint --strict passes, and helm package carries the CRD files themselves, not the link', (t) => {
    if (!ready(t)) return;
    const lint = spawnSync(
      helm as string,
      ['lint', '--strict', chartDir, '--set', 'region=us-east-1', '--set', 'clusterName=my-cluster'],
      { encoding: 'utf8' },
    );
    assert.equal(lint.status, 0, lint.stdout + lint.stderr);
    const out = mkdtempSync(join(dir, 'package-'));
    const pack = spawnSync(helm as string, ['package', chartDir, '--destination', out], { encoding: 'utf8' });
    assert.equal(pack.status, 0, pack.stderr);
    const archive = join(out, 'apprunner-net-0.1.0.tgz');
    const listing = spawnSync('tar', ['-tzf', archive], { encoding: 'utf8' }).stdout.split('\n');
    assert.deepEqual(listing.filter((f) => f.startsWith('apprunner-net/files/')).sort(), [
      'apprunner-net/files/crds/apprunnernet.dev_servicenetworkings.yaml',
      'apprunner-net/files/crds/apprunnernet.dev_vpcconnectors.yaml',
    ]);
    assert.ok(
      !listing.some((f) => f.includes('.prettierrc')),
      'the Prettier setting stays out of the package',
    );
    const fromPackage = spawnSync(
      helm as string,
      [
        'template',
        'apprunner-net',
        archive,
        '--namespace',
        BASE_NAMESPACE,
        '--set',
        'region=us-east-1',
        '--set',
        'clusterName=my-cluster',
        '--set',
        'namespace.create=true',
      ],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    assert.equal(fromPackage.status, 0, fromPackage.stderr);
    assert.deepEqual(parseObjects(fromPackage.stdout), chart);
  });

  test('the overlay and the values file of docs/install-eks.md render what the guide says', (t) => {
    if (!ready(t)) return;
    const guide = readFileSync(join(root, 'docs', 'install-eks.md'), 'utf8');
    const block = (firstLine: string): string => {
      const found = guide.split('```yaml\n').find((b) => b.startsWith(`${firstLine}\n`));
      if (found === undefined) throw new Error(`docs/install-eks.md has no yaml block starting ${firstLine}`);
      return found.slice(0, found.indexOf('```'));
    };
    const overlay = mkdtempSync(join(dir, 'guide-overlay-'));
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      block('# overlays/prod-eu-1/kustomization.yaml').replaceAll(
        '../../apprunner-net/deploy',
        relative(overlay, deployDir),
      ),
    );
    const fromValues = join(dir, 'values-prod-eu-1.yaml');
    writeFileSync(fromValues, block('# values-prod-eu-1.yaml'));
    const renderings = {
      kustomize: kustomize(kubectl as string, overlay),
      helm: helmTemplate(helm as string, {}, { args: ['--values', fromValues] }),
    };
    for (const [tool, objects] of Object.entries(renderings)) {
      const e = env(objects);
      assert.equal(e.APPRUNNER_NET_REGION, 'eu-west-1', tool);
      assert.equal(e.APPRUNNER_NET_CLUSTER_NAME, 'prod-eu-1', tool);
      assert.equal(
        (find(objects, 'ServiceAccount') as V1ServiceAccount).metadata?.annotations?.[
          'eks.amazonaws.com/role-arn'
        ],
        'arn:aws:iam::111122223333:role/apprunner-net-prod-eu-1',
        tool,
      );
    }
    assert.equal(
      operatorContainer(find(renderings.kustomize, 'Deployment') as V1Deployment).image,
      'ghcr.io/apprunner-net/apprunner-net:0.1.0',
    );
    assert.ok(renderings.kustomize.some((o) => o.kind === 'ServiceMonitor'));
  });

  test('both renderings pass server-side apply (dry run) and the restricted Pod Security admission', async (t) => {
    if (!ready(t)) return;
    const k = kubectl as string;
    // A dry run creates nothing, so the namespaced objects need their namespace to exist already.
    const namespace = await runKubectl(k, cluster.kubeconfigPath, [
      'apply',
      '--server-side',
      '-f',
      join(deployDir, 'namespace.yaml'),
    ]);
    assert.equal(namespace.code, 0, namespace.out);

    const applyBase = await runKubectl(k, cluster.kubeconfigPath, [
      'apply',
      '--server-side',
      '--dry-run=server',
      '-k',
      deployDir,
    ]);
    assert.equal(applyBase.code, 0, applyBase.out);
    assert.equal(
      applyBase.out.match(/serverside-applied \(server dry run\)/g)?.length,
      base.length,
      applyBase.out,
    );
    assert.doesNotMatch(applyBase.out, /Warning/);

    const applyChart = async (values: object): Promise<{ code: number | null; out: string }> => {
      const file = join(dir, `chart-${Date.now()}.yaml`);
      const result = helmTemplateRaw(helm as string, { ...baseEquivalentValues, ...values });
      assert.equal(result.code, 0, result.stderr);
      writeFileSync(file, result.stdout);
      return runKubectl(k, cluster.kubeconfigPath, [
        'apply',
        '--server-side',
        '--dry-run=server',
        '-f',
        file,
      ]);
    };
    const chartApplied = await applyChart({});
    assert.equal(chartApplied.code, 0, chartApplied.out);
    assert.equal(chartApplied.out.match(/serverside-applied \(server dry run\)/g)?.length, chart.length);
    assert.doesNotMatch(chartApplied.out, /Warning/);

    // The admission is live: a pod template outside the restricted standard draws its warning.
    const loosened = await applyChart({ securityContext: { allowPrivilegeEscalation: true } });
    assert.match(loosened.out, /would violate PodSecurity "restricted:latest": allowPrivilegeEscalation/);
  });
});
