// The chaos run's report as Markdown: printed after every run, written to docs/chaos.md for the long one.
import type { ChaosReport, Durations } from './runner.ts';

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const durations = (d: Durations): string =>
  d.count === 0
    ? 'none'
    : `${seconds(d.p50)} / ${seconds(d.p90)} / ${seconds(d.p99)} / ${seconds(d.max)} (n = ${d.count})`;

/** How the faults are made and what is checked; the same for every run. */
const method = [
  '- **Workload.** VpcConnectors and ServiceNetworkings (one per seeded App Runner service, attaching shared',
  '  connectors by reference) are created, rotated (subnets or security groups changed, updatePolicy Rotate),',
  '  re-pointed, detached and deleted in random overlapping order, one change every fraction of a second.',
  '- **Random kills.** The operator process gets SIGKILL at a random instant after it started and is started',
  '  again after a random pause, in every phase but the failover and the settle phases.',
  '- **Kills between an AWS mutation and its status write.** A loopback proxy between the operator and the',
  '  simulator, when armed, forwards the next mutating call, waits for the simulator to answer (the change is',
  '  in AWS), then kills the operator and drops the answer: the process can never record the call. This hits',
  '  the exact window, where watching the audit log would race the operator.',
  '- **AWS faults** are set per phase through `POST /_sim/faults` (the simulator counts what it answered):',
  '  random throttling and 500s, latency, the pessimistic profile (lagging lists, describes and tags,',
  '  asynchronous deletes, in-use linger), operations stuck IN_PROGRESS and rolled back, AccessDenied (a',
  '  caller policy denying CreateVpcConnector and UpdateService), the connector quota, failed role deletions.',
  '- **Kubernetes faults.** The operator reaches the API server through a loopback proxy that cuts every',
  '  watch stream after a random lifetime and answers 409 Conflict to a share of its writes to the two kinds',
  '  (the conflict a competing writer causes, without one); the kube-apiserver itself is stopped and started',
  '  again mid-run (etcd keeps the data, the port and certificates stay).',
  '- **Failover.** Two replicas with leader election on one Lease, each with its own AWS access key so the',
  '  audit log attributes every call; the leader is killed repeatedly and restarted as a follower.',
  '- **End.** Faults cleared; Stalled objects edited as a human would (a ServiceNetworking pointed at',
  '  DEFAULT, a connector given a new tag); every object must be Ready within the settle bound. Then',
  '  everything is deleted in random order, with the role deletion failing at first and kills going on, and',
  '  everything must be gone within the teardown bound.',
  '- **Checks** (test/chaos/invariants.ts): no DeleteVpcConnector while a service uses the connector (the',
  "  simulator's operation history gives each service's connectors at any instant); no role deletion while a",
  '  connector exists; never two ACTIVE connectors with one configuration for one object, never more than',
  '  two, none left behind; ownership tags on every create; no operation started while another ran on the',
  '  service; no ServiceNetworking Ready on a failed operation (sampled every second against the',
  '  simulator); the mutation windows of two replicas never overlap; `GET /_sim/violations` empty; the bounds.',
];

export function renderReport(r: ChaosReport, machine: string): string {
  const lines: string[] = [];
  const row = (...cells: (string | number)[]): void => {
    lines.push(`| ${cells.join(' | ')} |`);
  };
  lines.push(`# Chaos run: ${r.profile} profile`, '');
  lines.push(
    `Run ${r.startedAt} on ${machine}; seed ${r.seed}; ${seconds(r.durationMs)}. ` +
      `Reproduce with \`npm run chaos -- --profile ${r.profile} --seed ${r.seed}\` (the schedule is the seed's; ` +
      'process timing on a loaded machine is not). How strong the unit tests under these runs are: ' +
      '[mutation testing](mutation.md).',
    '',
  );
  lines.push('| Figure | Value |', '| --- | --- |');
  row('Invariant violations', r.violations.length);
  row(
    'Operator kills survived',
    `${r.kills.total}: ${r.kills.random} at random instants, ${r.kills.betweenCallAndWrite} between an AWS mutation and its status write, ${r.kills.leader} of the leader`,
  );
  const after = Object.entries(r.killedAfter)
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');
  row('Mutations the between-call-and-write kills followed', after === '' ? 'none' : after);
  row(
    'Objects',
    `${r.objects.connectors} VpcConnectors and ${r.objects.serviceNetworkings} ServiceNetworkings created; ${r.objects.workloadOperations} workload changes (create, rotate, attach, detach, delete)`,
  );
  row(
    'Ready after a change: p50 / p90 / p99 / max (changes undone or deleted first are not counted)',
    durations(r.convergence.ready),
  );
  row(
    'Gone after a delete: p50 / p90 / p99 / max (a connector waits while a ServiceNetworking still references it)',
    durations(r.convergence.deleted),
  );
  row(
    'Every object Ready after the faults were cleared',
    `${seconds(r.convergence.settleMs)} (bound ${seconds(r.boundsMs.settle)})`,
  );
  row(
    'Everything gone after the final deletion (kills continuing)',
    `${seconds(r.convergence.teardownMs)} (bound ${seconds(r.boundsMs.teardown)})`,
  );
  row(
    'AWS calls by the operator',
    `${r.awsCalls.total} (${r.awsCalls.mutating} mutating): ${r.awsCalls.perObject.toFixed(1)} per object, ${r.awsCalls.mutatingPerObject.toFixed(1)} mutating per object`,
  );
  row('Calls answered with a throttle or a 5xx, then retried', r.awsCalls.failedAndRetried);
  row(
    'Failover: leader SIGKILL to "Became leader" (lease 15 s)',
    r.failovers.length === 0 ? 'none' : r.failovers.map((f) => seconds(f.takeoverMs)).join(', '),
  );
  row(
    "Failover: leader SIGKILL to the new leader's first AWS call",
    r.failovers.length === 0
      ? 'none'
      : r.failovers.map((f) => (f.firstCallMs === undefined ? 'none' : seconds(f.firstCallMs))).join(', '),
  );
  row(
    'kube-apiserver restarts (unavailable for)',
    r.apiServerDowntimeMs.length === 0 ? 'none' : r.apiServerDowntimeMs.map(seconds).join(', '),
  );
  lines.push('', '## Faults injected', '', '| Kind | Count |', '| --- | --- |');
  for (const [kind, n] of Object.entries(r.faults).sort()) row(kind, n);
  lines.push('', '## Phases', '', '| Phase | Faults | Duration |', '| --- | --- | --- |');
  for (const p of r.phases) row(p.name, p.faults, seconds(p.ms));
  lines.push('', '## AWS calls by operation', '', '| Operation | Calls |', '| --- | --- |');
  for (const [op, n] of Object.entries(r.awsCalls.byOperation).sort((a, b) => b[1] - a[1])) row(op, n);
  lines.push('', '## How the run works', '', ...method, '');
  lines.push('## Violations', '');
  if (r.violations.length === 0) lines.push('None.');
  for (const v of r.violations) lines.push(`- **${v.invariant}**: ${v.detail}`);
  lines.push('');
  return lines.join('\n');
}
