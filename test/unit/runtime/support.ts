// Fakes and readers shared by the runtime tests (the controller tests use the fake source through
// ../builders.ts).
import type { Registry } from 'prom-client';
import { createLogger } from '../../../src/runtime/logging.ts';
import type { Logger } from '../../../src/runtime/logging.ts';
import type { InformerSource } from '../../../src/runtime/types.ts';
import type { CustomResourceType } from '../../../src/runtime/custom-objects.ts';

/** A namespaced and a cluster-scoped custom resource of the tests' own group. */
export const namespaced: CustomResourceType = {
  group: 'test.apprunnernet.dev',
  version: 'v1',
  plural: 'widgets',
  namespaced: true,
};
export const clusterScoped: CustomResourceType = { ...namespaced, plural: 'gadgets', namespaced: false };

export interface FakeObject {
  metadata: { name: string; namespace?: string };
}

export function obj(namespace: string | undefined, name: string): FakeObject {
  return { metadata: namespace === undefined ? { name } : { namespace, name } };
}

export interface FakeSource<T> {
  source: InformerSource<T>;
  /** Delivers a change to every registered handler, as an informer would. */
  emit(obj: T, change: 'add' | 'update' | 'delete'): void;
  set(objects: T[]): void;
  started(): number;
  stopped(): number;
  /** What `healthProblem` reports. */
  problem: string | undefined;
  synced: boolean;
}

/** An in-memory informer; `start` marks it synced unless `syncOnStart` is false. */
export function fakeSource<T extends { metadata: { name?: string; namespace?: string } }>(
  initial: T[],
  options: { syncOnStart?: boolean } = {},
): FakeSource<T> {
  let objects = [...initial];
  const handlers: ((obj: T, change: 'add' | 'update' | 'delete') => void)[] = [];
  let starts = 0;
  let stops = 0;
  const fake: FakeSource<T> = {
    problem: undefined,
    synced: false,
    source: {
      start: () => {
        starts++;
        if (options.syncOnStart !== false) fake.synced = true;
        return Promise.resolve();
      },
      stop: () => {
        stops++;
      },
      hasSynced: () => fake.synced,
      list: () => [...objects],
      get: (namespace, name) =>
        objects.find((o) => o.metadata.name === name && o.metadata.namespace === namespace),
      onChange: (handler) => {
        handlers.push(handler);
      },
      healthProblem: () => fake.problem,
    },
    emit: (o, change) => {
      for (const handler of handlers) handler(o, change);
    },
    set: (next) => {
      objects = [...next];
    },
    started: () => starts,
    stopped: () => stops,
  };
  return fake;
}

/**
 * The value of one series, or undefined when the series does not exist. A histogram's series are read by
 * their full names (`..._count`, `..._sum`).
 */
export async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric =
    registry.getSingleMetric(name) ?? registry.getSingleMetric(name.replace(/_(count|sum)$/, ''));
  if (metric === undefined) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  const match = (values as { value: number; labels: object; metricName?: string }[]).find(
    (v) =>
      (v.metricName ?? name) === name &&
      Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
  );
  return match?.value;
}

/** A logger that keeps its lines as parsed objects. */
export function captureLogger(level: 'error' | 'info' | 'debug' = 'debug'): {
  log: Logger;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  return {
    lines,
    log: createLogger({
      level,
      write: (line) => {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    }),
  };
}
