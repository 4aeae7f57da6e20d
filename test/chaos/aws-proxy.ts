// A loopback proxy between the operator and the simulator that can crash the operator at the one instant a
// crash hurts most: after AWS performed a mutation and before the operator learnt it. When armed, the next
// mutating call is forwarded, the simulator's answer is awaited (so the change is in AWS), then the kill
// callback runs and the operator's socket is destroyed without an answer. The process can therefore never
// write the status that would have recorded the call.
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MUTATING_OPERATIONS } from './invariants.ts';

export interface AwsProxy {
  url: string;
  /**
   * Kills on the next mutating call that `caller` (the access key in its signature) makes; resolves with
   * the operation once the callback ran. `disarm` cancels it.
   */
  killOnNextMutation(accessKeyId: string, kill: () => Promise<void>): Promise<string>;
  disarm(): void;
  close(): Promise<void>;
}

/** The operation of an App Runner (X-Amz-Target) or IAM/EC2 query (Action=) request. */
function operationOf(req: IncomingMessage, body: string): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.replace(/^AppRunner\./, '');
  return new URLSearchParams(body).get('Action') ?? '';
}

function accessKeyOf(req: IncomingMessage): string {
  const auth = req.headers.authorization ?? '';
  return /Credential=([^/,\s]+)\//.exec(auth)?.[1] ?? '';
}

export async function startAwsProxy(target: string): Promise<AwsProxy> {
  const upstream = new URL(target);
  let armed:
    { accessKeyId: string; kill: () => Promise<void>; done: (operation: string) => void } | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const operation = operationOf(req, body.toString('utf8'));
      const trap =
        armed !== undefined && MUTATING_OPERATIONS.has(operation) && accessKeyOf(req) === armed.accessKeyId
          ? armed
          : undefined;
      if (trap !== undefined) armed = undefined;
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        (answer) => {
          const reply: Buffer[] = [];
          answer.on('data', (c: Buffer) => reply.push(c));
          answer.on('end', () => {
            if (trap === undefined) {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(reply));
              return;
            }
            void trap.kill().then(() => {
              res.destroy();
              trap.done(operation);
            });
          });
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    killOnNextMutation(accessKeyId, kill) {
      return new Promise((resolve) => {
        armed = { accessKeyId, kill, done: resolve };
      });
    },
    disarm() {
      armed = undefined;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
