// For scripts that take only the environment: --help prints the usage (exit 0),
// any argument prints it to stderr (exit 2), before anything starts.
export function takeNoArguments(usage, args = process.argv.slice(2)) {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    process.exit(0);
  }
  if (args.length > 0) {
    console.error(`Unexpected argument: ${args[0]}\n\n${usage}`);
    process.exit(2);
  }
}
