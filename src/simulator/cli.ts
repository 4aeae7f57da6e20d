// `apprunner-net simulate`: runs the simulator in the foreground until SIGINT/SIGTERM.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import {
  profileNames,
  startSimulator,
  type ProfileName,
  type SeedDocument,
  type SimulatorConfig,
  type SimulatorOptions,
} from './index.ts';

const usage = `usage: apprunner-net simulate [--port N] [--host H] [--account-id ID] [--profile NAME]
                              [--config file.json|yaml] [--state-file F] [--seed file.json|yaml]

Starts the local App Runner / IAM / EC2 simulator and prints the URL it listens on.
  --port N         port to listen on (default 0 = a random free port)
  --host H         address to bind (default 127.0.0.1)
  --account-id ID  12-digit account id (default 123456789012)
  --profile NAME   ${profileNames.join(' or ')}: pessimistic behaves like AWS at its least convenient
                   (late deletes, lagging reads, empty pages, an unsupported zone, latency); the
                   --config file's knobs apply on top of it (default: the file's profile, else default)
  --config F       SimulatorConfig (timings, faults, pagination, behaviour, policies), JSON or YAML
  --state-file F   load the world from F if it exists and save it there after every change
  --seed F         SeedDocument (VPCs, subnets, security groups, services), JSON or YAML
Admin API: GET /_sim/calls, /_sim/state, /_sim/violations, /_sim/config;
           POST /_sim/faults, /_sim/reset, /_sim/seed (see src/simulator/README.md).
`;

function readDocument(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  return /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
}

/** Runs the command; resolves with the process exit code once the simulator has stopped. */
export async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string', default: '0' },
        host: { type: 'string', default: '127.0.0.1' },
        'account-id': { type: 'string' },
        profile: { type: 'string' },
        config: { type: 'string' },
        'state-file': { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`apprunner-net simulate: ${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(usage);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(
      `apprunner-net simulate: --port must be an integer in 0..65535, got "${values.port}"\n`,
    );
    return 2;
  }
  const accountId = values['account-id'];
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) {
    process.stderr.write(`apprunner-net simulate: --account-id must be 12 digits, got "${accountId}"\n`);
    return 2;
  }
  const profile = values.profile;
  if (profile !== undefined && !(profileNames as readonly string[]).includes(profile)) {
    process.stderr.write(
      `apprunner-net simulate: --profile must be one of ${profileNames.join(', ')}, got "${profile}"\n`,
    );
    return 2;
  }
  const options: SimulatorOptions = { port, host: values.host };
  try {
    if (accountId !== undefined) options.accountId = accountId;
    if (values.config !== undefined) options.config = readDocument(values.config) as SimulatorConfig;
    if (profile !== undefined) options.config = { ...options.config, profile: profile as ProfileName };
    if (values.seed !== undefined) options.seed = readDocument(values.seed) as SeedDocument;
    if (values['state-file'] !== undefined) options.stateFile = values['state-file'];
  } catch (e) {
    process.stderr.write(`apprunner-net simulate: ${(e as Error).message}\n`);
    return 2;
  }
  let sim;
  try {
    sim = await startSimulator(options);
  } catch (e) {
    process.stderr.write(`apprunner-net simulate: could not start: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`${sim.url}\n`);
  const running = sim;
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stderr.write(`apprunner-net simulate: ${signal} received, stopping\n`);
      void running.close().then(resolve, resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
