// The benchmark's workload and the lower bounds it is measured against. Pure: no I/O, no clock.
//
// Workload: N objects in groups of one VpcConnector and the ServiceNetworkings of three App Runner services
// that share it, the groups spread round-robin over three regions and over namespaces of at most 200
// objects. Every ServiceNetworking has its own seeded service (the operator never creates services).

export const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1'] as const;
export type Region = (typeof REGIONS)[number];
export const NETWORKINGS_PER_CONNECTOR = 3;
export const OBJECTS_PER_GROUP = 1 + NETWORKINGS_PER_CONNECTOR;
export const OBJECTS_PER_NAMESPACE = 200;

export interface Group {
  namespace: string;
  region: Region;
  connector: string;
  /** ServiceNetworking names, one per service, in the order of `services`. */
  networkings: string[];
  /** Names of the App Runner services the simulator is seeded with. */
  services: string[];
}

export interface Workload {
  /** Objects in total (the requested N rounded down to whole groups). */
  n: number;
  connectors: number;
  networkings: number;
  groups: Group[];
  namespaces: string[];
  perRegion: Record<Region, { connectors: number; networkings: number }>;
}

export function planWorkload(requested: number): Workload {
  const groupCount = Math.max(1, Math.floor(requested / OBJECTS_PER_GROUP));
  const groupsPerNamespace = Math.max(1, Math.floor(OBJECTS_PER_NAMESPACE / OBJECTS_PER_GROUP));
  const perRegion = Object.fromEntries(REGIONS.map((r) => [r, { connectors: 0, networkings: 0 }])) as Record<
    Region,
    { connectors: number; networkings: number }
  >;
  const groups: Group[] = [];
  for (let g = 0; g < groupCount; g++) {
    const region = REGIONS[g % REGIONS.length] ?? REGIONS[0];
    const namespace = `bench-${String(Math.floor(g / groupsPerNamespace)).padStart(3, '0')}`;
    const indexes = Array.from({ length: NETWORKINGS_PER_CONNECTOR }, (_, j) => j);
    groups.push({
      namespace,
      region,
      connector: `conn-${g}`,
      networkings: indexes.map((j) => `sn-${g}-${j}`),
      services: indexes.map((j) => `svc-${g}-${j}`),
    });
    perRegion[region].connectors += 1;
    perRegion[region].networkings += NETWORKINGS_PER_CONNECTOR;
  }
  return {
    n: groupCount * OBJECTS_PER_GROUP,
    connectors: groupCount,
    networkings: groupCount * NETWORKINGS_PER_CONNECTOR,
    groups,
    namespaces: [...new Set(groups.map((g) => g.namespace))],
    perRegion,
  };
}

/** The operator's client-side budget per account and region (its limiter flags). */
export interface RateBudget {
  ratePerSecond: number;
  burst: number;
}

/** Simulator operation timings that no amount of calls can shorten. */
export interface OperationTimings {
  operationPendingMs: number;
  operationDurationMs: number;
  firstAssociationDelayMs: number;
}

/** Default page sizes of the simulator's List calls (simulator README). */
export const PAGE_SIZE = { ListVpcConnectors: 100, ListServices: 20 } as const;

export interface Bound {
  seconds: number;
  /** The fewest App Runner calls that do the job, all regions together. */
  minCalls: number;
  /** Per region: the fewest calls and the time they take at the budget. */
  perRegion: Record<string, { calls: number; seconds: number }>;
  /** How the figure was reached, one sentence. */
  formula: string;
}

const pages = (items: number, size: number): number => Math.max(1, Math.ceil(items / size));

function bound(
  workload: Workload,
  budget: RateBudget,
  callsIn: (r: { connectors: number; networkings: number }) => number,
  tailMs: number,
  floorMs: number,
  formula: string,
): Bound {
  const perRegion: Bound['perRegion'] = {};
  let seconds = 0;
  let minCalls = 0;
  for (const region of REGIONS) {
    const counts = workload.perRegion[region];
    if (counts.connectors === 0) continue;
    const calls = callsIn(counts);
    const rateSeconds = Math.max(0, calls - budget.burst) / budget.ratePerSecond;
    const regionSeconds = Math.max(rateSeconds * 1000 + tailMs, floorMs) / 1000;
    perRegion[region] = { calls, seconds: regionSeconds };
    seconds = Math.max(seconds, regionSeconds);
    minCalls += calls;
  }
  return { seconds, minCalls, perRegion, formula };
}

/**
 * Burst converge. Per region: one CreateVpcConnector per connector, one UpdateService per ServiceNetworking,
 * one pass of ListVpcConnectors pages and two of ListServices pages (one to see the services, one to see
 * their operations end). The calls beyond the burst go at the rate; the last UpdateService's operation
 * (PENDING then IN_PROGRESS) cannot overlap anything after it, and nothing ends before the first
 * association of the region's subnet+SG combination.
 */
export function convergeBound(workload: Workload, budget: RateBudget, timings: OperationTimings): Bound {
  const opMs = timings.operationPendingMs + timings.operationDurationMs;
  return bound(
    workload,
    budget,
    (r) =>
      r.connectors +
      r.networkings +
      pages(r.connectors, PAGE_SIZE.ListVpcConnectors) +
      2 * pages(r.networkings, PAGE_SIZE.ListServices),
    opMs,
    opMs + timings.firstAssociationDelayMs,
    'max over regions of (creates + UpdateServices + list pages - burst) / rate + one operation, ' +
      'and at least one operation plus the first-association delay',
  );
}

/**
 * Teardown. Per region: one UpdateService (egress back to DEFAULT) per ServiceNetworking, one
 * DeleteVpcConnector per connector, and the same list pages. A connector can only go once its services'
 * operations ended, so one operation is added after the rate-limited calls.
 */
export function teardownBound(workload: Workload, budget: RateBudget, timings: OperationTimings): Bound {
  const opMs = timings.operationPendingMs + timings.operationDurationMs;
  return bound(
    workload,
    budget,
    (r) =>
      r.connectors +
      r.networkings +
      pages(r.connectors, PAGE_SIZE.ListVpcConnectors) +
      2 * pages(r.networkings, PAGE_SIZE.ListServices),
    opMs,
    opMs,
    'max over regions of (UpdateServices + deletes + list pages - burst) / rate + one operation',
  );
}

/** Restart over converged objects: only the batched reads (one pass of each List call's pages per region). */
export function restartBound(workload: Workload, budget: RateBudget): Bound {
  return bound(
    workload,
    budget,
    (r) => pages(r.connectors, PAGE_SIZE.ListVpcConnectors) + pages(r.networkings, PAGE_SIZE.ListServices),
    0,
    0,
    'max over regions of (ListVpcConnectors + ListServices pages - burst) / rate',
  );
}

/** The p-th percentile (0..100) by nearest rank; undefined for no samples. */
export function percentile(samples: readonly number[], p: number): number | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1];
}
