// `apprunner-net run` flags and their environment variables: what each resolves to, and the sentence a bad
// one gets (the CLI prints it with the usage and exits 2).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration, parseRunArgs, UsageError } from '../../../src/run-args.ts';

const required = ['--region', 'eu-west-1', '--cluster-name', 'prod'];

function options(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const parsed = parseRunArgs(argv, { POD_NAMESPACE: 'ops', ...env });
  if (parsed.help) throw new Error('expected options, got --help');
  return parsed.options;
}

void describe('apprunner-net run flags', () => {
  void it('fills every default from the two required flags', () => {
    assert.deepEqual(options(required), {
      region: 'eu-west-1',
      clusterName: 'prod',
      managedRegions: [],
      concurrency: 16,
      resyncPeriodMs: 600_000,
      awsCallTimeoutMs: 20_000,
      reconcileTimeoutMs: 120_000,
      awsReadMaxAgeMs: 30_000,
      appRunnerLimit: { ratePerSecond: 5, burst: 10 },
      iamLimit: { ratePerSecond: 2, burst: 5 },
      leaderElect: false,
      leaderElectNamespace: 'ops',
      leaderElectName: 'apprunner-net',
      serviceLinkedRoleDeletion: 'Never',
      tenancy: 'Namespaced',
      bindAddress: '0.0.0.0',
      healthPort: 8081,
      metricsPort: 8080,
      logLevel: 'info',
    });
  });

  void it('reads each setting from a flag, else its APPRUNNER_NET_ variable, and a flag wins', () => {
    const cases = [
      {
        reason: 'env only',
        argv: [],
        env: { APPRUNNER_NET_REGION: 'us-west-2', APPRUNNER_NET_CLUSTER_NAME: 'staging' },
        expect: { region: 'us-west-2', clusterName: 'staging' },
      },
      {
        reason: 'AWS_REGION is the last fallback for the region',
        argv: ['--cluster-name', 'c'],
        env: { AWS_REGION: 'ap-south-1' },
        expect: { region: 'ap-south-1' },
      },
      {
        reason: 'a flag beats the variable',
        argv: [...required, '--concurrency', '8'],
        env: { APPRUNNER_NET_CONCURRENCY: '2' },
        expect: { concurrency: 8 },
      },
      {
        reason: 'timeouts of one AWS call and of one pass, and how old a shared listing may be',
        argv: [
          ...required,
          '--aws-call-timeout',
          '5s',
          '--reconcile-timeout',
          '1m30s',
          '--aws-read-max-age=0',
        ],
        env: {},
        expect: { awsCallTimeoutMs: 5_000, reconcileTimeoutMs: 90_000, awsReadMaxAgeMs: 0 },
      },
      {
        reason:
          'request budgets for an account whose limits are known, a fractional IAM rate from the environment',
        argv: [...required, '--apprunner-rate-limit', '50', '--apprunner-burst=100', '--iam-burst', '2'],
        env: { APPRUNNER_NET_IAM_RATE_LIMIT: '0.5' },
        expect: {
          appRunnerLimit: { ratePerSecond: 50, burst: 100 },
          iamLimit: { ratePerSecond: 0.5, burst: 2 },
        },
      },
      {
        reason: 'a single-tenant cluster grants every namespace every service',
        argv: [...required, '--tenancy', 'SingleTenant'],
        env: {},
        expect: { tenancy: 'SingleTenant' },
      },
      {
        reason: 'the account whose services may be managed, from the environment',
        argv: required,
        env: { APPRUNNER_NET_AWS_ACCOUNT_ID: '123456789012' },
        expect: { awsAccountId: '123456789012' },
      },
      {
        reason: 'the endpoint points the gateway at the simulator',
        argv: [...required, '--aws-endpoint-url', 'http://127.0.0.1:4566'],
        env: {},
        expect: { awsEndpointUrl: 'http://127.0.0.1:4566' },
      },
      {
        reason: '--no-leader-elect overrides APPRUNNER_NET_LEADER_ELECT=true',
        argv: [...required, '--no-leader-elect'],
        env: { APPRUNNER_NET_LEADER_ELECT: 'true' },
        expect: { leaderElect: false },
      },
      {
        reason: 'leader election from the environment',
        argv: required,
        env: { APPRUNNER_NET_LEADER_ELECT: 'true', APPRUNNER_NET_LEADER_ELECT_NAMESPACE: 'system' },
        expect: { leaderElect: true, leaderElectNamespace: 'system' },
      },
      {
        reason: 'opt-in role deletion, managed regions, watch scope and ports',
        argv: [
          ...required,
          '--service-linked-role-deletion=WhenUnused',
          '--managed-regions',
          'us-east-1, eu-west-1',
          '--namespace',
          'team-a',
          '--health-port',
          '0',
          '--metrics-port=9090',
          '--resync-period',
          '1h30m',
          '--log-level',
          'debug',
        ],
        env: {},
        expect: {
          serviceLinkedRoleDeletion: 'WhenUnused',
          managedRegions: ['us-east-1', 'eu-west-1'],
          namespace: 'team-a',
          healthPort: 0,
          metricsPort: 9090,
          resyncPeriodMs: 5_400_000,
          logLevel: 'debug',
        },
      },
    ];
    for (const c of cases) {
      const actual = options(c.argv, c.env) as unknown as Record<string, unknown>;
      for (const [key, value] of Object.entries(c.expect)) assert.deepEqual(actual[key], value, c.reason);
    }
  });

  void it('refuses bad input with a sentence that names the flag', () => {
    const cases = [
      { reason: 'an unknown flag', argv: [...required, '--regoin', 'x'], message: /--regoin/ },
      { reason: 'no region at all', argv: ['--cluster-name', 'c'], message: /--region .* is required/ },
      {
        reason: 'no cluster name',
        argv: ['--region', 'us-east-1'],
        message: /--cluster-name .* is required/,
      },
      {
        reason: 'not a region',
        argv: ['--region', 'useast1', '--cluster-name', 'c'],
        message: /not an AWS region/,
      },
      {
        reason: 'a role deletion mode that does not exist',
        argv: [...required, '--service-linked-role-deletion', 'Always'],
        message: /Never or WhenUnused/,
      },
      {
        reason: 'a call timeout of zero would mean no bound',
        argv: [...required, '--aws-call-timeout', '0'],
        message: /--aws-call-timeout must be longer than 0/,
      },
      {
        reason: 'a tenancy mode that does not exist',
        argv: [...required, '--tenancy', 'Shared'],
        message: /--tenancy must be Namespaced or SingleTenant/,
      },
      {
        reason: 'an account id that is not 12 digits',
        argv: [...required, '--aws-account-id', '12345'],
        message: /--aws-account-id must be 12 digits/,
      },
      {
        reason: 'a rate of zero would never send a request',
        argv: [...required, '--apprunner-rate-limit', '0'],
        message: /--apprunner-rate-limit must be a number of requests per second above 0/,
      },
      {
        reason: 'a rate that is not a number',
        argv: [...required, '--iam-rate-limit', 'fast'],
        message: /--iam-rate-limit/,
      },
      { reason: 'a burst of zero', argv: [...required, '--iam-burst', '0'], message: /--iam-burst must be/ },
      { reason: 'zero workers', argv: [...required, '--concurrency', '0'], message: /--concurrency must be/ },
      {
        reason: 'a port out of range',
        argv: [...required, '--health-port', '70000'],
        message: /--health-port/,
      },
      {
        reason: 'a duration without a unit',
        argv: [...required, '--resync-period', '10'],
        message: /not a duration/,
      },
      {
        reason: 'a log level klog would use',
        argv: [...required, '--log-level', 'v2'],
        message: /--log-level/,
      },
      {
        reason: 'a malformed endpoint',
        argv: [...required, '--aws-endpoint-url', 'not a url'],
        message: /not a URL/,
      },
      { reason: 'a stray positional', argv: [...required, 'extra'], message: /extra/ },
    ];
    for (const c of cases) {
      assert.throws(
        () => parseRunArgs(c.argv, {}),
        (err) => err instanceof UsageError && c.message.test(err.message),
        c.reason,
      );
    }
  });

  void it('asks for help with -h and --help', () => {
    assert.deepEqual(parseRunArgs(['-h'], {}), { help: true });
    assert.deepEqual(parseRunArgs(['--help'], {}), { help: true });
  });

  void it('reads Go-style durations', () => {
    const cases = [
      { text: '0', ms: 0 },
      { text: '500ms', ms: 500 },
      { text: '30s', ms: 30_000 },
      { text: '2m30s', ms: 150_000 },
      { text: '10h', ms: 36_000_000 },
    ];
    for (const c of cases) assert.equal(parseDuration(c.text), c.ms, c.text);
  });
});
