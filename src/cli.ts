// Command-line entry point: `apprunner-net <command>`. Each command lives in its own module.
const usage = `usage: apprunner-net <command> [flags]

commands:
  run        start the operator
  simulate   start the local App Runner / IAM / EC2 simulator
`;

const [command] = process.argv.slice(2);
switch (command) {
  case undefined:
  case '-h':
  case '--help':
    process.stdout.write(usage);
    break;
  case 'run': {
    const { main } = await import('./operator.ts');
    // The operator has shut down (or lost its lease): end now, whatever handle a library still holds.
    const code = await main(process.argv.slice(3));
    process.exit(code);
    break;
  }
  case 'simulate': {
    const { main } = await import('./simulator/cli.ts');
    process.exitCode = await main(process.argv.slice(3));
    break;
  }
  default:
    process.stderr.write(`apprunner-net: unknown command "${command}"\n\n${usage}`);
    process.exitCode = 2;
}
