// The VpcConnector kind on the runtime's managed pass: which AWS reads a pass makes (`readPlan` in
// observe.ts, executed by `read` here through the shared AWS view), the pure `observe` and `decide`, and
// `act`, which performs one decided action and records its effects in the status the pass writes once.
//
// Status is the operator's memory across passes and crashes: a create intent is written in one pass and
// the create happens in a later one (invariant 3), and a terminal AWS refusal is recorded as Stalled with
// AWS's words, which `observe` reads back so that the machine waits for a spec change (invariant 6).
import {
  FINALIZER,
  GROUP,
  Kind,
  Plural,
  VERSION,
  VpcConnectorReason,
  ConditionType,
} from '../../api/constants.ts';
import type { ServiceNetworking } from '../../api/servicenetworking.ts';
import type { VpcConnector, VpcConnectorStatus } from '../../api/vpcconnector.ts';
import { AwsInvalidInputError, ConnectorInUseError, ConnectorNameTakenError } from '../../aws/errors.ts';
import type { AwsGateway, CallOptions, ConnectorObservation } from '../../aws/gateway.ts';
import {
  createManagedReconciler,
  type CustomObjectPatcher,
  type CustomResourceType,
  type EventRecorder,
  type FailureReport,
  type InformerSource,
  type ManagedKind,
  type Pass,
  type ReconcileFn,
  type StatusWriter,
} from '../../runtime/index.ts';
import { AwsView, regionOfArn } from '../shared/aws-view.ts';
import { persistentAwsFailure, quote, terminalAwsFailure } from '../shared/failures.ts';
import {
  decide,
  Requeue,
  type ActionParams,
  type ConnectorSummary,
  type DecidedAction,
  type Decision,
  type StateName,
} from './machine.ts';
import {
  observe,
  readPlan,
  type AwsReads,
  type Observation,
  type OperatorSettings,
  type ReadPlan,
} from './observe.ts';

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
  /** The shared view of AWS (one per operator, shared by every kind); a private one when absent. */
  view?: AwsView;
  /** Finalizer patches (status writes go through `statusWriter`). */
  client: CustomObjectPatcher;
  statusWriter: StatusWriter;
  events: EventRecorder;
  settings: ReconcilerSettings;
  now?: () => Date;
}

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

/** The per-pass options of every gateway call: the reconcile's abort signal. */
type Call = Pick<CallOptions, 'signal'>;

export function createVpcConnectorReconciler(options: VpcConnectorReconcilerOptions): ReconcileFn {
  const { connectors, serviceNetworkings, client, statusWriter, events, settings } = options;
  const view = options.view ?? new AwsView(options.gateway);

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
    const maybe = <T>(cond: unknown, fn: () => Promise<T>): Promise<T | undefined> =>
      cond === undefined || cond === false ? Promise.resolve(undefined) : fn();
    const { region, freshness } = plan;
    const [current, retiring, byName, observed, services, [roleDeletion, role], inRegions] =
      await Promise.all([
        maybe(plan.currentArn, () => view.connector(plan.currentArn ?? '', region, call, freshness)),
        maybe(plan.retiringArn, () => view.connector(plan.retiringArn ?? '', region, call, freshness)),
        maybe(plan.findName, () => view.connectorByName(region, plan.findName ?? '', call, freshness)),
        plan.observeArn !== undefined
          ? view.connector(plan.observeArn, region, call, freshness)
          : maybe(plan.observeName, () =>
              view.connectorByName(region, plan.observeName ?? '', call, freshness),
            ),
        view.services(region, call, plan.servicesFreshness),
        // The role after its deletion task: a task seen ended tells the view what became of the role.
        maybe(plan.roleDeletionTaskId, () =>
          view.roleDeletionStatus(plan.roleDeletionTaskId ?? '', call),
        ).then(async (deletion) => [deletion, plan.role ? await view.role(call) : undefined] as const),
        // Whether any connector is left anywhere decides the role's deletion: always a fresh listing.
        maybe(plan.connectorsInManagedRegions, async () =>
          (await Promise.all(managedRegions(plan).map((r) => view.connectors(r, call, 'fresh')))).flat(),
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

  /** Performs one decided action, recording its effects in the pass's status. AWS errors propagate. */
  async function act(action: DecidedAction, pass: Pass<VpcConnector>, decision: Decision): Promise<void> {
    const { object, status, log } = pass;
    const call: Call = { signal: pass.signal };
    const at = pass.now.toISOString();
    switch (action.type) {
      case 'awaitRemoval':
      case 'waitForSpecChange':
      case 'waitForUsersToMove':
      case 'waitForInactive':
      case 'waitForCreateToSettle':
      case 'addFinalizer':
      case 'pollRoleDeletion':
        break;
      case 'removeFinalizer':
        log.info('Releasing the object', { why: action.params.why });
        if (object.spec.managementPolicy !== 'Observe') {
          pass.event('Normal', 'Deleted', 'RemoveFinalizer', `Released the object: ${action.params.why}.`);
        }
        break;
      case 'ensureServiceLinkedRole': {
        const role = await view.ensureRole(call);
        pass.setCondition({
          type: ConditionType.ServiceLinkedRoleReady,
          status: 'True',
          reason: VpcConnectorReason.ServiceLinkedRolePresent,
          message: 'Created the App Runner networking service-linked role.',
        });
        log.info('Created service-linked role', { arn: role.arn });
        pass.event(
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
        log.info('Recorded create intent', { connectorName: name, region, replaces });
        if (replaces !== undefined) {
          pass.event(
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
        const created = await view.createConnector(region, { name, subnets, securityGroups, tags }, call);
        const replaces = action.type === 'createReplacement' ? action.params.replaces : undefined;
        recordConnector(status, created, replaces, at);
        log.info('Created connector', { arn: created.arn, region, replaces });
        pass.event(
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
        recordConnector(status, { arn, name, revision }, replaces, at);
        log.info('Adopted connector', { arn });
        pass.event(
          'Normal',
          'Adopted',
          'AdoptVpcConnector',
          `Adopted connector ${name} (${arn}), which carries this object's ownership tags.`,
        );
        break;
      }
      case 'reportNameConflict': {
        const { name, arn, owner } = action.params;
        log.error('Found connector name taken by another owner', { connectorName: name, arn, owner });
        pass.event(
          'Warning',
          'NameConflict',
          'AdoptVpcConnector',
          `Connector ${name} (${arn}) belongs to ${owner}; the operator will not adopt or change it.`,
        );
        break;
      }
      case 'recreateAfterDrift': {
        const { goneArn, region, name } = action.params;
        forgetConnector(status);
        delete status.recordedAt;
        status.region = region;
        status.createIntent = { name, requestedAt: at };
        log.info('Found connector deleted out of band; recorded a new create intent', { goneArn });
        pass.event(
          'Warning',
          'Recreated',
          'RecordCreateIntent',
          `Connector ${goneArn} was deleted outside the operator; creating ${name} again.`,
        );
        break;
      }
      case 'dropRotationIntent': {
        delete status.createIntent;
        log.info('Dropped a rotation: the spec matches the connector again', {
          connectorName: action.params.name,
        });
        break;
      }
      case 'reportCreateRefused': {
        delete status.createIntent;
        log.error('Found no connector after AWS refused the create', { connectorName: action.params.name });
        pass.event(
          'Warning',
          VpcConnectorReason.InvalidInput,
          'CreateVpcConnector',
          decision.conditions.kstatus.message,
        );
        break;
      }
      case 'rejectImmutableChange':
        pass.event('Warning', 'ImmutableFieldChanged', 'RejectChange', decision.conditions.kstatus.message);
        break;
      case 'deleteOldConnector': {
        await view.deleteConnector(action.params.arn, call);
        if (status.retiring !== undefined) status.retiring.deletionRequestedAt = at;
        log.info('Requested deletion of the old connector', { arn: action.params.arn });
        break;
      }
      case 'completeRotation': {
        delete status.retiring;
        log.info('Finished rotation', { retiredArn: action.params.retiredArn });
        pass.event(
          'Normal',
          'RotationFinished',
          'DeleteVpcConnector',
          `Old connector ${action.params.retiredArn} is deleted; every service uses ${status.vpcConnectorName ?? 'the new connector'}.`,
        );
        break;
      }
      case 'syncTags':
        await view.tagResource(action.params.arn, action.params.tags, call);
        log.info('Updated connector tags', { arn: action.params.arn, keys: Object.keys(action.params.tags) });
        break;
      case 'observeOnly': {
        const c = action.params.connector;
        status.region = object.spec.region ?? object.status?.region ?? settings.defaultRegion;
        if (c === undefined) forgetConnector(status);
        else reportConnector(status, c);
        break;
      }
      case 'reportReady':
        reportConnector(status, action.params);
        break;
      case 'blockDeletion': {
        const { serviceNetworkings: refs, services } = action.params;
        log.info('Blocked deletion', { serviceNetworkings: refs, services });
        // Once per change of what blocks it: the condition says it meanwhile, and a pass per change of every
        // user would otherwise write an Event each time.
        const message = decision.conditions.kstatus.message;
        const before = object.status?.conditions?.find((c) => c.type === ConditionType.DeletionBlocked);
        if (before?.status !== 'True' || before.message !== message) {
          pass.event('Warning', 'DeletionBlocked', 'DeleteVpcConnector', message);
        }
        break;
      }
      case 'deleteConnector': {
        const { arn } = action.params;
        await view.deleteConnector(arn, call);
        if (status.retiring?.arn === arn) status.retiring.deletionRequestedAt = at;
        else status.deletionRequestedAt = at;
        log.info('Requested deletion of the connector', { arn });
        pass.event('Normal', 'Deleting', 'DeleteVpcConnector', `Requested deletion of connector ${arn}.`);
        break;
      }
      case 'retainOnDelete': {
        const { arns } = action.params;
        if (arns.length > 0) {
          pass.event(
            'Normal',
            'Retained',
            'RemoveFinalizer',
            `deletionPolicy is Retain: left ${arns.join(', ')} in AWS.`,
          );
        }
        log.info('Retaining connectors in AWS', { arns });
        break;
      }
      case 'deleteServiceLinkedRole': {
        const task = await view.deleteRole(call);
        if (task !== undefined) {
          status.serviceLinkedRoleDeletion = { taskId: task.taskId, startedAt: at };
          log.info('Started service-linked role deletion', { taskId: task.taskId });
          pass.event(
            'Normal',
            'ServiceLinkedRoleDeletionStarted',
            'DeleteServiceLinkedRole',
            `No connector is left in any managed region: deleting the App Runner networking service-linked role (task ${task.taskId}).`,
          );
        }
        break;
      }
      case 'reportRoleDeletionFailure': {
        const { taskId, reason } = action.params;
        log.error('Found service-linked role deletion failed', { taskId, reason });
        pass.event(
          'Warning',
          'ServiceLinkedRoleDeletionFailed',
          'DeleteServiceLinkedRole',
          decision.conditions.kstatus.message,
        );
        break;
      }
    }
  }

  /**
   * Terminal refusals become Stalled with AWS's words (a refused create drops its intent: nothing exists
   * under its name); a name AWS says is taken keeps the intent and looks again; "still in use" is reported
   * in DeletionBlocked and retried with backoff; an unreachable endpoint or an unknown error is shown once it
   * persists. Anything else is the queue's (throttles, transient).
   */
  function reportFailure(
    err: unknown,
    pass: Pass<VpcConnector>,
    decision: Decision | undefined,
    attempts: number,
  ): FailureReport | undefined {
    const creating =
      decision?.actions.some((a) => a.type === 'createConnector' || a.type === 'createReplacement') === true;
    const intent = pass.status.createIntent;
    if (
      creating &&
      intent !== undefined &&
      (err instanceof AwsInvalidInputError || err instanceof ConnectorNameTakenError)
    ) {
      // A connector an earlier attempt created (its answer lost to a crash, or not listed yet: ListVpcConnectors
      // lags behind creates) is refused as invalid too, in words nobody documents. Keep the intent and decide by
      // looking the name up for a short while: adopt it when its tags say it is ours, report the conflict when
      // not, and only if nothing turns up report the refusal.
      intent.refused = { at: pass.now.toISOString(), code: err.aws.code, message: err.aws.message };
      return {
        kind: 'Reconciling',
        reason: VpcConnectorReason.Creating,
        message: `AWS refused creating connector ${intent.name}: ${quote(err.aws)} Looking the name up before reporting it.`,
        requeueAfterMs: Requeue.refusalLookup,
        log: 'CreateVpcConnector was refused; looking the name up before reporting it',
      };
    }
    const terminal = terminalAwsFailure(err);
    if (terminal !== undefined) {
      if (creating) delete pass.status.createIntent;
      return terminal;
    }
    if (err instanceof ConnectorInUseError) {
      const message = `AWS still reports the connector in use: ${quote(err.aws)} Retrying with backoff.`;
      const deleting = decision?.actions.some((a) => a.type === 'deleteConnector') === true;
      return {
        kind: 'Reconciling',
        reason: VpcConnectorReason.ConnectorInUse,
        message,
        ...(deleting
          ? {
              domain: [
                {
                  type: ConditionType.DeletionBlocked,
                  status: 'True' as const,
                  reason: VpcConnectorReason.ConnectorInUse,
                  message,
                },
              ],
            }
          : {}),
        event: { reason: 'DeletionBlocked', action: err.aws.operation },
        log: 'AWS refused to delete a connector in use; retrying with backoff',
      };
    }
    return persistentAwsFailure(err, attempts);
  }

  const kind: ManagedKind<VpcConnector, ReadPlan, AwsReads, Observation, StateName, ActionParams> = {
    kind: Kind.VpcConnector,
    resource: vpcConnectorResource,
    finalizer: FINALIZER,
    cache: connectors,
    readPlan: (object) => readPlan(object, settings),
    read: (plan, _object, call) => read(plan, call),
    observe: (object, aws, now) => {
      const namespace = object.metadata.namespace ?? '';
      return observe({
        object,
        serviceNetworkings: serviceNetworkings.list().filter((sn) => sn.metadata.namespace === namespace),
        aws,
        settings,
        now,
      });
    },
    decide,
    act,
    progressActions,
    reportFailure,
  };
  const deps = { client, statusWriter, events };
  return createManagedReconciler(kind, options.now === undefined ? deps : { ...deps, now: options.now });
}

/** Records a created or adopted connector as this object's, and the one it replaces as retiring. */
function recordConnector(
  status: VpcConnectorStatus,
  connector: Pick<ConnectorObservation, 'arn' | 'name' | 'revision'>,
  replaces: string | undefined,
  at: string,
): void {
  if (replaces !== undefined && replaces !== '' && replaces !== connector.arn) {
    status.retiring = { arn: replaces, name: status.vpcConnectorName ?? nameInArn(replaces) };
  }
  status.vpcConnectorArn = connector.arn;
  status.vpcConnectorName = connector.name;
  status.vpcConnectorRevision = connector.revision;
  // A connector lives in its ARN's region. An adoption without a recorded intent has no region in status
  // yet; without one, a later spec.region edit would read as the connector gone, and leak it.
  status.region ??= regionOfArn(connector.arn);
  status.awsStatus = 'ACTIVE';
  status.recordedAt = at;
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

function forgetConnector(status: VpcConnectorStatus): void {
  delete status.vpcConnectorArn;
  delete status.vpcConnectorName;
  delete status.vpcConnectorRevision;
  delete status.awsStatus;
  delete status.services;
}

/** `arn:...:vpcconnector/<name>/<revision>/<id>` → `<name>`. */
function nameInArn(arn: string): string {
  return arn.split('/')[1] ?? arn;
}
