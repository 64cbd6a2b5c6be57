import { parseOptions, type OptionSpecs, type OptionValues } from './args.js';

/**
 * Arguments of a subcommand that takes positional arguments besides its options (such as
 * `sluice streams describe <name>`): the positionals are taken out, the rest is parsed
 * against the options table as every command's options are.
 */
export function parseWithPositionals<T extends OptionSpecs>(
  specs: T,
  argv: readonly string[],
): { positionals: string[]; options: OptionValues<T> } {
  const positionals: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    // `-` alone is a file name: standard input.
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    rest.push(arg);
    const name = arg.slice(2);
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    // A string option's value is the next argument (parseOptions checks it is one).
    if (spec?.type === 'string' && i + 1 < argv.length) rest.push(argv[(i += 1)] as string);
  }
  return { positionals, options: parseOptions(specs, rest) };
}
