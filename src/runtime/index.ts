// The public surface of the controller runtime: everything each module exports. Part A (queue, loop,
// errors, metrics, health, logging, manager) and part B (informers, leader election, events,
// conditions, finalizers, status) share the types in `types.ts`.
export * from './conditions.ts';
export * from './controller.ts';
export * from './custom-objects.ts';
export * from './errors.ts';
export * from './events.ts';
export * from './finalizers.ts';
export * from './health.ts';
export * from './informer.ts';
export * from './leader-election.ts';
export * from './logging.ts';
export * from './managed.ts';
export * from './manager.ts';
export * from './metrics.ts';
export * from './statechart.ts';
export * from './status.ts';
export * from './types.ts';
export * from './workqueue.ts';
