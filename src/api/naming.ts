// Connector names the operator chooses: the default derived from the object, and the names of rotation
// replacements (App Runner allows one ACTIVE connector per name, so a replacement needs a new one).
import { createHash } from 'node:crypto';

const MAX_NAME = 40;
const MIN_NAME = 4;

/**
 * `<namespace>-<name>` made valid for AWS (letters, digits, - and _; 4..40 characters). A name that would
 * be longer keeps a prefix and an 8-hex hash of the full pair, so two long names never collide.
 */
export function defaultConnectorName(namespace: string, name: string): string {
  const full = `${namespace}-${name}`.replaceAll('.', '-');
  if (full.length > MAX_NAME) {
    const hash = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 8);
    return `${full.slice(0, MAX_NAME - 9).replace(/-+$/, '')}-${hash}`;
  }
  return full.length < MIN_NAME ? `${full}-vpc` : full;
}

const ROTATION_SUFFIX = /-g(\d+)$/;

/** The name of the connector that replaces one named after `base`, for the object at `generation`. */
export function rotatedConnectorName(base: string, generation: number): string {
  const suffix = `-g${generation}`;
  return `${base.slice(0, MAX_NAME - suffix.length)}${suffix}`;
}

/** Whether `actual` is `base` itself or a rotation of it (see rotatedConnectorName). */
export function isNameOf(actual: string, base: string): boolean {
  if (actual === base) return true;
  const match = ROTATION_SUFFIX.exec(actual);
  if (match === null) return false;
  return actual === rotatedConnectorName(base, Number(match[1]));
}
