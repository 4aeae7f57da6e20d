// Small builders for the simulator's own contract tests (the shared suite lives in
// test/contract/simulator/; these cover the simulator's internals seen from the wire: ENIs, the SLR
// policy, violations, fault knobs, the state file).
import type { TestContext } from 'node:test';
import { AppRunnerClient, CreateVpcConnectorCommand, UpdateServiceCommand } from '@aws-sdk/client-apprunner';
import { EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient } from '@aws-sdk/client-iam';
import { startSimulator, type SeedResult, type SimulatorConfig } from '../../../src/simulator/index.ts';

export const T0 = Date.UTC(2026, 0, 1);
/** Every operation in these tests: 1 s PENDING + 4 s IN_PROGRESS (+ 10 s on a first association). */
export const timings = {
  operationPendingMs: 1000,
  operationDurationMs: 4000,
  firstAssociationDelayMs: 10_000,
  rollbackDurationMs: 2000,
  slrDeletionNotStartedMs: 1000,
  slrDeletionInProgressMs: 1000,
} as const;
export const SETTLE = 20_000;

export interface Sim {
  url: string;
  clock: { now: number };
  apprunner: AppRunnerClient;
  iam: IAMClient;
  ec2: EC2Client;
  /** Clients with other credentials or another region. */
  clients(options: { region?: string; accessKeyId?: string; userAgentAppId?: string }): {
    apprunner: AppRunnerClient;
    iam: IAMClient;
    ec2: EC2Client;
  };
  seeded: SeedResult;
  admin(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Record<string, unknown>>;
  /** Creates a connector over the first VPC's subnets. */
  connector(name: string, apprunner?: AppRunnerClient): Promise<string>;
  attach(serviceArn: string, connectorArn: string | undefined, apprunner?: AppRunnerClient): Promise<void>;
  close(): Promise<void>;
}

export async function startSim(
  t: TestContext,
  options: { config?: SimulatorConfig; stateFile?: string; seed?: boolean } = {},
): Promise<Sim> {
  const clock = { now: T0 };
  const sim = await startSimulator({
    config: { timings, ...options.config },
    clock: () => clock.now,
    ...(options.stateFile !== undefined ? { stateFile: options.stateFile } : {}),
  });
  const made: { destroy(): void }[] = [];
  const clients: Sim['clients'] = ({ region = 'us-east-1', accessKeyId = 'AKIDTEST', userAgentAppId }) => {
    const common = {
      region,
      endpoint: sim.url,
      credentials: { accessKeyId, secretAccessKey: 'x' },
      maxAttempts: 1,
      ...(userAgentAppId !== undefined ? { userAgentAppId } : {}),
    };
    const c = {
      apprunner: new AppRunnerClient(common),
      iam: new IAMClient(common),
      ec2: new EC2Client(common),
    };
    made.push(c.apprunner, c.iam, c.ec2);
    return c;
  };
  const admin: Sim['admin'] = async (method, path, body) => {
    const res = await fetch(`${sim.url}/_sim/${path}`, {
      method,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`admin ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const main = clients({});
  const seeded =
    options.seed === false
      ? { vpcs: [], services: [] }
      : ((await admin('POST', 'seed', {
          regions: {
            'us-east-1': {
              vpcs: [
                {
                  vpcId: 'vpc-00000000000000001',
                  cidrBlock: '10.1.0.0/16',
                  subnets: [
                    { subnetId: 'subnet-00000000000000011' },
                    { subnetId: 'subnet-00000000000000012' },
                  ],
                  securityGroups: [{ groupId: 'sg-00000000000000021', groupName: 'app' }],
                },
              ],
              services: [{ serviceName: 'svc-one' }, { serviceName: 'svc-two' }],
            },
            'eu-west-1': {
              vpcs: [{ vpcId: 'vpc-00000000000000003', subnets: [{ subnetId: 'subnet-00000000000000031' }] }],
            },
          },
        })) as unknown as SeedResult);
  const result: Sim = {
    url: sim.url,
    clock,
    ...main,
    clients,
    seeded,
    admin,
    connector: async (name, apprunner = main.apprunner) => {
      const out = await apprunner.send(
        new CreateVpcConnectorCommand({
          VpcConnectorName: name,
          Subnets: ['subnet-00000000000000011', 'subnet-00000000000000012'],
          SecurityGroups: ['sg-00000000000000021'],
        }),
      );
      return out.VpcConnector?.VpcConnectorArn ?? '';
    },
    attach: async (serviceArn, connectorArn, apprunner = main.apprunner) => {
      await apprunner.send(
        new UpdateServiceCommand({
          ServiceArn: serviceArn,
          NetworkConfiguration: {
            EgressConfiguration:
              connectorArn === undefined
                ? { EgressType: 'DEFAULT' }
                : { EgressType: 'VPC', VpcConnectorArn: connectorArn },
          },
        }),
      );
    },
    close: async () => {
      for (const c of made) c.destroy();
      await sim.close();
    },
  };
  t.after(() => result.close());
  return result;
}

export function serviceArn(sim: Sim, name: string): string {
  const s = sim.seeded.services.find((x) => x.name === name);
  if (s === undefined) throw new Error(`no seeded service ${name}`);
  return s.arn;
}

export async function violations(
  sim: Sim,
): Promise<{ invariant: string; caller: string; resource: string; detail: string }[]> {
  return (await sim.admin('GET', 'violations')).violations as {
    invariant: string;
    caller: string;
    resource: string;
    detail: string;
  }[];
}
