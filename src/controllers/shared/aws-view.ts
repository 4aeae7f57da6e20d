// The operator's shared view of AWS, per account and region, that every kind reads through instead of
// polling per object (DESIGN.md §3 "Observation is shared"). One ListServices answers every pass of a
// region that starts while it is in flight or within `servicesMaxAgeMs` of it; a service a ServiceNetworking
// names is served from that listing when it is fresh enough and described on its own otherwise; a service's
// tags are read once and then known from the operator's own writes (a read right after a write can show the
// old tags: AWS's tag reads lag). The operator's own mutations update or invalidate what they change, so a
// pass never decides on a view older than its own last write.
import type {
  AwsGateway,
  CallOptions,
  DesiredNetwork,
  OperationObservation,
  ServiceObservation,
  Tags,
} from '../../aws/gateway.ts';

type Call = Pick<CallOptions, 'signal'>;

export interface AwsViewOptions {
  /**
   * How old a region's service listing may be and still answer a pass. 0 (the default) shares only
   * listings in flight: a pass never sees a listing that finished before it started.
   */
  servicesMaxAgeMs?: number;
  now?: () => number;
}

interface Listing {
  at: number;
  services: ServiceObservation[];
}

export class AwsView {
  readonly #gateway: AwsGateway;
  readonly #maxAgeMs: number;
  readonly #now: () => number;
  readonly #listings = new Map<string, Listing>();
  readonly #listingsInFlight = new Map<string, Promise<ServiceObservation[]>>();
  readonly #describesInFlight = new Map<string, Promise<ServiceObservation | undefined>>();
  readonly #tags = new Map<string, Tags>();

  constructor(gateway: AwsGateway, options: AwsViewOptions = {}) {
    this.#gateway = gateway;
    this.#maxAgeMs = options.servicesMaxAgeMs ?? 0;
    this.#now = options.now ?? Date.now;
  }

  get gateway(): AwsGateway {
    return this.#gateway;
  }

  /** Every service of the region, described: shared with passes in flight, or fresh within the max age. */
  services(region: string, call: Call): Promise<ServiceObservation[]> {
    const inFlight = this.#listingsInFlight.get(region);
    if (inFlight !== undefined) return inFlight;
    const cached = this.#listings.get(region);
    if (cached !== undefined && this.#now() - cached.at < this.#maxAgeMs)
      return Promise.resolve(cached.services);
    const started = this.#now();
    const listing = this.#gateway.appRunner
      .listServices(region, call)
      .then((services) => {
        this.#listings.set(region, { at: started, services });
        return services;
      })
      .finally(() => {
        this.#listingsInFlight.delete(region);
      });
    this.#listingsInFlight.set(region, listing);
    return listing;
  }

  /**
   * One service: from the region's listing when that is fresh enough, else DescribeService (shared with
   * passes in flight for the same ARN). Undefined when AWS does not know it or reports it DELETED.
   */
  async service(arn: string, region: string, call: Call): Promise<ServiceObservation | undefined> {
    const cached = this.#listings.get(region);
    if (cached !== undefined && this.#now() - cached.at < this.#maxAgeMs) {
      const found = cached.services.find((s) => s.arn === arn);
      if (found !== undefined) return found;
    }
    const inFlight = this.#describesInFlight.get(arn);
    if (inFlight !== undefined) return inFlight;
    const described = this.#gateway.appRunner.describeService(arn, call).finally(() => {
      this.#describesInFlight.delete(arn);
    });
    this.#describesInFlight.set(arn, described);
    const service = await described;
    if (service === undefined) this.#tags.delete(arn);
    this.#replaceInListing(region, arn, service);
    return service;
  }

  /** A resource's tags: read once, then known from the operator's own tag writes. */
  async tags(arn: string, call: Call): Promise<Tags> {
    const known = this.#tags.get(arn);
    if (known !== undefined) return known;
    const tags = await this.#gateway.appRunner.listTags(arn, call);
    this.#tags.set(arn, tags);
    return tags;
  }

  /**
   * TagResource; on success the view knows the written tags from the write itself (AWS's tag reads can lag
   * a change by seconds, and a read right after would show the old ones). On failure the next read asks AWS.
   */
  async tagResource(arn: string, tags: Tags, call: Call): Promise<void> {
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

  /** UpdateService with a complete network configuration; the view then shows the service as AWS answered. */
  async updateServiceNetwork(
    arn: string,
    region: string,
    network: DesiredNetwork,
    call: Call,
  ): Promise<{ service: ServiceObservation; operationId: string }> {
    try {
      const result = await this.#gateway.appRunner.updateServiceNetwork(arn, network, call);
      this.#replaceInListing(region, arn, result.service);
      return result;
    } catch (err) {
      this.#listings.delete(region);
      throw err;
    }
  }

  /** The service's operations, newest first (never cached: only a pass tracking one asks). */
  operations(arn: string, call: Call): Promise<OperationObservation[]> {
    return this.#gateway.appRunner.listOperations(arn, 5, call);
  }

  #replaceInListing(region: string, arn: string, service: ServiceObservation | undefined): void {
    const cached = this.#listings.get(region);
    if (cached === undefined) return;
    const others = cached.services.filter((s) => s.arn !== arn);
    cached.services = service === undefined ? others : [...others, service];
  }
}
