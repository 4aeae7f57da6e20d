// The managed reconciler: the one pass every kind runs (DESIGN.md §3; crossplane-runtime's managed
// reconciler is the model). For one key it reads the object from the cache, refuses a cache older than this
// process's last write, asks the kind for its reads, its pure observation and decision, performs the decided
// action through the kind, changes the finalizer when the decision says so, applies the decided conditions
// with observedGeneration, writes status once (skipped when unchanged), records Events, and turns every
// failure of the pass, in the read or the act, into status and a queue outcome in the same way.
//
// A kind supplies only what is specific to it: `readPlan`, `read`, `observe`, `decide` (its statechart),
// `act` for its actions, and `reportFailure`, which says how an error of its domain shows in status.
import type { KubernetesObject } from '@kubernetes/client-node';
import { markReady, markReconciling, markStalled, setCondition, type Condition } from './conditions.ts';
import type { CustomObjectPatcher, CustomResourceType } from './custom-objects.ts';
import type { EventRecorder, EventType } from './events.ts';
import { addFinalizer, removeFinalizer } from './finalizers.ts';
import type { Logger } from './logging.ts';
import type { ActionOf, DecidedCondition, Decision, KstatusKind } from './statechart.ts';
import type { StatusWriter } from './status.ts';
import type { InformerSource, ObjectKey, ReconcileContext, ReconcileFn, ReconcileResult } from './types.ts';

/** The parts of a custom object the pass reads. Timestamps are the API server's JSON strings. */
export interface ManagedObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    generation?: number;
    resourceVersion?: string;
    finalizers?: string[];
    deletionTimestamp?: string;
  };
  status?: { conditions?: readonly Condition[] };
}

/** The status a pass builds: the kind's own fields plus observedGeneration and conditions. */
export type StatusOf<T extends ManagedObject> = NonNullable<T['status']>;

/** What the kind's `act` works with: the object, the status being built, and the pass's services. */
export interface Pass<T extends ManagedObject> {
  readonly object: T;
  /** A copy of the object's status; changes are written once at the end of the pass. */
  readonly status: StatusOf<T>;
  readonly now: Date;
  readonly signal: AbortSignal;
  readonly log: Logger;
  /** Records an Event about the object. */
  event(type: EventType, reason: string, action: string, note: string): void;
  /** Sets a domain condition (with this generation) in the status being built. */
  setCondition(condition: DecidedCondition): void;
}

/** How a failure of the pass shows in status and what the queue does next. */
export interface FailureReport {
  kind: Exclude<KstatusKind, 'Ready'>;
  reason: string;
  message: string;
  /** Look again after this long instead of handing the error to the queue's backoff. */
  requeueAfterMs?: number;
  /**
   * Domain conditions set against the ones the previous pass wrote (not this pass's decision), so that a
   * failure that repeats leaves status unchanged and the queue's backoff grows instead of being reset.
   */
  domain?: DecidedCondition[];
  /** A Warning Event (its note is the message), with the CamelCase action that failed. */
  event?: { reason: string; action: string };
  log: string;
}

export interface ManagedKind<T extends ManagedObject, Plan, Reads, Observation, S extends string, P> {
  /** For Events and logs. */
  kind: string;
  resource: CustomResourceType;
  finalizer: string;
  cache: InformerSource<T>;
  /** Which external reads this pass needs; pure. */
  readPlan(object: T): Plan;
  read(plan: Plan, object: T, options: { signal: AbortSignal }): Promise<Reads>;
  /** Folds the object and the reads into what the decision needs; pure (time comes in as `now`). */
  observe(object: T, reads: Reads, now: Date): Observation;
  decide(observation: Observation): Decision<S, P>;
  /** Performs one decided action; external errors propagate to the pass. */
  act(action: ActionOf<P>, pass: Pass<T>, decision: Decision<S, P>, observation: Observation): Promise<void>;
  /** Actions after which the next pass has work to do at once (when this pass wrote nothing). */
  progressActions: ReadonlySet<string>;
  /**
   * How an error of the pass shows in status; `undefined` leaves it to the queue alone (throttles and
   * transient failures, which a human need not see). `decision` is absent when the read failed; `attempts`
   * counts the consecutive failed passes of this key, this one included (a success resets it), so that a
   * failure that persists can be shown although one occurrence would not be.
   */
  reportFailure(
    err: unknown,
    pass: Pass<T>,
    decision: Decision<S, P> | undefined,
    attempts: number,
  ): FailureReport | undefined;
}

export interface ManagedReconcilerDeps {
  /** Finalizer patches. */
  client: CustomObjectPatcher;
  statusWriter: StatusWriter;
  events: EventRecorder;
  now?: () => Date;
}

/** After an action that expects an immediate next step but wrote nothing that would trigger one. */
export const PROGRESS_REQUEUE_MS = 1_000;
/** How soon to look again when the cache does not show this process's last write yet. */
export const STALE_CACHE_REQUEUE_MS = 200;

/** The decided kstatus and domain conditions applied to the current ones (unchanged entries stay as they are). */
function applyReport(
  current: readonly Condition[] | undefined,
  kstatus: { kind: KstatusKind; reason: string; message: string },
  domain: readonly DecidedCondition[],
  observedGeneration: number,
  now: Date,
): readonly Condition[] {
  const detail = { reason: kstatus.reason, message: kstatus.message, observedGeneration };
  let conditions =
    kstatus.kind === 'Ready'
      ? markReady(current, detail, now)
      : kstatus.kind === 'Stalled'
        ? markStalled(current, detail, now)
        : markReconciling(current, detail, now);
  for (const c of domain) conditions = setCondition(conditions, { ...c, observedGeneration }, now);
  return conditions;
}

/** Sets `domain` against the previous pass's conditions of the same types, keeping their transition times. */
function applySticky(
  conditions: readonly Condition[],
  previous: readonly Condition[] | undefined,
  domain: readonly DecidedCondition[],
  observedGeneration: number,
  now: Date,
): readonly Condition[] {
  let result = conditions;
  for (const c of domain) {
    const before = previous?.find((p) => p.type === c.type);
    const base = before === undefined ? result : result.map((r) => (r.type === c.type ? before : r));
    result = setCondition(base, { ...c, observedGeneration }, now);
  }
  return result;
}

/**
 * The runtime's helpers take client-node's KubernetesObject, whose metadata types timestamps as Date; our
 * objects carry the JSON strings the API server sends. The helpers read only names, resourceVersion and
 * finalizers, so the conversion is sound.
 */
function asKube(object: ManagedObject): KubernetesObject & { status?: unknown } {
  return object as unknown as KubernetesObject & { status?: unknown };
}

export function createManagedReconciler<
  T extends ManagedObject,
  Plan,
  Reads,
  Observation,
  S extends string,
  P,
>(kind: ManagedKind<T, Plan, Reads, Observation, S, P>, deps: ManagedReconcilerDeps): ReconcileFn {
  const { client, statusWriter, events } = deps;
  const clock = deps.now ?? (() => new Date());
  /**
   * Per key, the resourceVersion a write of this process replaced. While the cache still shows it, a pass
   * would decide on what it already changed (e.g. delete a resource a second time): wait for the watch.
   */
  const replacedVersions = new Map<string, string>();
  /** Per key, how many passes in a row failed (kept while the key is retried, reset by a success). */
  const failedPasses = new Map<string, number>();

  return async function reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult> {
    const cached = kind.cache.get(key.namespace, key.name);
    const id = `${key.namespace ?? ''}/${key.name}`;
    if (cached === undefined) {
      replacedVersions.delete(id);
      failedPasses.delete(id);
      return {};
    }
    const replaced = replacedVersions.get(id);
    if (replaced !== undefined && replaced === cached.metadata.resourceVersion) {
      ctx.log.debug('Cache does not show the last write yet; looking again shortly');
      return { requeueAfterMs: STALE_CACHE_REQUEUE_MS };
    }
    replacedVersions.delete(id);

    const now = clock();
    const gen = cached.metadata.generation ?? 0;
    let object = cached;
    let conditions: readonly Condition[] = cached.status?.conditions ?? [];
    const status = structuredClone(cached.status ?? {}) as StatusOf<T>;
    const pass: Pass<T> = {
      get object() {
        return object;
      },
      status,
      now,
      signal: ctx.signal,
      log: ctx.log,
      event(type, reason, action, note) {
        events.record({
          regarding: {
            apiVersion: cached.apiVersion,
            kind: cached.kind,
            namespace: cached.metadata.namespace,
            name: cached.metadata.name,
            uid: cached.metadata.uid,
          },
          type,
          reason,
          action,
          note,
        });
      },
      setCondition(condition) {
        conditions = setCondition(conditions, { ...condition, observedGeneration: gen }, now);
      },
    };

    let released = false;
    let wrote = false;
    let decision: Decision<S, P> | undefined;
    let failure: { err: unknown; report: FailureReport } | undefined;
    try {
      const reads = await kind.read(kind.readPlan(cached), cached, { signal: ctx.signal });
      const observation = kind.observe(cached, reads, now);
      decision = kind.decide(observation);
      ctx.log.debug('Decided', {
        kind: kind.kind,
        state: decision.state,
        actions: decision.actions.map((a) => a.type),
      });
      conditions = applyReport(conditions, decision.conditions.kstatus, decision.conditions.domain, gen, now);
      if (decision.finalizer === 'add') {
        const updated = await addFinalizer(client, kind.resource, asKube(object), kind.finalizer);
        if (updated !== undefined) object = updated as unknown as T;
        wrote = true;
        ctx.log.info('Added finalizer');
      }
      for (const action of decision.actions) await kind.act(action, pass, decision, observation);
      if (decision.finalizer === 'remove') {
        await removeFinalizer(client, kind.resource, asKube(object), kind.finalizer);
        released = true;
        wrote = true;
        ctx.log.info('Removed finalizer');
      }
      failedPasses.delete(id);
    } catch (err) {
      const attempts = (failedPasses.get(id) ?? 0) + 1;
      failedPasses.set(id, attempts);
      const report = kind.reportFailure(err, pass, decision, attempts);
      if (report === undefined) throw err;
      failure = { err, report };
      const detail = { reason: report.reason, message: report.message, observedGeneration: gen };
      conditions =
        report.kind === 'Stalled'
          ? markStalled(conditions, detail, now)
          : markReconciling(conditions, detail, now);
      if (report.domain !== undefined) {
        conditions = applySticky(conditions, cached.status?.conditions, report.domain, gen, now);
      }
      if (report.event !== undefined) {
        pass.event('Warning', report.event.reason, report.event.action, report.message);
      }
      ctx.log.error(report.log, { kind: kind.kind, error: err });
    }

    if (!released) {
      const next = status as StatusOf<T> & { observedGeneration?: number };
      next.observedGeneration = gen;
      next.conditions = [...conditions];
      const written = await statusWriter.write(asKube(object), next);
      if (written.outcome === 'written') wrote = true;
    }
    if (wrote && cached.metadata.resourceVersion !== undefined) {
      replacedVersions.set(id, cached.metadata.resourceVersion);
    }
    if (failure !== undefined) {
      // A failure that should back off goes back to the queue once status says why.
      if (failure.report.requeueAfterMs === undefined) throw failure.err;
      return { requeueAfterMs: failure.report.requeueAfterMs };
    }
    let requeueAfterMs = decision?.requeueAfterMs;
    if (
      requeueAfterMs === undefined &&
      !wrote &&
      decision?.actions.some((a) => kind.progressActions.has(a.type)) === true
    ) {
      requeueAfterMs = PROGRESS_REQUEUE_MS;
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  };
}
