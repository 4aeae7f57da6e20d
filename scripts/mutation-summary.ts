// Prints the mutation score table of docs/mutation.md from Stryker JSON reports (mutation-testing-report
// schema), per file and per directory, as Stryker counts: score = (killed + timeout) / (killed + timeout +
// survived + no coverage); the covered score leaves out no coverage; ignored mutants (static, or disabled)
// and mutants that crash at import count in neither. Later reports win for a file present in several.
//
//   node scripts/mutation-summary.ts reports/mutation/rest.json reports/mutation/vcm.json
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';

interface Mutant {
  status: string;
}
interface Report {
  files: Record<string, { mutants: Mutant[] }>;
}

interface Counts {
  mutants: number;
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  ignored: number;
  other: number;
}

const empty = (): Counts => ({
  mutants: 0,
  killed: 0,
  timeout: 0,
  survived: 0,
  noCoverage: 0,
  ignored: 0,
  other: 0,
});

function count(mutants: readonly Mutant[]): Counts {
  const c = empty();
  for (const m of mutants) {
    c.mutants++;
    if (m.status === 'Killed') c.killed++;
    else if (m.status === 'Timeout') c.timeout++;
    else if (m.status === 'Survived') c.survived++;
    else if (m.status === 'NoCoverage') c.noCoverage++;
    else if (m.status === 'Ignored') c.ignored++;
    else c.other++;
  }
  return c;
}

function add(a: Counts, b: Counts): Counts {
  return {
    mutants: a.mutants + b.mutants,
    killed: a.killed + b.killed,
    timeout: a.timeout + b.timeout,
    survived: a.survived + b.survived,
    noCoverage: a.noCoverage + b.noCoverage,
    ignored: a.ignored + b.ignored,
    other: a.other + b.other,
  };
}

const percent = (n: number, d: number): string => (d === 0 ? '–' : `${((100 * n) / d).toFixed(1)}%`);

function row(name: string, c: Counts, bold = false): string {
  const detected = c.killed + c.timeout;
  const score = percent(detected, detected + c.survived + c.noCoverage);
  const cells = [
    name,
    c.mutants,
    c.killed,
    c.timeout,
    c.survived,
    c.noCoverage,
    c.ignored,
    c.other,
    bold ? `**${score}**` : score,
    percent(detected, detected + c.survived),
  ];
  return `| ${cells.join(' | ')} |`;
}

const paths = process.argv.slice(2);
if (paths.length === 0) {
  console.error('usage: node scripts/mutation-summary.ts <stryker report.json>...');
  process.exit(2);
}
const files = new Map<string, Counts>();
for (const path of paths) {
  const report = JSON.parse(readFileSync(path, 'utf8')) as Report;
  for (const [file, { mutants }] of Object.entries(report.files)) files.set(file, count(mutants));
}
const directories = new Map<string, Counts>();
for (const [file, c] of files) {
  const top = dirname(file).split('/').slice(0, 2).join('/');
  directories.set(top, add(directories.get(top) ?? empty(), c));
}

console.log(
  '| File | Mutants | Killed | Timeout | Survived | No cov. | Ignored | Crash/other | Score | Covered score |',
);
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const file of [...files.keys()].sort()) console.log(row(`\`${file}\``, files.get(file) ?? empty()));
for (const dir of [...directories.keys()].sort()) {
  console.log(row(`**${dir}/**`, directories.get(dir) ?? empty(), true));
}
