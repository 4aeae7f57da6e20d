// Writes crds/*.yaml from the schemas in src/api (the single source of truth). `npm run generate:crds`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { crdFileName, crds, renderCrd } from '../src/api/crds.ts';

const root = join(import.meta.dirname, '..');
for (const crd of crds) {
  const path = join(root, crdFileName(crd));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, renderCrd(crd));
  console.log(`wrote ${crdFileName(crd)}`);
}
