// A lifecycle as a table of states, compiled into an XState v5 statechart that is run as a pure decision
// function (DESIGN.md §3). Each state is one block: the guards that route to it, its one entry action with
// the action's parameters, and what it reports (kstatus condition, message, requeue). The initial state
// `deciding` routes, through ordered `always` transitions (the table's order), to the one state that
// describes this pass; `decide` returns that state, its action and its report, and executes nothing.
// No `after` timers: waits are work-queue delays, and time comes from the observation.
import { and, initialTransition, not, setup, type UnknownMachineConfig } from 'xstate';

export type KstatusKind = 'Ready' | 'Reconciling' | 'Stalled';

/** A domain condition a state asks for (the runtime adds observedGeneration and the transition time). */
export interface DecidedCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** What a state says about the pass: the kstatus condition to set and when to look again. */
export interface Report {
  kind: KstatusKind;
  reason: string;
  message: string;
  /** Look again after this long (waiting on AWS or on other objects); absent: only on change or resync. */
  requeueAfterMs?: number;
}

export const reconciling = (reason: string, message: string, requeueAfterMs?: number): Report =>
  requeueAfterMs === undefined
    ? { kind: 'Reconciling', reason, message }
    : { kind: 'Reconciling', reason, message, requeueAfterMs };

export const stalled = (reason: string, message: string, requeueAfterMs?: number): Report =>
  requeueAfterMs === undefined
    ? { kind: 'Stalled', reason, message }
    : { kind: 'Stalled', reason, message, requeueAfterMs };

export const ready = (reason: string, message: string, requeueAfterMs?: number): Report =>
  requeueAfterMs === undefined
    ? { kind: 'Ready', reason, message }
    : { kind: 'Ready', reason, message, requeueAfterMs };

/**
 * The value a state's guard established, for its params and report. Routing guarantees it; a state reached
 * without it is a bug in the table, which fails the pass loudly instead of printing an empty name.
 */
export function guarded<T>(value: T | undefined): T {
  if (value === undefined) throw new StateDataMissing();
  return value;
}

export class StateDataMissing extends Error {
  constructor() {
    super('A state was entered without the value its guard established (a routing bug in the state table).');
    this.name = 'StateDataMissing';
  }
}

/** The action a state decided, typed by the chart's map of action names to parameters. */
export type ActionOf<P> = { [K in keyof P & string]: { type: K; params: P[K] } }[keyof P & string];

/** What the runtime does to the object's finalizer in this pass (the kind never patches it itself). */
export type FinalizerChange = 'add' | 'remove';

/** One guard of a route, or its negation. */
export type GuardRef<G extends string> = G | `!${G}`;

/** One state of the table. */
export type StateSpec<O, G extends string, P> = {
  [K in keyof P & string]: {
    description: string;
    /** Every guard must hold for the pass to route here; the first state whose guards hold wins. */
    when: readonly GuardRef<G>[];
    action: K;
    params: (o: O) => P[K];
    report: (o: O) => Report;
    /** Set when the state's purpose is a finalizer change, performed by the runtime after the action. */
    finalizer?: FinalizerChange;
  };
}[keyof P & string];

export interface ChartDefinition<O, G extends string, P, S extends string> {
  id: string;
  /** Named predicates over the observation; they take no clock and no client. */
  guards: Record<G, (o: O) => boolean>;
  /** The states in routing order; the last one should have no guard (the fallthrough). */
  states: Record<S, StateSpec<O, G, P>>;
  /** Domain conditions set in every pass (e.g. DeletionBlocked while deleting), from the state and report. */
  domain?: (state: S, o: O, report: Report) => DecidedCondition[];
}

export interface Decision<S extends string, P> {
  state: S;
  /** Exactly one action per pass. */
  actions: ActionOf<P>[];
  conditions: {
    /** Apply with markReady / markReconciling / markStalled (Ready carries the same reason). */
    kstatus: { kind: KstatusKind; reason: string; message: string };
    /** Domain conditions to set; a type absent here is left as it is. */
    domain: DecidedCondition[];
  };
  finalizer?: FinalizerChange;
  requeueAfterMs?: number;
}

export interface Statechart<O, S extends string, P> {
  /** The compiled XState machine: `deciding` plus one state per table entry. */
  machine: ReturnType<typeof compile>;
  /** The states in routing order. */
  stateNames: readonly S[];
  decide(observation: O): Decision<S, P>;
}

/** The XState guard of a route: a named guard, `not(...)` of one, or `and(...)` of several. */
function guardExpression(refs: readonly string[]): never {
  const parts = refs.map((ref) => (ref.startsWith('!') ? not(ref.slice(1)) : ref));
  return (parts.length === 1 ? parts[0] : and(parts as never)) as never;
}

function compile(
  id: string,
  guards: Record<string, (o: unknown) => boolean>,
  states: Record<string, StateSpec<unknown, string, Record<string, unknown>>>,
) {
  const guardImpls = Object.fromEntries(
    Object.entries(guards).map(([name, predicate]) => [
      name,
      ({ context }: { context: unknown }) => predicate(context),
    ]),
  );
  const actionNames = new Set(Object.values(states).map((s) => s.action));
  // Actions decide only: the reconciler performs them.
  const actionImpls = Object.fromEntries([...actionNames].map((name) => [name, () => undefined]));
  const config: UnknownMachineConfig = {
    id,
    context: ({ input }: { input: unknown }) => input,
    initial: 'deciding',
    states: {
      deciding: {
        description: 'Routes the observation to the state of this pass; the first guard that holds wins.',
        always: Object.entries(states).map(([name, spec]) => {
          return spec.when.length === 0
            ? { target: name }
            : { guard: guardExpression(spec.when), target: name };
        }),
      },
      ...Object.fromEntries(
        Object.entries(states).map(([name, spec]) => [
          name,
          {
            description: spec.description,
            entry: { type: spec.action, params: ({ context }: { context: unknown }) => spec.params(context) },
          },
        ]),
      ),
    },
  };
  return setup({
    types: { context: {}, input: {} },
    guards: guardImpls,
    actions: actionImpls,
  }).createMachine(config as never);
}

/** Compiles a state table into a statechart and its pure decision function. */
export function defineStatechart<O, G extends string, P, S extends string>(
  definition: ChartDefinition<O, G, P, S>,
): Statechart<O, S, P> {
  const states = definition.states as Record<string, StateSpec<unknown, string, Record<string, unknown>>>;
  const machine = compile(
    definition.id,
    definition.guards as Record<string, (o: unknown) => boolean>,
    states,
  );
  const stateNames = Object.keys(definition.states) as S[];
  return {
    machine,
    stateNames,
    decide(observation: O): Decision<S, P> {
      const [snapshot, executable] = initialTransition(machine, observation as Record<string, unknown>);
      // A guard (or the params of the state it chose) that throws leaves the snapshot in `error` at
      // `deciding`: report that error.
      if (snapshot.status === 'error') {
        throw new Error(`${definition.id}: a guard or a state's params threw while deciding`, {
          cause: snapshot.error,
        });
      }
      const state = snapshot.value as S;
      const spec = definition.states[state];
      const actions = executable.map((a) => ({ type: a.type, params: a.params }) as ActionOf<P>);
      const report = spec.report(observation);
      const decision: Decision<S, P> = {
        state,
        actions,
        conditions: {
          kstatus: { kind: report.kind, reason: report.reason, message: report.message },
          domain: definition.domain?.(state, observation, report) ?? [],
        },
      };
      if (spec.finalizer !== undefined) decision.finalizer = spec.finalizer;
      if (report.requeueAfterMs !== undefined) decision.requeueAfterMs = report.requeueAfterMs;
      return decision;
    },
  };
}
