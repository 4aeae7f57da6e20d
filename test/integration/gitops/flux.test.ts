// examples/flux against the examples it applies: the kustomization Flux builds holds exactly the example
// objects, and the Flux Kustomization health-checks every object of both kinds among them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { API_VERSION, Kind } from '../../../src/api/constants.ts';
import { root } from './gitops-check.ts';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: {
    path?: string;
    dependsOn?: { name: string }[];
    healthChecks?: { apiVersion: string; kind: string; name: string; namespace: string }[];
  };
}

const examples = join(root, 'examples');
const manifests = (text: string): Manifest[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
const id = (m: { apiVersion: string; kind: string; name: string; namespace?: string | undefined }): string =>
  `${m.apiVersion} ${m.kind} ${m.namespace ?? ''}/${m.name}`;
const exampleObjects = ['namespace.yaml', 'vpcconnector.yaml', 'servicenetworking.yaml'].flatMap((file) =>
  manifests(readFileSync(join(examples, file), 'utf8')),
);

describe('examples/flux', () => {
  test('the kustomization Flux builds (load restrictions off) holds exactly the example objects', (t) => {
    const kubectl = process.env.APPRUNNER_NET_KUBECTL ?? 'kubectl';
    const built = spawnSync(
      kubectl,
      ['kustomize', '--load-restrictor', 'LoadRestrictionsNone', join(examples, 'flux')],
      { encoding: 'utf8', timeout: 60_000 },
    );
    if (built.error !== undefined) {
      t.skip(`no kubectl to build with (${kubectl}): ${built.error.message}`);
      return;
    }
    assert.equal(built.status, 0, built.stderr);
    assert.deepEqual(
      manifests(built.stdout)
        .map((m) => id({ ...m, ...m.metadata }))
        .sort(),
      exampleObjects.map((m) => id({ ...m, ...m.metadata })).sort(),
    );
  });

  test('the team-a Kustomization applies examples/flux after the operator and health-checks every object of both kinds', () => {
    const flux = manifests(readFileSync(join(examples, 'flux', 'flux-kustomizations.yaml'), 'utf8'));
    assert.ok(
      flux.every((m) => m.apiVersion === 'kustomize.toolkit.fluxcd.io/v1' && m.kind === 'Kustomization'),
    );
    const team = flux.find((m) => m.spec?.path === './examples/flux');
    const operator = flux.find((m) => m.spec?.path === './deploy');
    assert.ok(team !== undefined && operator !== undefined, 'Kustomizations of ./examples/flux and ./deploy');
    assert.deepEqual(team.spec?.dependsOn, [{ name: operator.metadata.name }]);
    const kinds = new Set<string>([Kind.VpcConnector, Kind.ServiceNetworking]);
    assert.deepEqual(
      (team.spec.healthChecks ?? []).map((h) => id(h)).sort(),
      exampleObjects
        .filter((m) => m.apiVersion === API_VERSION && kinds.has(m.kind))
        .map((m) => id({ ...m, ...m.metadata }))
        .sort(),
    );
  });
});
