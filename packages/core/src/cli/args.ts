// Argument handling shared by the CLIs: `--help` prints usage and exits 0;
// anything else they cannot use prints what is wrong and the usage to stderr
// and exits 2, before any connection is opened.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Prints the problem and the usage to stderr and exits 2 (the shell's "bad usage"). */
export function usageError(usage: string, problem: string): never {
  console.error(`${problem}\n\n${usage}`);
  process.exit(2);
}

type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

/** Strict parse of `argv` (the process's arguments by default); `--help`/`-h` anywhere wins over everything else. */
export function parseCli<O extends Options>(usage: string, options: O, argv: string[] = process.argv.slice(2)): Parsed<O> {
  const { values } = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: false });
  if (values.help === true) {
    console.log(usage);
    process.exit(0);
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs explains itself ("Unknown option '--x'"); its stack trace helps nobody at a terminal.
    return usageError(usage, (err as Error).message);
  }
}
