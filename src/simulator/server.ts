// The simulator's HTTP front: one port for App Runner (awsJson1_0), IAM (awsQuery), EC2 (ec2Query)
// and the /_sim/ admin API. Per request: settle the world to the injected clock, apply faults,
// validate, authorise against the optional caller policy, run the handler, serialise, audit.

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { appRunnerHandlers, operationJson } from './apprunner.ts';
import {
  checkConfig,
  defaultConfig,
  resolveConfig,
  unknownConfigKeys,
  type ResolvedConfig,
  type SimulatorConfig,
} from './config.ts';
import { ec2Handlers } from './ec2.ts';
import { connectorUse, Invariants, iso, settle, type Ctx } from './engine.ts';
import { appRunnerErrors, AwsError, ec2Errors, iamErrors } from './errors.ts';
import type { Handler, Target } from './handler.ts';
import { iamHandlers, type QueryInput } from './iam.ts';
import { StateSaver } from './persistence.ts';
import { evaluatePolicy } from './policy.ts';
import { createPrng, type Prng } from './prng.ts';
import { applySeed, type SeedDocument } from './seed.ts';
import { emptyWorld, type Violation, type World } from './world.ts';
import { renderValue, type XmlNode } from './xml.ts';

type Protocol = 'apprunner' | 'iam' | 'ec2';

export interface CallRecord {
  seq: number;
  time: string;
  requestId: string;
  caller: string;
  region: string;
  service: Protocol;
  operation: string;
  params: Record<string, unknown>;
  status: number;
  errorCode?: string;
}

export interface EngineOptions {
  accountId: string;
  config: SimulatorConfig;
  seed: SeedDocument | undefined;
  clock: () => number;
  world: World | undefined;
  stateFile: string | undefined;
}

interface Bucket {
  tokens: number;
  last: number;
}

const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** Standard user-agent tokens of the AWS SDKs and CLI; anything else identifies the caller. */
const standardUaToken =
  /^(aws-sdk-[\w-]+|aws-cli|botocore|boto3|python|linux|darwin|windows|ua|os|lang|md|api|m|cfg|exec-env|sdk-metrics|source|prompt|command|distrib|feat|Botocore|Python|Linux|Darwin)(\/|#|$)/i;

function callerOf(req: IncomingMessage, accessKeyId: string): string {
  const ua = `${header(req, 'x-amz-user-agent') ?? ''} ${header(req, 'user-agent') ?? ''}`;
  const tokens = ua.split(/\s+/).filter((t) => t !== '');
  const app = tokens.find((t) => t.startsWith('app/'));
  if (app !== undefined) return `${accessKeyId} ${app}`;
  const custom = [...new Set(tokens.filter((t) => !standardUaToken.test(t)))];
  return custom.length > 0 ? `${accessKeyId} ${custom.join(' ')}` : accessKeyId;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Credential scope of a SigV4 Authorization header: `Credential=AKID/date/region/service/aws4_request`. */
function credentialScope(req: IncomingMessage): { accessKeyId: string; region?: string; service?: string } {
  const m = /Credential=([^/,\s]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(
    header(req, 'authorization') ?? '',
  );
  if (m === null) return { accessKeyId: 'anonymous' };
  return { accessKeyId: m[1] ?? 'anonymous', region: m[2] ?? 'us-east-1', service: m[3] ?? '' };
}

const isRead = (op: string): boolean => /^(Describe|List|Get)/.test(op);

/** A resource key that groups every call on one connector or service name (for the concurrency check). */
function resourceKey(resource: string): string | undefined {
  if (resource === '*') return undefined;
  return resource.replace(
    /^(arn:[^:]*:apprunner:[^:]*:[^:]*:(?:vpcconnector|service|vpcingressconnection)\/[^/]+).*$/,
    '$1',
  );
}

function truncate(params: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    const s = typeof v === 'string' ? v : JSON.stringify(v);
    out[k] = s.length > 500 ? `${s.slice(0, 500)}...` : v;
  }
  return out;
}

export class SimulatorEngine {
  readonly accountId: string;
  readonly #initialConfig: SimulatorConfig;
  readonly #seed: SeedDocument | undefined;
  readonly #clock: () => number;
  config: ResolvedConfig;
  world: World;
  prng: Prng;
  #buckets = new Map<string, Bucket>();
  #calls: CallRecord[] = [];
  #seq = 0;
  #lastMutation = new Map<string, { caller: string; at: number }>();
  readonly #saver: StateSaver | undefined;

  constructor(options: EngineOptions) {
    this.accountId = options.accountId;
    this.#initialConfig = options.config;
    this.#seed = options.seed;
    this.#clock = options.clock;
    this.config = this.#resolve(options.config);
    if (options.world !== undefined) {
      this.world = options.world;
      this.prng = createPrng(options.world.prngState);
    } else {
      this.prng = createPrng(this.config.randomSeed);
      this.world = emptyWorld(this.accountId, this.prng.state());
      if (this.#seed !== undefined) this.seed(this.#seed);
    }
    this.#saver =
      options.stateFile === undefined ? undefined : new StateSaver(options.stateFile, () => this.snapshot());
    this.#saver?.schedule();
  }

  #resolve(patch: SimulatorConfig, base: ResolvedConfig = defaultConfig()): ResolvedConfig {
    const config = resolveConfig(patch, base);
    const problems = [
      ...unknownConfigKeys(patch).map((k) => `unknown config key ${k}`),
      ...checkConfig(config),
    ];
    if (problems.length > 0) throw new Error(`invalid simulator config: ${problems.join('; ')}`);
    return config;
  }

  snapshot(): World {
    this.world.prngState = this.prng.state();
    return this.world;
  }

  ctx(region: string, caller: string, operation: string, now = this.#clock()): Ctx {
    const world = this.world;
    return {
      world,
      config: this.config,
      prng: this.prng,
      now,
      accountId: this.accountId,
      region,
      caller,
      operation,
      violation: (invariant, resource, detail, actor) => {
        const v: Violation = {
          time: new Date(actor?.at ?? now).toISOString(),
          invariant,
          caller: actor?.caller ?? caller,
          operation: actor?.operation ?? operation,
          resource,
          detail,
        };
        world.violations.push(v);
      },
    };
  }

  async flush(): Promise<void> {
    await this.#saver?.flush();
  }

  // ---- admin -----------------------------------------------------------------------------------

  seed(doc: SeedDocument): ReturnType<typeof applySeed> {
    const ctx = this.ctx('us-east-1', 'admin', 'Seed');
    settle(ctx);
    const result = applySeed(ctx, doc, (region) => ({ ...ctx, region }));
    this.#saver?.schedule();
    return result;
  }

  /** Empties the world, the audit log and the runtime fault state; `reseed` re-applies the start seed. */
  reset(reseed: boolean): void {
    this.config = this.#resolve(this.#initialConfig);
    this.prng = createPrng(this.config.randomSeed);
    this.world = emptyWorld(this.accountId, this.prng.state());
    this.#buckets.clear();
    this.#calls = [];
    this.#seq = 0;
    this.#lastMutation.clear();
    if (reseed && this.#seed !== undefined) this.seed(this.#seed);
    this.#saver?.schedule();
  }

  applyFaults(patch: SimulatorConfig, replace: boolean): ResolvedConfig {
    this.config = this.#resolve(patch, replace ? defaultConfig() : this.config);
    if (patch.randomSeed !== undefined) this.prng = createPrng(patch.randomSeed);
    this.#buckets.clear();
    return this.config;
  }

  calls(since: number): CallRecord[] {
    return since > 0 ? this.#calls.filter((c) => c.seq > since) : this.#calls;
  }

  /** The world as JSON for GET /_sim/state, with derived operation statuses and connector use. */
  state(): unknown {
    const ctx = this.ctx('us-east-1', 'admin', 'State');
    settle(ctx);
    const now = ctx.now;
    const regions: Record<string, unknown> = {};
    for (const [name, r] of Object.entries(this.world.regions)) {
      regions[name] = {
        vpcs: r.vpcs,
        subnets: r.subnets,
        securityGroups: r.securityGroups,
        networkInterfaces: r.networkInterfaces,
        vpcConnectors: r.connectors.map((c) => ({ ...c, inUse: connectorUse(r, c.arn, now)?.why ?? null })),
        services: r.services.map((s) => ({
          ...s,
          operations: s.operations.map((o) => ({ ...o, ...operationJson(o, now) })),
        })),
        vpcIngressConnections: r.ingressConnections,
        connectorHolds: r.holds,
        associatedCombinations: r.associatedCombinations,
      };
    }
    return {
      accountId: this.accountId,
      now: iso(now),
      nowMs: now,
      iam: { roles: this.world.roles, deletionTasks: this.world.deletionTasks },
      regions,
    };
  }

  // ---- AWS calls ---------------------------------------------------------------------------------

  #takeToken(cls: 'read' | 'mutate', now: number): boolean {
    const cfg = this.config.faults.throttling[cls];
    if (cfg === null) return true;
    const b = this.#buckets.get(cls) ?? { tokens: cfg.burst, last: now };
    b.tokens = Math.min(cfg.burst, b.tokens + (Math.max(0, now - b.last) / 1000) * cfg.ratePerSecond);
    b.last = now;
    this.#buckets.set(cls, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  #dice(f: { rate: number; next: number; operations: string[] | undefined }, op: string): boolean {
    if (f.operations !== undefined && !f.operations.includes(op)) return false;
    if (f.next > 0) {
      f.next -= 1;
      return true;
    }
    return f.rate > 0 && this.prng.next() < f.rate;
  }

  /** Runs one AWS call; returns the HTTP status and either the result or the error. */
  call<I>(
    protocol: Protocol,
    handler: Handler<I> | undefined,
    operation: string,
    input: I,
    params: Record<string, unknown>,
    region: string,
    caller: string,
    accessKeyId: string,
    requestId: string,
  ): { status: number; result?: unknown; error?: AwsError } {
    const ctx = this.ctx(region, caller, operation);
    settle(ctx);
    let outcome: { status: number; result?: unknown; error?: AwsError };
    let mutated = false;
    const violationsBefore = this.world.violations.length;
    try {
      if (handler === undefined) throw unknownOperation(protocol, operation);
      const errs = protocol === 'apprunner' ? appRunnerErrors : protocol === 'iam' ? iamErrors : ec2Errors;
      const cls = isRead(operation) ? 'read' : 'mutate';
      if (!this.#takeToken(cls, ctx.now) || this.#dice(this.config.faults.throttling, operation))
        throw errs.throttled();
      if (this.#dice(this.config.faults.internalError, operation)) {
        throw protocol === 'apprunner'
          ? appRunnerErrors.internal()
          : protocol === 'iam'
            ? iamErrors.serviceFailure()
            : ec2Errors.internal();
      }
      handler.validate?.(input);
      const target = handler.target(ctx, input);
      this.#authorize(protocol, operation, target, ctx, accessKeyId);
      if (handler.mutates) {
        mutated = true;
        this.#noteMutation(ctx, target);
      }
      outcome = { status: 200, result: handler.run(ctx, input) };
    } catch (e) {
      if (!(e instanceof AwsError)) throw e;
      outcome = { status: e.status, error: e };
    }
    this.#record({
      seq: ++this.#seq,
      time: new Date(ctx.now).toISOString(),
      requestId,
      caller,
      region,
      service: protocol,
      operation,
      params: truncate(params),
      status: outcome.status,
      ...(outcome.error !== undefined ? { errorCode: outcome.error.code } : {}),
    });
    if ((mutated && outcome.status === 200) || this.world.violations.length > violationsBefore) {
      this.#saver?.schedule();
    }
    return outcome;
  }

  #record(c: CallRecord): void {
    this.#calls.push(c);
    const limit = this.config.behaviour.callLogLimit;
    if (this.#calls.length > limit * 1.1) this.#calls = this.#calls.slice(-limit);
  }

  #authorize(protocol: Protocol, operation: string, target: Target, ctx: Ctx, accessKeyId: string): void {
    const policy = this.config.callerPolicy;
    if (policy === null) return;
    const action = `${protocol}:${operation}`;
    let why: string;
    try {
      const decision = evaluatePolicy(policy, {
        action,
        resource: target.resource,
        context: { 'aws:RequestedRegion': ctx.region, ...target.context },
      });
      if (decision.effect === 'Allow') return;
      why =
        decision.effect === 'ExplicitDeny'
          ? 'with an explicit deny in an identity-based policy'
          : `because no identity-based policy allows the ${action} action`;
    } catch (e) {
      // A policy the simulator cannot read denies, loudly, rather than allowing by accident.
      why = `because the simulator cannot evaluate the caller policy: ${(e as Error).message}`;
    }
    const user = `arn:aws:iam::${this.accountId}:user/${accessKeyId}`;
    const message = `User: ${user} is not authorized to perform: ${action} on resource: ${target.resource} ${why}`;
    throw protocol === 'apprunner'
      ? appRunnerErrors.accessDenied(message)
      : protocol === 'iam'
        ? iamErrors.accessDenied(message)
        : ec2Errors.unauthorized(message);
  }

  #noteMutation(ctx: Ctx, target: Target): void {
    const key = resourceKey(target.resource);
    if (key === undefined) return;
    const last = this.#lastMutation.get(key);
    if (
      last !== undefined &&
      last.caller !== ctx.caller &&
      ctx.now - last.at < this.config.behaviour.concurrentCallerWindowMs
    ) {
      ctx.violation(
        Invariants.concurrentWriters,
        key,
        `${last.caller} mutated it ${ctx.now - last.at} ms earlier`,
      );
    }
    this.#lastMutation.set(key, { caller: ctx.caller, at: ctx.now });
  }
}

function unknownOperation(protocol: Protocol, operation: string): AwsError {
  if (protocol === 'apprunner')
    return new AwsError('UnknownOperationException', 400, `Unknown operation ${operation}`);
  if (protocol === 'iam')
    return new AwsError('InvalidAction', 400, `Could not find operation ${operation} for version 2010-05-08`);
  return new AwsError('InvalidAction', 400, `The action ${operation} is not valid for this web service.`);
}

// ---- HTTP ----------------------------------------------------------------------------------------

function send(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  requestId?: string,
): void {
  const headers: Record<string, string | number> = {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
  };
  if (requestId !== undefined) {
    headers['x-amzn-RequestId'] = requestId;
    headers['x-amz-request-id'] = requestId;
  }
  res.writeHead(status, headers);
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, body: unknown): void => {
  send(res, status, 'application/json', JSON.stringify(body, null, 2));
};

function iamBody(
  operation: string,
  outcome: { result?: unknown; error?: AwsError },
  requestId: string,
): string {
  if (outcome.error !== undefined) {
    const e = outcome.error;
    return (
      `<ErrorResponse xmlns="${IAM_NS}"><Error><Type>${e.status >= 500 ? 'Receiver' : 'Sender'}</Type>` +
      `<Code>${renderValue(e.code)}</Code><Message>${renderValue(e.message)}</Message></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`
    );
  }
  const result = outcome.result as XmlNode | undefined;
  const inner = result === undefined ? '' : `<${operation}Result>${renderValue(result)}</${operation}Result>`;
  return `<${operation}Response xmlns="${IAM_NS}">${inner}<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${operation}Response>`;
}

function ec2Body(
  operation: string,
  outcome: { result?: unknown; error?: AwsError },
  requestId: string,
): string {
  const decl = '<?xml version="1.0" encoding="UTF-8"?>\n';
  if (outcome.error !== undefined) {
    const e = outcome.error;
    return `${decl}<Response><Errors><Error><Code>${renderValue(e.code)}</Code><Message>${renderValue(e.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
  }
  return `${decl}<${operation}Response xmlns="${EC2_NS}"><requestId>${requestId}</requestId>${renderValue(outcome.result as XmlNode)}</${operation}Response>`;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function createHttpServer(engine: SimulatorEngine): Server {
  const server = createServer({ keepAlive: true }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        sendJson(res, 413, { message: `request body larger than ${MAX_BODY_BYTES} bytes` });
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      handle(engine, req, res, body).catch((e: unknown) => {
        if (!res.headersSent)
          sendJson(res, 500, { message: `simulator bug: ${(e as Error).stack ?? String(e)}` });
        else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 65_000;
  return server;
}

async function handle(
  engine: SimulatorEngine,
  req: IncomingMessage,
  res: ServerResponse,
  body: string,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://simulator');
  if (url.pathname.startsWith('/_sim/')) {
    admin(engine, req, res, url, body);
    return;
  }
  const latency = engine.config.faults.latency;
  if (latency.fixedMs > 0 || latency.jitterMs > 0)
    await sleep(latency.fixedMs + Math.random() * latency.jitterMs);

  const scope = credentialScope(req);
  const caller = callerOf(req, scope.accessKeyId);
  const requestId = randomUUID();
  const target = header(req, 'x-amz-target');
  if (target !== undefined) {
    const operation = target.startsWith('AppRunner.') ? target.slice('AppRunner.'.length) : target;
    let input: Record<string, unknown>;
    try {
      const parsed: unknown = body.trim() === '' ? {} : JSON.parse(body);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
        throw new Error('not an object');
      input = parsed as Record<string, unknown>;
    } catch {
      const e = new AwsError('SerializationException', 400, 'Request body is not a JSON object.');
      send(
        res,
        400,
        'application/x-amz-json-1.0',
        JSON.stringify({ __type: e.code, Message: e.message }),
        requestId,
      );
      return;
    }
    const outcome = engine.call(
      'apprunner',
      target.startsWith('AppRunner.') ? appRunnerHandlers[operation] : undefined,
      operation,
      input,
      input,
      scope.region ?? 'us-east-1',
      caller,
      scope.accessKeyId,
      requestId,
    );
    const payload =
      outcome.error !== undefined
        ? { __type: outcome.error.code, Message: outcome.error.message }
        : outcome.result;
    send(res, outcome.status, 'application/x-amz-json-1.0', JSON.stringify(payload), requestId);
    return;
  }

  const form: Record<string, string> = Object.fromEntries(new URLSearchParams(body));
  for (const [k, v] of url.searchParams) form[k] ??= v;
  const protocol: Protocol | undefined =
    scope.service === 'iam' || scope.service === 'ec2'
      ? scope.service
      : form.Version === '2010-05-08'
        ? 'iam'
        : form.Version === '2016-11-15'
          ? 'ec2'
          : undefined;
  if (protocol === undefined) {
    sendJson(res, 400, {
      message:
        'Unrecognised request: expected X-Amz-Target: AppRunner.<Op>, or a form body for IAM (Version=2010-05-08) or EC2 (Version=2016-11-15).',
    });
    return;
  }
  const operation = form.Action ?? '';
  const params: Record<string, string> = { ...form };
  delete params.Action;
  delete params.Version;
  const handlers = protocol === 'iam' ? iamHandlers : ec2Handlers;
  const outcome = engine.call<QueryInput>(
    protocol,
    handlers[operation],
    operation,
    params,
    params,
    protocol === 'iam' ? 'us-east-1' : (scope.region ?? 'us-east-1'),
    caller,
    scope.accessKeyId,
    requestId,
  );
  const xml =
    protocol === 'iam' ? iamBody(operation, outcome, requestId) : ec2Body(operation, outcome, requestId);
  send(res, outcome.status, 'text/xml', xml, requestId);
}

function admin(
  engine: SimulatorEngine,
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: string,
): void {
  const route = `${req.method ?? 'GET'} ${url.pathname.replace(/\/$/, '')}`;
  const parse = (): unknown => (body.trim() === '' ? {} : JSON.parse(body));
  try {
    switch (route) {
      case 'GET /_sim/calls': {
        sendJson(res, 200, { calls: engine.calls(Number(url.searchParams.get('since') ?? 0)) });
        return;
      }
      case 'GET /_sim/state': {
        sendJson(res, 200, engine.state());
        return;
      }
      case 'GET /_sim/violations': {
        sendJson(res, 200, { violations: engine.world.violations });
        return;
      }
      case 'GET /_sim/config': {
        sendJson(res, 200, { config: engine.config });
        return;
      }
      case 'POST /_sim/faults': {
        const replace = url.searchParams.get('mode') === 'replace';
        sendJson(res, 200, { config: engine.applyFaults(parse() as SimulatorConfig, replace) });
        return;
      }
      case 'POST /_sim/reset':
        engine.reset(url.searchParams.get('seed') === 'initial');
        {
          sendJson(res, 200, { reset: true });
          return;
        }
      case 'POST /_sim/seed': {
        sendJson(res, 200, engine.seed(parse() as SeedDocument));
        return;
      }
      default: {
        sendJson(res, 404, {
          message: `Unknown admin route ${route}. Routes: GET /_sim/calls[?since=N], GET /_sim/state, GET /_sim/violations, GET /_sim/config, POST /_sim/faults[?mode=replace], POST /_sim/reset[?seed=initial], POST /_sim/seed.`,
        });
        return;
      }
    }
  } catch (e) {
    sendJson(res, 400, {
      message: e instanceof AwsError ? `${e.code}: ${e.message}` : (e as Error).message,
    });
    return;
  }
}
