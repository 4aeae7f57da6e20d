// The VpcConnector reconciler: for one key, read the object (informer cache) and the ServiceNetworkings of
// its namespace, make exactly the AWS reads `readPlan` lists, `observe`, `decide`, perform the one decided
// action, apply the decided conditions and write status once (skipped when unchanged). DESIGN.md §3.
//
// Status is the operator's memory across passes and crashes: a create intent is written in one pass and
// the create happens in a later one (invariant 3), and a terminal AWS refusal is recorded as Stalled with
// AWS's words, which `observe` reads back so that the machine waits for a spec change (invariant 6).
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  API_VERSION,
  ConditionType,
  FINALIZER,
  GROUP,
  Kind,
  Plural,
  VERSION,
  VpcConnectorReason,
} from '../../api/constants.ts';
import type { ServiceNetworking } from '../../api/servicenetworking.ts';
import type { VpcConnector, VpcConnectorStatus } from '../../api/vpcconnector.ts';
import {
  AwsAccessDeniedError,
  AwsInvalidInputError,
  AwsQuotaExceededError,
  ConnectorInUseError,
  type AwsErrorFacts,
} from '../../aws/errors.ts';
import type { AwsGateway, CallOptions, ConnectorObservation, ServiceObservation } from '../../aws/gateway.ts';
import {
  addFinalizer,
  markReady,
  markReconciling,
  markStalled,
  removeFinalizer,
  setCondition,
  type Condition,
  type CustomObjectPatcher,
  type CustomResourceType,
  type EventRecorder,
  type EventType,
  type InformerSource,
  type ObjectKey,
  type ReconcileContext,
  type ReconcileFn,
  type ReconcileResult,
  type StatusWriter,
} from '../../runtime/index.ts';
import {
  decide,
  TERMINAL_RETRY_MS,
  type ConnectorSummary,
  type DecidedAction,
  type Decision,
} from './machine.ts';
import { observe, readPlan, type AwsReads, type OperatorSettings, type ReadPlan } from './observe.ts';

export const vpcConnectorResource: CustomResourceType = {
  group: GROUP,
  version: VERSION,
  plural: Plural.VpcConnector,
  namespaced: true,
};

/** Settings of the reconciler beyond those the decision reads. */
export interface ReconcilerSettings extends OperatorSettings {
  /**
   * Regions whose connectors keep the service-linked role in use, besides the regions of the objects in the
   * cache (`--managed-regions`; the default region is always one).
   */
  managedRegions: readonly string[];
}

export interface VpcConnectorReconcilerOptions {
  connectors: InformerSource<VpcConnector>;
  serviceNetworkings: InformerSource<ServiceNetworking>;
  gateway: AwsGateway;
  /** Finalizer patches (status writes go through `statusWriter`). */
  client: CustomObjectPatcher;
  statusWriter: StatusWriter;
  events: EventRecorder;
  settings: ReconcilerSettings;
  now?: () => Date;
}

/** How soon to look the name up again after CreateVpcConnector said it is taken. */
const NAME_TAKEN_REQUEUE_MS = 2_000;
/** CreateVpcConnector's refusal of a name an ACTIVE connector holds (InvalidRequestException). */
const nameTaken = /already exists/i;
/** After an action that expects an immediate next step but wrote nothing that would trigger one. */
const PROGRESS_REQUEUE_MS = 1_000;
/** How soon to look again when the cache does not show this process's last write yet. */
const STALE_CACHE_REQUEUE_MS = 200;

/** Actions after which the next pass has work to do at once. */
const progressActions: ReadonlySet<DecidedAction['type']> = new Set([
  'addFinalizer',
  'ensureServiceLinkedRole',
  'recordCreateIntent',
  'createConnector',
  'createReplacement',
  'adoptConnector',
  'recreateAfterDrift',
  'completeRotation',
  'syncTags',
]);

/** What executing the action changed, for the single status write at the end of the pass. */
interface Outcome {
  /** The object as the API server now has it (after a finalizer patch), or the cached one. */
  object: VpcConnector;
  status: VpcConnectorStatus;
  conditions: readonly Condition[];
  /** The finalizer is gone: the object is being removed, nothing to write. */
  released: boolean;
  /** A write already happened in this pass (a finalizer patch). */
  wrote: boolean;
}

/** The per-pass options of every gateway call: the reconcile's abort signal. */
type Call = Pick<CallOptions, 'signal'>;

export function createVpcConnectorReconciler(options: VpcConnectorReconcilerOptions): ReconcileFn {
  const { connectors, serviceNetworkings, gateway, client, statusWriter, events, settings } = options;
  const now = options.now ?? (() => new Date());
  /**
   * Per key, the resourceVersion a write of this process replaced. While the cache still shows it, a pass
   * would decide on what it already changed (e.g. delete the role a second time): wait for the watch instead.
   */
  const replacedVersions = new Map<string, string>();
  /**
   * ListServices (one DescribeService per service) is the dominant read of every pass. Passes that start
   * while one is in flight for their region share its answer: it is no older than a read of their own would
   * be, and a resync of many objects costs one listing per worker wave instead of one per object.
   */
  const servicesInFlight = new Map<string, Promise<ServiceObservation[]>>();

  function listServices(region: string, call: Call): Promise<ServiceObservation[]> {
    const inFlight = servicesInFlight.get(region);
    if (inFlight !== undefined) return inFlight;
    const listing = gateway.appRunner.listServices(region, call).finally(() => {
      servicesInFlight.delete(region);
    });
    servicesInFlight.set(region, listing);
    return listing;
  }

  function event(object: VpcConnector, type: EventType, reason: string, action: string, note: string): void {
    events.record({
      regarding: {
        apiVersion: API_VERSION,
        kind: Kind.VpcConnector,
        namespace: object.metadata.namespace,
        name: object.metadata.name,
        uid: object.metadata.uid,
      },
      type,
      reason,
      action,
      note,
    });
  }

  /** The regions whose connectors count before the role may go: flags, the cache, this object's. */
  function managedRegions(plan: ReadPlan): string[] {
    const regions = new Set<string>([settings.defaultRegion, ...settings.managedRegions, plan.region]);
    for (const c of connectors.list()) {
      const region = c.status?.region ?? c.spec.region;
      if (region !== undefined) regions.add(region);
    }
    return [...regions].sort();
  }

  async function read(plan: ReadPlan, call: Call): Promise<AwsReads> {
    const { appRunner, serviceLinkedRole } = gateway;
    const maybe = <T>(cond: unknown, fn: () => Promise<T>): Promise<T | undefined> =>
      cond === undefined || cond === false ? Promise.resolve(undefined) : fn();
    const [current, retiring, byName, observed, services, role, roleDeletion, inRegions] = await Promise.all([
      maybe(plan.currentArn, () => appRunner.describeConnector(plan.currentArn ?? '', call)),
      maybe(plan.retiringArn, () => appRunner.describeConnector(plan.retiringArn ?? '', call)),
      maybe(plan.findName, () => appRunner.findConnectorByName(plan.region, plan.findName ?? '', call)),
      plan.observeArn !== undefined
        ? appRunner.describeConnector(plan.observeArn, call)
        : maybe(plan.observeName, () =>
            appRunner.findConnectorByName(plan.region, plan.observeName ?? '', call),
          ),
      listServices(plan.region, call),
      maybe(plan.role, () => serviceLinkedRole.getRole(call)),
      maybe(plan.roleDeletionTaskId, () =>
        serviceLinkedRole.getDeletionStatus(plan.roleDeletionTaskId ?? '', call),
      ),
      maybe(plan.connectorsInManagedRegions, async () =>
        (await Promise.all(managedRegions(plan).map((r) => appRunner.listConnectors(r, call)))).flat(),
      ),
    ]);
    const reads: AwsReads = { services };
    if (current !== undefined) reads.current = current;
    if (retiring !== undefined) reads.retiring = retiring;
    if (byName !== undefined) reads.byName = byName;
    if (observed !== undefined) reads.observed = observed;
    if (role !== undefined) reads.role = role;
    if (roleDeletion !== undefined) reads.roleDeletion = roleDeletion;
    if (inRegions !== undefined) reads.connectorsInManagedRegions = inRegions;
    return reads;
  }

  /** Records a created or adopted connector as this object's, and the one it replaces as retiring. */
  function recordConnector(
    status: VpcConnectorStatus,
    connector: Pick<ConnectorObservation, 'arn' | 'name' | 'revision'>,
    replaces: string | undefined,
  ): void {
    if (replaces !== undefined && replaces !== '' && replaces !== connector.arn) {
      status.retiring = { arn: replaces, name: status.vpcConnectorName ?? nameInArn(replaces) };
    }
    status.vpcConnectorArn = connector.arn;
    status.vpcConnectorName = connector.name;
    status.vpcConnectorRevision = connector.revision;
    status.awsStatus = 'ACTIVE';
    delete status.createIntent;
    delete status.deletionRequestedAt;
  }

  /** Shows the connector as AWS reports it, with the services that use it. */
  function reportConnector(status: VpcConnectorStatus, c: ConnectorSummary): void {
    status.vpcConnectorArn = c.arn;
    status.vpcConnectorName = c.name;
    status.vpcConnectorRevision = c.revision;
    status.awsStatus = c.awsStatus;
    status.services = [...c.services];
  }

  /** Performs the decided action, recording its effects in `outcome`. AWS errors propagate to the caller. */
  async function act(
    object: VpcConnector,
    decision: Decision,
    outcome: Outcome,
    call: Call,
    ctx: ReconcileContext,
  ): Promise<void> {
    const { appRunner, serviceLinkedRole } = gateway;
    const status = outcome.status;
    const at = now().toISOString();
    for (const action of decision.actions) {
      switch (action.type) {
        case 'awaitRemoval':
        case 'waitForSpecChange':
        case 'waitForUsersToMove':
        case 'waitForInactive':
        case 'waitForCreateToSettle':
          break;
        case 'addFinalizer': {
          const updated = await addFinalizer(client, vpcConnectorResource, asKube(object), FINALIZER);
          if (updated !== undefined) outcome.object = updated as unknown as VpcConnector;
          outcome.wrote = true;
          ctx.log.info('Added finalizer');
          break;
        }
        case 'removeFinalizer': {
          await removeFinalizer(client, vpcConnectorResource, asKube(object), FINALIZER);
          outcome.released = true;
          outcome.wrote = true;
          ctx.log.info('Removed finalizer', { why: action.params.why });
          if (object.spec.managementPolicy !== 'Observe') {
            event(
              object,
              'Normal',
              'Deleted',
              'RemoveFinalizer',
              `Released the object: ${action.params.why}.`,
            );
          }
          break;
        }
        case 'ensureServiceLinkedRole': {
          const role = await serviceLinkedRole.ensureRole(call);
          outcome.conditions = setCondition(
            outcome.conditions,
            {
              type: ConditionType.ServiceLinkedRoleReady,
              status: 'True',
              reason: VpcConnectorReason.ServiceLinkedRolePresent,
              message: 'Created the App Runner networking service-linked role.',
              observedGeneration: generation(object),
            },
            now(),
          );
          ctx.log.info('Created service-linked role', { arn: role.arn });
          event(
            object,
            'Normal',
            'ServiceLinkedRoleCreated',
            'CreateServiceLinkedRole',
            `Created the App Runner networking service-linked role${role.arn === undefined ? '' : ` ${role.arn}`}.`,
          );
          break;
        }
        case 'recordCreateIntent': {
          const { region, name, replaces } = action.params;
          status.region = region;
          status.createIntent =
            replaces === undefined ? { name, requestedAt: at } : { name, requestedAt: at, replaces };
          ctx.log.info('Recorded create intent', { connectorName: name, region, replaces });
          if (replaces !== undefined) {
            event(
              object,
              'Normal',
              'RotationStarted',
              'RecordCreateIntent',
              `An immutable field changed: replacing connector ${status.vpcConnectorName ?? replaces} with ${name}.`,
            );
          }
          break;
        }
        case 'createConnector':
        case 'createReplacement': {
          const { region, name, subnets, securityGroups, tags } = action.params;
          const created = await appRunner.createConnector(
            region,
            { name, subnets, securityGroups, tags },
            call,
          );
          const replaces = action.type === 'createReplacement' ? action.params.replaces : undefined;
          recordConnector(status, created, replaces);
          ctx.log.info('Created connector', { arn: created.arn, region, replaces });
          event(
            object,
            'Normal',
            'Created',
            'CreateVpcConnector',
            `Created connector ${created.name} (revision ${created.revision}) in ${region}` +
              (replaces === undefined ? '.' : ` to replace ${replaces}.`),
          );
          break;
        }
        case 'adoptConnector': {
          const { arn, name, revision, replaces } = action.params;
          recordConnector(status, { arn, name, revision }, replaces);
          ctx.log.info('Adopted connector', { arn });
          event(
            object,
            'Normal',
            'Adopted',
            'AdoptVpcConnector',
            `Adopted connector ${name} (${arn}), which carries this object's ownership tags.`,
          );
          break;
        }
        case 'reportNameConflict': {
          const { name, arn, owner } = action.params;
          ctx.log.error('Found connector name taken by another owner', { connectorName: name, arn, owner });
          event(
            object,
            'Warning',
            'NameConflict',
            'AdoptVpcConnector',
            `Connector ${name} (${arn}) belongs to ${owner}; the operator will not adopt or change it.`,
          );
          break;
        }
        case 'recreateAfterDrift': {
          const { goneArn, region, name } = action.params;
          delete status.vpcConnectorArn;
          delete status.vpcConnectorName;
          delete status.vpcConnectorRevision;
          delete status.awsStatus;
          delete status.services;
          status.region = region;
          status.createIntent = { name, requestedAt: at };
          ctx.log.info('Found connector deleted out of band; recorded a new create intent', { goneArn });
          event(
            object,
            'Warning',
            'Recreated',
            'RecordCreateIntent',
            `Connector ${goneArn} was deleted outside the operator; creating ${name} again.`,
          );
          break;
        }
        case 'rejectImmutableChange':
          event(
            object,
            'Warning',
            'ImmutableFieldChanged',
            'RejectChange',
            decision.conditions.kstatus.message,
          );
          break;
        case 'deleteOldConnector': {
          await appRunner.deleteConnector(action.params.arn, call);
          if (status.retiring !== undefined) status.retiring.deletionRequestedAt = at;
          ctx.log.info('Requested deletion of the old connector', { arn: action.params.arn });
          break;
        }
        case 'completeRotation': {
          delete status.retiring;
          ctx.log.info('Finished rotation', { retiredArn: action.params.retiredArn });
          event(
            object,
            'Normal',
            'RotationFinished',
            'DeleteVpcConnector',
            `Old connector ${action.params.retiredArn} is deleted; every service uses ${status.vpcConnectorName ?? 'the new connector'}.`,
          );
          break;
        }
        case 'syncTags':
          await appRunner.tagResource(action.params.arn, action.params.tags, call);
          ctx.log.info('Updated connector tags', {
            arn: action.params.arn,
            keys: Object.keys(action.params.tags),
          });
          break;
        case 'observeOnly': {
          const c = action.params.connector;
          status.region = decisionRegion(object);
          if (c === undefined) {
            delete status.vpcConnectorArn;
            delete status.vpcConnectorName;
            delete status.vpcConnectorRevision;
            delete status.awsStatus;
            delete status.services;
          } else {
            reportConnector(status, c);
          }
          break;
        }
        case 'reportReady':
          reportConnector(status, action.params);
          break;
        case 'blockDeletion': {
          const { serviceNetworkings: refs, services } = action.params;
          ctx.log.info('Blocked deletion', { serviceNetworkings: refs, services });
          event(
            object,
            'Warning',
            'DeletionBlocked',
            'DeleteVpcConnector',
            decision.conditions.kstatus.message,
          );
          break;
        }
        case 'deleteConnector': {
          const { arn } = action.params;
          await appRunner.deleteConnector(arn, call);
          if (status.retiring?.arn === arn) status.retiring.deletionRequestedAt = at;
          else status.deletionRequestedAt = at;
          ctx.log.info('Requested deletion of the connector', { arn });
          event(
            object,
            'Normal',
            'Deleting',
            'DeleteVpcConnector',
            `Requested deletion of connector ${arn}.`,
          );
          break;
        }
        case 'retainOnDelete': {
          const { arns } = action.params;
          if (arns.length > 0) {
            event(
              object,
              'Normal',
              'Retained',
              'RemoveFinalizer',
              `deletionPolicy is Retain: left ${arns.join(', ')} in AWS.`,
            );
          }
          await removeFinalizer(client, vpcConnectorResource, asKube(object), FINALIZER);
          outcome.released = true;
          outcome.wrote = true;
          ctx.log.info('Removed finalizer; retained connectors in AWS', { arns });
          break;
        }
        case 'deleteServiceLinkedRole': {
          const task = await serviceLinkedRole.deleteRole(call);
          if (task !== undefined) {
            status.serviceLinkedRoleDeletion = { taskId: task.taskId, startedAt: at };
            ctx.log.info('Started service-linked role deletion', { taskId: task.taskId });
            event(
              object,
              'Normal',
              'ServiceLinkedRoleDeletionStarted',
              'DeleteServiceLinkedRole',
              `No connector is left in any managed region: deleting the App Runner networking service-linked role (task ${task.taskId}).`,
            );
          }
          break;
        }
        case 'pollRoleDeletion':
          break;
        case 'reportRoleDeletionFailure': {
          const { taskId, reason } = action.params;
          ctx.log.error('Found service-linked role deletion failed', { taskId, reason });
          event(
            object,
            'Warning',
            'ServiceLinkedRoleDeletionFailed',
            'DeleteServiceLinkedRole',
            decision.conditions.kstatus.message,
          );
          break;
        }
      }
    }
  }

  function decisionRegion(object: VpcConnector): string {
    return object.spec.region ?? object.status?.region ?? settings.defaultRegion;
  }

  return async function reconcile(key: ObjectKey, ctx: ReconcileContext): Promise<ReconcileResult> {
    const object = connectors.get(key.namespace, key.name);
    const id = `${key.namespace ?? ''}/${key.name}`;
    if (object === undefined) {
      replacedVersions.delete(id);
      return {};
    }
    const replaced = replacedVersions.get(id);
    if (replaced !== undefined && replaced === object.metadata.resourceVersion) {
      ctx.log.debug('Cache does not show the last write yet; looking again shortly');
      return { requeueAfterMs: STALE_CACHE_REQUEUE_MS };
    }
    replacedVersions.delete(id);
    const call: Call = { signal: ctx.signal };
    const namespace = object.metadata.namespace ?? '';
    const plan = readPlan(object, settings);
    const aws = await read(plan, call);
    const observation = observe({
      object,
      serviceNetworkings: serviceNetworkings.list().filter((sn) => sn.metadata.namespace === namespace),
      aws,
      settings,
      now: now(),
    });
    const decision = decide(observation);
    const gen = generation(object);
    ctx.log.debug('Decided', {
      kind: Kind.VpcConnector,
      state: decision.state,
      actions: decision.actions.map((a) => a.type),
    });

    const outcome: Outcome = {
      object,
      status: structuredClone(object.status ?? {}),
      conditions: applyDecided(object.status?.conditions, decision, gen, now()),
      released: false,
      wrote: false,
    };

    let failure: unknown;
    let requeueAfterMs = decision.requeueAfterMs;
    try {
      await act(object, decision, outcome, call, ctx);
    } catch (err) {
      const recorded = recordFailure(err, outcome, decision, gen, now());
      if (recorded === undefined) throw err;
      failure = err;
      requeueAfterMs = recorded.requeueAfterMs;
      if (recorded.event !== undefined) {
        event(object, 'Warning', recorded.event.reason, recorded.event.action, recorded.event.note);
      }
      ctx.log.error(recorded.logMessage, { kind: Kind.VpcConnector, error: err });
    }

    if (!outcome.released) {
      outcome.status.observedGeneration = gen;
      outcome.status.conditions = [...outcome.conditions] as VpcConnectorStatus['conditions'];
      const written = await statusWriter.write(asKube(outcome.object), outcome.status);
      if (written.outcome === 'written') outcome.wrote = true;
    }
    if (outcome.wrote && object.metadata.resourceVersion !== undefined) {
      replacedVersions.set(id, object.metadata.resourceVersion);
    }
    // An AWS refusal that should back off (in use, throttled) goes back to the queue once status says why.
    if (failure instanceof ConnectorInUseError) throw failure;

    if (
      requeueAfterMs === undefined &&
      !outcome.wrote &&
      decision.actions.some((a) => progressActions.has(a.type))
    ) {
      requeueAfterMs = PROGRESS_REQUEUE_MS;
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };
  };
}

/** The decided kstatus and domain conditions applied to the current ones (unchanged entries stay as they are). */
function applyDecided(
  current: readonly Condition[] | undefined,
  decision: Decision,
  observedGeneration: number,
  now: Date,
): readonly Condition[] {
  const { kstatus, domain } = decision.conditions;
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

interface RecordedFailure {
  requeueAfterMs?: number;
  event?: { reason: string; action: string; note: string };
  logMessage: string;
}

/**
 * Terminal AWS refusals become Stalled with AWS's message quoted (the machine reads it back as the
 * RecordedFailure and waits for a spec change); "still in use" is reported in DeletionBlocked and retried
 * with backoff. Anything else is not recorded: the queue handles it (throttles, transient failures).
 */
function recordFailure(
  err: unknown,
  outcome: Outcome,
  decision: Decision,
  observedGeneration: number,
  now: Date,
): RecordedFailure | undefined {
  const creating = decision.actions.some(
    (a) => a.type === 'createConnector' || a.type === 'createReplacement',
  );
  if (creating && err instanceof AwsInvalidInputError && nameTaken.test(err.aws.message)) {
    // ListVpcConnectors lags behind a create (eventual consistency), so the lookup before this create could
    // miss a connector that exists, e.g. one whose create answer a crash lost. Keep the intent: the next
    // lookups adopt it when its tags say it is ours, or report the conflict when not.
    const message = `AWS reports the name taken although the lookup did not list it yet: ${quote(err.aws)} Looking again.`;
    outcome.conditions = markReconciling(
      outcome.conditions,
      { reason: VpcConnectorReason.Creating, message, observedGeneration },
      now,
    );
    return {
      requeueAfterMs: NAME_TAKEN_REQUEUE_MS,
      logMessage: 'CreateVpcConnector found the name taken; looking it up again',
    };
  }
  const terminal =
    err instanceof AwsInvalidInputError
      ? { reason: VpcConnectorReason.InvalidInput, facts: err.aws }
      : err instanceof AwsAccessDeniedError
        ? { reason: VpcConnectorReason.AccessDenied, facts: err.aws }
        : err instanceof AwsQuotaExceededError
          ? { reason: VpcConnectorReason.QuotaExceeded, facts: err.aws }
          : undefined;
  if (terminal !== undefined) {
    // AWS refused the create outright, so nothing exists under the intent's name: drop the intent, so that
    // a corrected spec starts from a fresh one.
    if (creating) delete outcome.status.createIntent;
    const message = `AWS refused ${terminal.facts.operation}: ${quote(terminal.facts)} Fix the spec or the operator's permissions; the operator retries this generation every ${TERMINAL_RETRY_MS / 60_000} minutes.`;
    outcome.conditions = markStalled(
      outcome.conditions,
      { reason: terminal.reason, message, observedGeneration },
      now,
    );
    return {
      requeueAfterMs: TERMINAL_RETRY_MS,
      event: { reason: terminal.reason, action: terminal.facts.operation, note: message },
      logMessage: 'AWS refused the action; recorded Stalled',
    };
  }
  if (err instanceof ConnectorInUseError) {
    const message = `AWS still reports the connector in use: ${quote(err.aws)} Retrying with backoff.`;
    outcome.conditions = markReconciling(
      outcome.conditions,
      { reason: VpcConnectorReason.ConnectorInUse, message, observedGeneration },
      now,
    );
    if (decision.actions.some((a) => a.type === 'deleteConnector')) {
      // Set against DeletionBlocked as the last pass wrote it, not the NotBlocked this pass's decision put
      // in its place: a refusal that repeats then keeps its lastTransitionTime and status stays unchanged.
      // Otherwise every refusal writes status, the watch event's pass resets the key's backoff, and the
      // retries run as fast as the AWS rate limiter lets them.
      const before = outcome.object.status?.conditions?.find((c) => c.type === ConditionType.DeletionBlocked);
      const base =
        before === undefined
          ? outcome.conditions
          : outcome.conditions.map((c) => (c.type === ConditionType.DeletionBlocked ? before : c));
      outcome.conditions = setCondition(
        base,
        {
          type: ConditionType.DeletionBlocked,
          status: 'True',
          reason: VpcConnectorReason.ConnectorInUse,
          message,
          observedGeneration,
        },
        now,
      );
    }
    return {
      event: { reason: 'DeletionBlocked', action: err.aws.operation, note: message },
      logMessage: 'AWS refused to delete a connector in use; retrying with backoff',
    };
  }
  return undefined;
}

function quote(facts: AwsErrorFacts): string {
  const text = facts.message === '' ? '(no message)' : `"${facts.message}"`;
  return `${facts.code} ${text}.`;
}

function generation(object: VpcConnector): number {
  return object.metadata.generation ?? 0;
}

/** `arn:...:vpcconnector/<name>/<revision>/<id>` → `<name>`. */
function nameInArn(arn: string): string {
  return arn.split('/')[1] ?? arn;
}

/**
 * The runtime's helpers take client-node's KubernetesObject, whose metadata types timestamps as Date; our
 * objects carry the JSON strings the API server sends. The helpers read only names, resourceVersion and
 * finalizers, so the conversion is sound.
 */
function asKube(object: VpcConnector): KubernetesObject & { status?: unknown } {
  return object as unknown as KubernetesObject & { status?: unknown };
}
