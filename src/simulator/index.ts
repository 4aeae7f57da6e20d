// The AWS simulator's public entry point: start it on a loopback port and point the AWS SDKs (or
// the AWS CLI) at its URL. See README.md beside this file for behaviour, knobs and the admin API.

import type { AddressInfo } from 'node:net';
import { loadWorld } from './persistence.ts';
import { createHttpServer, SimulatorEngine } from './server.ts';
import type { SimulatorConfig } from './config.ts';
import type { SeedDocument } from './seed.ts';

export type {
  BehaviourConfig,
  ConsistencyConfig,
  FaultConfig,
  InternalErrorConfig,
  LatencyConfig,
  OperationFaultConfig,
  PaginationConfig,
  ProfileName,
  RollbackFaultConfig,
  SimulatorConfig,
  ThrottlingConfig,
  TimingConfig,
  TokenBucketConfig,
  UnsupportedZoneFailure,
  UpdateFailureOutcome,
} from './config.ts';
export { pessimisticProfile, profileConfig, profileNames } from './config.ts';
export type {
  SeedDocument,
  SeedRegion,
  SeedResult,
  SeedSecurityGroup,
  SeedService,
  SeedSubnet,
  SeedVpc,
} from './seed.ts';
export type { PolicyDocument, PolicyStatement } from './policy.ts';

export interface SimulatorOptions {
  /** 0 or absent = a random free port. */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default '123456789012'. */
  accountId?: string;
  /** Profile, timings, faults, pagination, policies; all optional (defaults in config.ts / README.md). */
  config?: SimulatorConfig;
  /** If set: load the world from it at start when it exists, and save after every mutation. */
  stateFile?: string;
  /** VPCs/subnets/security groups (and services) to create at start (ignored when a state file was loaded). */
  seed?: SeedDocument;
  /** Milliseconds since the epoch; default Date.now (tests pass a fake clock). */
  clock?: () => number;
}

export interface RunningSimulator {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const host = options.host ?? '127.0.0.1';
  const world = options.stateFile === undefined ? undefined : loadWorld(options.stateFile);
  const engine = new SimulatorEngine({
    accountId: world?.accountId ?? options.accountId ?? '123456789012',
    config: options.config ?? {},
    seed: options.seed,
    clock: options.clock ?? Date.now,
    world,
    stateFile: options.stateFile,
  });
  const server = createHttpServer(engine);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve, reject) => {
          server.close((e) => {
            if (e === undefined) resolve();
            else reject(e);
          });
          server.closeAllConnections();
        });
        await engine.flush();
      })()),
  };
}
