// The generated CRDs: crds/ is up to date with src/api, and the client-node form loses nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
// The serializer is not exported from the package root; the harness's installCrds goes through it.
import { ObjectSerializer } from '@kubernetes/client-node/dist/gen/models/ObjectSerializer.js';
import { crdFileName, crds, renderCrd, toClientNodeModel } from '../../../src/api/crds.ts';

const root = join(import.meta.dirname, '..', '..', '..');

void describe('generated CRDs', () => {
  for (const crd of crds) {
    void it(`${crdFileName(crd)} matches src/api (run npm run generate:crds when this fails)`, () => {
      assert.equal(readFileSync(join(root, crdFileName(crd)), 'utf8'), renderCrd(crd));
    });

    void it(`${crd.spec.names.kind} survives client-node's serializer with every enum, default and CEL rule`, () => {
      const wire: unknown = ObjectSerializer.serialize(
        toClientNodeModel(crd),
        'V1CustomResourceDefinition',
        '',
      );
      assert.deepEqual(JSON.parse(JSON.stringify(wire)), JSON.parse(JSON.stringify(crd)));
    });
  }
});
