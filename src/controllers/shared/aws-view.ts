// The operator's shared view of AWS, per account and region, that every kind reads through instead of
// polling per object (DESIGN.md §3 "Observation is shared"):
//
// - Connectors: one paged ListVpcConnectors per region answers every pass (up to 100 connectors a page);
//   a connector missing from it (INACTIVE, or not listed yet) is described on its own, and an INACTIVE one
//   is remembered for good (deletion is final).
// - Services: one paged ListServices per region; a service is described only when its summary (status,
//   UpdatedAt) differs from the last description the view holds, so a listing of settled services costs its
//   pages and nothing else.
// - Tags: read once per resource, then known from the operator's own writes (AWS's tag reads can lag a
//   write by seconds; a read that finds no tags at all is not remembered, since tags may be on their way).
// - The service-linked role: read once per period; the operator's own create and delete update it, and
//   two passes that both want the role gone share one deletion task.
//
// A snapshot answers a pass while it is younger than the pass's bound: `maxAgeMs` for passes that only
// observe and keep things as they are, `freshMaxAgeMs` for passes about to delete something (their reads
// decide that nothing uses it) and for services while any of them is in motion (an operation in flight ends
// at a moment nobody announces; for a region of many listing pages, one second per page, so that re-listing
// costs at most one call a second). Passes that start while a listing is in flight share it. The operator's own
// mutations are laid over the snapshots they postdate, so a pass never decides on a view older than its own
// last write; a mutation that failed (its effect unknown) drops the region's snapshot instead.
import type {
  AwsGateway,
  CallOptions,
  ConnectorObservation,
  CreateConnectorInput,
  DesiredNetwork,
  OperationObservation,
  RoleDeletionObservation,
  RoleObservation,
  ServiceObservation,
  ServiceSummary,
  Tags,
} from '../../aws/gateway.ts';
import { ConnectorInUseError } from '../../aws/errors.ts';
import { mapBounded, SERVICES_PER_PAGE } from '../../aws/sdk-gateway.ts';

type Call = Pick<CallOptions, 'signal'>;

/** How current a pass needs AWS to be. */
export type Freshness = 'settled' | 'fresh';

export interface AwsViewOptions {
  /** How old a snapshot may be and still answer a pass that only observes. Default 30 s. */
  maxAgeMs?: number;
  /** How old it may be for a pass about to delete, and for services while one is in motion. Default 5 s. */
  freshMaxAgeMs?: number;
  /** Services described at once while a listing catches up. Default 4. */
  describeConcurrency?: number;
  now?: () => number;
}

export const DEFAULT_VIEW_MAX_AGE_MS = 30_000;
export const DEFAULT_VIEW_FRESH_MAX_AGE_MS = 5_000;
/**
 * While services are in motion, a region's listing is taken again no sooner than one second per page it
 * costs: re-listing for motion then spends at most one call a second of the region's budget, however many
 * services the region holds (a pass about one moving service describes that one instead, see `service`).
 */
export const MOTION_MS_PER_PAGE = 1_000;
/** How long a connector the operator just attached a service to is not deleted: a listing taken since shows the service on it. */
export const ATTACH_GRACE_MS = 30_000;

/** A resource the operator changed itself, laid over snapshots that started before the change. */
interface Own<T> {
  at: number;
  value: T | undefined;
}

/**
 * One region's listing of one kind of resource, by ARN: shared while in flight, reused within a bound, with
 * the operator's own later changes laid over it.
 */
class RegionalSnapshot<T> {
  readonly #fetch: (region: string) => Promise<Map<string, T>>;
  readonly #now: () => number;
  readonly #taken = new Map<string, { at: number; items: Map<string, T> }>();
  readonly #inFlight = new Map<string, { at: number; promise: Promise<Map<string, T>> }>();
  readonly #own = new Map<string, Map<string, Own<T>>>();

  constructor(fetch: (region: string) => Promise<Map<string, T>>, now: () => number) {
    this.#fetch = fetch;
    this.#now = now;
  }

  /** The region's resources by ARN, from a listing younger than `maxAgeMs(items)` (or one in flight). */
  async get(
    region: string,
    call: Call,
    maxAgeMs: (items: Map<string, T>) => number,
  ): Promise<Map<string, T>> {
    const taken = this.#taken.get(region);
    if (taken !== undefined) {
      const merged = this.#merge(region, taken);
      if (this.#now() - taken.at < maxAgeMs(merged)) return merged;
    }
    let flight = this.#inFlight.get(region);
    if (flight === undefined) {
      const at = this.#now();
      const promise = this.#fetch(region)
        .then((items) => {
          const newest = this.#taken.get(region);
          if (newest === undefined || newest.at <= at) this.#taken.set(region, { at, items });
          this.#forgetOwnBefore(region, at);
          return items;
        })
        .finally(() => {
          this.#inFlight.delete(region);
        });
      flight = { at, promise };
      this.#inFlight.set(region, flight);
    }
    const items = await awaitShared(flight.promise, call);
    return this.#merge(region, { at: flight.at, items });
  }

  /** Records the operator's own change of one resource (undefined: it is gone from the listing). */
  own(region: string, arn: string, value: T | undefined): void {
    let own = this.#own.get(region);
    if (own === undefined) {
      own = new Map();
      this.#own.set(region, own);
    }
    own.set(arn, { at: this.#now(), value });
  }

  /** Forgets the region's listing: the next pass lists afresh (after a mutation whose effect is unknown). */
  drop(region: string): void {
    this.#taken.delete(region);
  }

  #merge(region: string, taken: { at: number; items: Map<string, T> }): Map<string, T> {
    const own = this.#own.get(region);
    if (own === undefined) return taken.items;
    let merged: Map<string, T> | undefined;
    for (const [arn, change] of own) {
      if (change.at < taken.at) continue;
      merged ??= new Map(taken.items);
      if (change.value === undefined) merged.delete(arn);
      else merged.set(arn, change.value);
    }
    return merged ?? taken.items;
  }

  #forgetOwnBefore(region: string, at: number): void {
    const own = this.#own.get(region);
    if (own === undefined) return;
    for (const [arn, change] of own) if (change.at < at) own.delete(arn);
  }
}

/**
 * Shared reads run on their own, not on the abort signal of the pass that happened to start them: a pass that
 * gives up (its reconcile timed out) stops waiting, and the read goes on for every other pass that waits for
 * it. Each AWS attempt is still bounded by the gateway's request timeout.
 */
const SHARED: Call = {};

/** Waits for a shared read no longer than the caller's pass. */
function awaitShared<T>(shared: Promise<T>, call: Call): Promise<T> {
  const { signal } = call;
  if (signal === undefined) return shared;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(abortReason(signal));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    shared.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

/** An App Runner ARN's region: `arn:<partition>:apprunner:<region>:<account>:<resource>`. */
export const regionOfArn = (arn: string): string => arn.split(':')[3] ?? '';

const sameSummary = (summary: ServiceSummary, service: ServiceObservation): boolean =>
  summary.status === service.status && summary.updatedAt?.getTime() === service.updatedAt?.getTime();

export class AwsView {
  readonly #gateway: AwsGateway;
  readonly #maxAgeMs: number;
  readonly #freshMaxAgeMs: number;
  readonly #describeConcurrency: number;
  readonly #now: () => number;
  readonly #connectors: RegionalSnapshot<ConnectorObservation>;
  readonly #services: RegionalSnapshot<ServiceObservation>;
  /** When the operator last sent an UpdateService attaching a service to each connector (see deleteConnector). */
  readonly #attachedAt = new Map<string, number>();
  /** Connectors seen INACTIVE: deletion is final, so they are never read again. */
  readonly #inactive = new Map<string, ConnectorObservation>();
  /** The last description of each service, reused while its summary says nothing changed. */
  readonly #described = new Map<string, ServiceObservation>();
  readonly #describesInFlight = new Map<string, Promise<ServiceObservation | undefined>>();
  /** When each service was last described or updated by the operator (a listing that reuses a description does not count). */
  readonly #seenAt = new Map<string, number>();
  readonly #tags = new Map<string, Tags>();
  readonly #tagReadsInFlight = new Map<string, Promise<Tags>>();
  /** Tag writes started per resource: a read that began before one is not remembered. */
  readonly #tagWrites = new Map<string, number>();
  #role: { at: number; role: RoleObservation } | undefined;
  #roleInFlight: Promise<RoleObservation> | undefined;
  #roleDeletion: Promise<{ taskId: string } | undefined> | undefined;
  #roleDeletionTask: { taskId: string } | undefined;

  constructor(gateway: AwsGateway, options: AwsViewOptions = {}) {
    this.#gateway = gateway;
    this.#maxAgeMs = options.maxAgeMs ?? DEFAULT_VIEW_MAX_AGE_MS;
    this.#freshMaxAgeMs = Math.min(options.freshMaxAgeMs ?? DEFAULT_VIEW_FRESH_MAX_AGE_MS, this.#maxAgeMs);
    this.#describeConcurrency = Math.max(1, options.describeConcurrency ?? 4);
    this.#now = options.now ?? Date.now;
    this.#connectors = new RegionalSnapshot(async (region) => {
      const listed = await gateway.appRunner.listConnectors(region, SHARED);
      return new Map(listed.map((c) => [c.arn, c]));
    }, this.#now);
    this.#services = new RegionalSnapshot((region) => this.#listServices(region), this.#now);
  }

  get gateway(): AwsGateway {
    return this.#gateway;
  }

  #bound(freshness: Freshness): number {
    return freshness === 'fresh' ? this.#freshMaxAgeMs : this.#maxAgeMs;
  }

  // -------------------------------------------------------------------------------------------------------
  // Connectors

  /** The region's connectors as listed (ACTIVE), with the operator's own deletes laid over as INACTIVE; no tags. */
  async connectors(
    region: string,
    call: Call,
    freshness: Freshness = 'settled',
  ): Promise<ConnectorObservation[]> {
    const bound = this.#bound(freshness);
    return [...(await this.#connectors.get(region, call, () => bound)).values()];
  }

  /**
   * One connector by ARN, with its tags when ACTIVE: from the region's listing, else described (an INACTIVE
   * connector is not listed; a new one may not be yet). Undefined when AWS no longer knows it.
   */
  async connector(
    arn: string,
    region: string,
    call: Call,
    freshness: Freshness = 'settled',
    read: { tags: boolean } = { tags: true },
  ): Promise<ConnectorObservation | undefined> {
    const inactive = this.#inactive.get(arn);
    if (inactive !== undefined) return inactive;
    const listed = (await this.#connectors.get(region, call, () => this.#bound(freshness))).get(arn);
    if (listed !== undefined) return read.tags ? this.#withTags(listed, call) : listed;
    const described = await this.#gateway.appRunner.describeConnector(arn, call);
    if (described === undefined) return undefined;
    if (described.status !== 'ACTIVE') {
      this.#inactive.set(arn, described);
      return described;
    }
    if (described.tags !== undefined && Object.keys(described.tags).length > 0)
      this.#tags.set(arn, described.tags);
    return described;
  }

  /** The ACTIVE connector with this name, with its tags; undefined when none (App Runner allows one per name). */
  async connectorByName(
    region: string,
    name: string,
    call: Call,
    freshness: Freshness = 'settled',
  ): Promise<ConnectorObservation | undefined> {
    const listing = await this.#connectors.get(region, call, () => this.#bound(freshness));
    for (const connector of listing.values()) {
      if (connector.name === name && connector.status === 'ACTIVE') return this.#withTags(connector, call);
    }
    return undefined;
  }

  /** CreateVpcConnector; the view then lists the connector and knows its tags (those it was created with). */
  async createConnector(
    region: string,
    input: CreateConnectorInput,
    call: Call,
  ): Promise<ConnectorObservation> {
    let created: ConnectorObservation;
    try {
      created = await this.#gateway.appRunner.createConnector(region, input, call);
    } catch (err) {
      // It may exist all the same (an answer lost on the way): the next lookup by name must list afresh.
      this.#connectors.drop(region);
      throw err;
    }
    this.#tags.set(created.arn, { ...input.tags });
    this.#connectors.own(region, created.arn, created);
    return { ...created, tags: { ...input.tags } };
  }

  /**
   * DeleteVpcConnector; the view then knows the connector INACTIVE. Refused here, as AWS refuses a connector
   * in use, for ATTACH_GRACE_MS after the operator's own UpdateService attached a service to it: a pass
   * that read the view before that attach would otherwise delete the connector under it (invariant 1).
   */
  async deleteConnector(arn: string, call: Call): Promise<ConnectorObservation | undefined> {
    const attachedAt = this.#attachedAt.get(arn);
    if (attachedAt !== undefined && this.#now() - attachedAt < ATTACH_GRACE_MS) {
      const message = `The operator attached a service to connector ${arn} moments ago; not deleting it.`;
      const facts = {
        service: 'apprunner',
        operation: 'DeleteVpcConnector',
        code: 'InUseLocally',
        message,
      } as const;
      throw new ConnectorInUseError(facts, { cause: undefined });
    }
    const region = regionOfArn(arn);
    let deleted: ConnectorObservation | undefined;
    try {
      deleted = await this.#gateway.appRunner.deleteConnector(arn, call);
    } catch (err) {
      this.#connectors.drop(region);
      throw err;
    }
    // The answer says INACTIVE: believed until a listing taken after the delete says otherwise (AWS deletes
    // asynchronously and may list the connector ACTIVE a while longer; the operator then deletes again).
    this.#connectors.own(region, arn, deleted);
    return deleted;
  }

  async #withTags(connector: ConnectorObservation, call: Call): Promise<ConnectorObservation> {
    return { ...connector, tags: await this.tags(connector.arn, call) };
  }

  // -------------------------------------------------------------------------------------------------------
  // Services

  async #listServices(region: string): Promise<Map<string, ServiceObservation>> {
    const summaries = await this.#gateway.appRunner.listServiceSummaries(region, SHARED);
    const services = await mapBounded(summaries, this.#describeConcurrency, (summary) => {
      const known = this.#described.get(summary.arn);
      return known !== undefined && sameSummary(summary, known)
        ? Promise.resolve(known)
        : this.#describe(summary.arn);
    });
    const listed = new Set(summaries.map((s) => s.arn));
    for (const arn of this.#described.keys()) {
      if (!listed.has(arn) && this.#regionOfKnown(arn) === region) this.#described.delete(arn);
    }
    return new Map(services.filter((s) => s !== undefined).map((s) => [s.arn, s]));
  }

  #regionOfKnown(arn: string): string | undefined {
    return this.#described.get(arn)?.region;
  }

  #describe(arn: string): Promise<ServiceObservation | undefined> {
    const inFlight = this.#describesInFlight.get(arn);
    if (inFlight !== undefined) return inFlight;
    const described = this.#gateway.appRunner
      .describeService(arn, SHARED)
      .then((read) => {
        if (read === undefined) {
          this.#described.delete(arn);
          this.#seenAt.delete(arn);
          this.#tags.delete(arn);
          return undefined;
        }
        const service = this.#inMotion(read, false);
        this.#described.set(arn, service);
        this.#seenAt.set(arn, this.#now());
        return service;
      })
      .finally(() => {
        this.#describesInFlight.delete(arn);
      });
    this.#describesInFlight.set(arn, described);
    return described;
  }

  /**
   * A new description of a service, with `movingFrom` while an operation the operator started itself is in
   * flight: the connector it was on when the operator sent its UpdateService (carried over while the operation
   * lasts). Someone else's operation may follow changes the view never saw: its `movingFrom` stays unknown.
   */
  #inMotion(service: ServiceObservation, ownUpdate: boolean): ServiceObservation {
    if (service.status !== 'OPERATION_IN_PROGRESS') return service;
    const before = this.#described.get(service.arn);
    if (before === undefined) return service;
    if (before.status === 'OPERATION_IN_PROGRESS') {
      return before.movingFrom === undefined ? service : { ...service, movingFrom: before.movingFrom };
    }
    if (!ownUpdate) return service;
    const was = before.network;
    return {
      ...service,
      movingFrom:
        was.egressType === 'VPC' && was.vpcConnectorArn !== undefined
          ? { connectorArn: was.vpcConnectorArn }
          : {},
    };
  }

  /**
   * How old a service listing may be: the fresh bound for a deleting pass; while any service is in motion,
   * the fresh bound or one second per page the listing costs (at most the settled bound), whichever is longer;
   * else the settled bound.
   */
  #servicesBound(freshness: Freshness): (items: Map<string, ServiceObservation>) => number {
    return (items) => {
      if (freshness === 'fresh') return this.#freshMaxAgeMs;
      for (const s of items.values()) {
        if (s.status !== 'OPERATION_IN_PROGRESS') continue;
        const pages = Math.ceil(items.size / SERVICES_PER_PAGE);
        return Math.min(this.#maxAgeMs, Math.max(this.#freshMaxAgeMs, pages * MOTION_MS_PER_PAGE));
      }
      return this.#maxAgeMs;
    };
  }

  /** Every service of the region, described. */
  async services(
    region: string,
    call: Call,
    freshness: Freshness = 'settled',
  ): Promise<ServiceObservation[]> {
    return [...(await this.#services.get(region, call, this.#servicesBound(freshness))).values()];
  }

  /**
   * One service: from the region's listing, else DescribeService (a service too new to be listed, or one that
   * is gone). Undefined when AWS does not know it or reports it DELETED.
   */
  async service(
    arn: string,
    region: string,
    call: Call,
    freshness: Freshness = 'settled',
  ): Promise<ServiceObservation | undefined> {
    // Other services in motion do not matter to a pass about one: the listing's own bound applies, and only this
    // service, when it is itself in motion and was last seen more than the fresh bound ago, is described again.
    const bound = this.#bound(freshness);
    const listed = (await this.#services.get(region, call, () => bound)).get(arn);
    if (listed !== undefined) {
      const seenAt = this.#seenAt.get(arn) ?? 0;
      if (listed.status !== 'OPERATION_IN_PROGRESS' || this.#now() - seenAt < this.#freshMaxAgeMs)
        return listed;
    }
    const described = await awaitShared(this.#describe(arn), call);
    this.#services.own(region, arn, described);
    return described;
  }

  /** Remembers an attach to `arn` for ATTACH_GRACE_MS, forgetting the attaches older than that. */
  #noteAttach(arn: string): void {
    const now = this.#now();
    for (const [connector, at] of this.#attachedAt) {
      if (now - at >= ATTACH_GRACE_MS) this.#attachedAt.delete(connector);
    }
    this.#attachedAt.set(arn, now);
  }

  /** UpdateService with a complete network configuration; the view then shows the service as AWS answered. */
  async updateServiceNetwork(
    arn: string,
    region: string,
    network: DesiredNetwork,
    call: Call,
  ): Promise<{ service: ServiceObservation; operationId: string }> {
    if (network.vpcConnectorArn !== undefined) this.#noteAttach(network.vpcConnectorArn);
    try {
      const result = await this.#gateway.appRunner.updateServiceNetwork(arn, network, call);
      const service = this.#inMotion(result.service, true);
      this.#described.set(arn, service);
      this.#seenAt.set(arn, this.#now());
      this.#services.own(region, arn, service);
      return { ...result, service };
    } catch (err) {
      this.#described.delete(arn);
      this.#services.drop(region);
      throw err;
    }
  }

  /** The service's operations, newest first (never cached: only a pass tracking one asks). */
  operations(arn: string, call: Call): Promise<OperationObservation[]> {
    return this.#gateway.appRunner.listOperations(arn, 5, call);
  }

  // -------------------------------------------------------------------------------------------------------
  // Tags

  /** A resource's tags: read once, then known from the operator's own tag writes. */
  async tags(arn: string, call: Call): Promise<Tags> {
    const known = this.#tags.get(arn);
    if (known !== undefined) return known;
    let read = this.#tagReadsInFlight.get(arn);
    if (read === undefined) {
      const writes = this.#tagWrites.get(arn) ?? 0;
      read = this.#gateway.appRunner
        .listTags(arn, SHARED)
        .then((tags) => {
          // Believed for good unless the operator wrote tags meanwhile (the read may predate the write), or it
          // found none at all on a connector (a read lagging another process's create: read again next time).
          // A service without tags is simply unclaimed: that is remembered until the operator tags it.
          const lagging = Object.keys(tags).length === 0 && arn.includes(':vpcconnector/');
          if ((this.#tagWrites.get(arn) ?? 0) === writes && !lagging) {
            this.#tags.set(arn, tags);
          }
          return tags;
        })
        .finally(() => {
          this.#tagReadsInFlight.delete(arn);
        });
      this.#tagReadsInFlight.set(arn, read);
    }
    return awaitShared(read, call);
  }

  /**
   * TagResource; on success the view knows the written tags from the write itself (AWS's tag reads can lag
   * a change by seconds, and a read right after would show the old ones). On failure the next read asks AWS.
   */
  async tagResource(arn: string, tags: Tags, call: Call): Promise<void> {
    this.#tagWrites.set(arn, (this.#tagWrites.get(arn) ?? 0) + 1);
    try {
      await this.#gateway.appRunner.tagResource(arn, tags, call);
    } catch (err) {
      this.#tags.delete(arn);
      throw err;
    }
    this.#tags.set(arn, { ...this.#tags.get(arn), ...tags });
  }

  /** UntagResource; like tagResource, the view then knows the keys are gone. */
  async untagResource(arn: string, keys: readonly string[], call: Call): Promise<void> {
    this.#tagWrites.set(arn, (this.#tagWrites.get(arn) ?? 0) + 1);
    try {
      await this.#gateway.appRunner.untagResource(arn, keys, call);
    } catch (err) {
      this.#tags.delete(arn);
      throw err;
    }
    const known = this.#tags.get(arn);
    if (known !== undefined) {
      this.#tags.set(arn, Object.fromEntries(Object.entries(known).filter(([key]) => !keys.includes(key))));
    }
  }

  // -------------------------------------------------------------------------------------------------------
  // The service-linked role (IAM is global: one per view)

  /** Whether the role exists: read once per `maxAgeMs`, shared by every pass. */
  async role(call: Call): Promise<RoleObservation> {
    if (this.#role !== undefined && this.#now() - this.#role.at < this.#maxAgeMs) return this.#role.role;
    if (this.#roleInFlight === undefined) {
      const at = this.#now();
      this.#roleInFlight = this.#gateway.serviceLinkedRole
        .getRole(SHARED)
        .then((role) => {
          this.#role = { at, role };
          return role;
        })
        .finally(() => {
          this.#roleInFlight = undefined;
        });
    }
    return awaitShared(this.#roleInFlight, call);
  }

  /** CreateServiceLinkedRole unless it exists; the view then knows it exists. */
  async ensureRole(call: Call): Promise<RoleObservation> {
    try {
      const role = await this.#gateway.serviceLinkedRole.ensureRole(call);
      this.#role = { at: this.#now(), role };
      this.#roleDeletionTask = undefined;
      return role;
    } catch (err) {
      this.#role = undefined;
      throw err;
    }
  }

  /**
   * DeleteServiceLinkedRole, once for every pass that wants it while a deletion task is in flight or running
   * (AWS would answer the same task; asking again only costs a call). The view then no longer knows the role.
   */
  async deleteRole(call: Call): Promise<{ taskId: string } | undefined> {
    if (this.#roleDeletionTask !== undefined) return this.#roleDeletionTask;
    this.#roleDeletion ??= this.#gateway.serviceLinkedRole
      .deleteRole(SHARED)
      .then((task) => {
        this.#role = undefined;
        this.#roleDeletionTask = task;
        return task;
      })
      .finally(() => {
        this.#roleDeletion = undefined;
      });
    return awaitShared(this.#roleDeletion, call);
  }

  /** The deletion task's status; once it has ended, the next deleteRole asks AWS again. */
  async roleDeletionStatus(taskId: string, call: Call): Promise<RoleDeletionObservation> {
    const observed = await this.#gateway.serviceLinkedRole.getDeletionStatus(taskId, call);
    if (observed.status === 'SUCCEEDED' || observed.status === 'FAILED') {
      if (this.#roleDeletionTask?.taskId === taskId) this.#roleDeletionTask = undefined;
      // Gone when the task succeeded (a read could still show it: IAM's reads lag); else read it again.
      this.#role = observed.status === 'SUCCEEDED' ? { at: this.#now(), role: { exists: false } } : undefined;
    }
    return observed;
  }
}
