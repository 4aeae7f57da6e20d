// The generated CRDs: crds/ is up to date with src/api.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { crdFileName, crds, renderCrd } from '../../../src/api/crds.ts';

const root = join(import.meta.dirname, '..', '..', '..');

void describe('generated CRDs', () => {
  for (const crd of crds) {
    void it(`${crdFileName(crd)} matches src/api (run npm run generate:crds when this fails)`, () => {
      assert.equal(readFileSync(join(root, crdFileName(crd)), 'utf8'), renderCrd(crd));
    });
  }
});
