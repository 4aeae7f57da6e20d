// `npm run bench:simulator`: how many simple requests per second the simulator serves on loopback.
// The simulator runs as its own process (`apprunner-net simulate`), as the demo and chaos suite run
// it, so client and server do not share one event loop. Prints one figure per client style and its
// ratio to the 2,000 req/s acceptance bound. The bound applies to the keep-alive HTTP figure: the SDK
// figure is limited by the SDK client's own CPU cost per call (about 1.5 ms) in this process.
// Flags: --seconds N (default 5), --concurrency N (default 16).
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { AppRunnerClient, ListVpcConnectorsCommand } from '@aws-sdk/client-apprunner';

const BOUND = 2000;
const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, concurrency: { type: 'string', default: '16' } },
});
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);

const child = spawn(process.execPath, ['bin/apprunner-net.js', 'simulate', '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
const [first] = (await once(child.stdout, 'data')) as [Buffer];
const url = first.toString('utf8').trim().split('\n')[0] ?? '';
const { hostname, port } = new URL(url);

const authorization =
  'AWS4-HMAC-SHA256 Credential=bench/20260101/us-east-1/apprunner/aws4_request, SignedHeaders=host, Signature=' +
  '0'.repeat(64);

/** Runs `worker` on `concurrency` loops for `seconds`; returns completed requests per second. */
async function measure(worker: () => Promise<void>): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  let done = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await worker();
        done += 1;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
const body = '{"MaxResults":10}';
function raw(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        method: 'POST',
        path: '/',
        agent,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'AppRunner.ListVpcConnectors',
          authorization,
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) resolve();
          else reject(new Error(`HTTP ${res.statusCode ?? '?'}`));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const sdk = new AppRunnerClient({
  region: 'us-east-1',
  endpoint: url,
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  maxAttempts: 1,
});

try {
  await measure(raw); // warm-up: JIT and sockets
  await sdk.send(new ListVpcConnectorsCommand({ MaxResults: 10 }));
  const rawRate = await measure(raw);
  const sdkRate = await measure(async () => {
    await sdk.send(new ListVpcConnectorsCommand({ MaxResults: 10 }));
  });
  const line = (label: string, rate: number): string =>
    `${label.padEnd(44)} ${rate.toFixed(0).padStart(7)} req/s  (${(rate / BOUND).toFixed(2)}x the ${BOUND} req/s bound)`;
  console.log(`simulator at ${url}, ${concurrency} concurrent clients, ${seconds} s each`);
  console.log(line('ListVpcConnectors, keep-alive HTTP', rawRate));
  console.log(line('ListVpcConnectors, @aws-sdk/client-apprunner', sdkRate));
  if (rawRate < BOUND) process.exitCode = 1;
} finally {
  sdk.destroy();
  agent.destroy();
  child.kill('SIGTERM');
  await once(child, 'exit');
}
