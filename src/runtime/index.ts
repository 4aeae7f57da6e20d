// The public surface of the controller runtime.
export { Controller, metadataKey, watch } from './controller.ts';
export type { ControllerOptions, SecondaryWatch } from './controller.ts';
export {
  ConflictError,
  RequeueAfterError,
  TerminalError,
  ThrottledError,
  TransientError,
  classify,
  classifyResult,
} from './errors.ts';
export type { QueueAction, ReconcileResultLabel } from './errors.ts';
export { startHealthServer } from './health.ts';
export type { HealthCheck, HealthServer, HealthServerOptions } from './health.ts';
export { createLogger, discardLogger, errorChain, isLogLevel, logLevels } from './logging.ts';
export type { LogLevel, LogValues, Logger, LoggerOptions } from './logging.ts';
export { Manager } from './manager.ts';
export type { ManagedController, ManagerOptions, ProcessHooks } from './manager.ts';
export { createRuntimeMetrics, reconcileTimeBuckets, workqueueLatencyBuckets } from './metrics.ts';
export type {
  ControllerMetrics,
  QueueMetrics,
  QueueMetricsProvider,
  QueueProbe,
  RuntimeMetrics,
  RuntimeMetricsOptions,
} from './metrics.ts';
export { keyToString, parseKey, systemClock } from './types.ts';
export type {
  Clock,
  InformerSource,
  Leadership,
  ObjectKey,
  ReconcileContext,
  ReconcileFn,
  ReconcileResult,
  TimerHandle,
} from './types.ts';
export { WorkQueue } from './workqueue.ts';
export type { WorkQueueOptions } from './workqueue.ts';
