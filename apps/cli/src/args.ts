// Command-line flags: parsed by commander (per-command --help with every flag, its default and
// examples; an unknown flag is an error), then checked by zod, so a wrong value says which flag,
// what was wrong and what was expected.
import { Command, CommanderError, Option } from 'commander';
import { z } from 'zod';

export class UsageError extends Error {
  /** The command whose usage a person should read (`npm start -- --help`). */
  constructor(
    message: string,
    readonly helpCommand?: string,
  ) {
    super(message);
  }
}

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** The default as the person would type it (shown in --help). */
  default?: string | boolean;
  description: string;
  /** The value's name in --help: --devices <n>. Default: value. */
  placeholder?: string;
  /** An environment variable read when the flag is absent (its value is never shown in --help). */
  env?: string;
}

export interface CommandHelp {
  /** How it is run: `npm start --`, `npm run simulate --`. */
  usage: string;
  summary: string;
  examples: string[];
}

/** A whole number from min to max, from a flag's text; "abc", "1.5" and "" get a message saying what was expected. */
export function wholeNumber(min: number, max: number) {
  const expected = `a whole number from ${min} to ${max}`;
  return z
    .string()
    .refine((text) => /^-?\d+$/.test(text.trim()), { error: (issue) => `expected ${expected}, got "${String(issue.input)}"` })
    .transform(Number)
    .refine((n) => n >= min && n <= max, { error: (issue) => `expected ${expected}, got ${String(issue.input)}` });
}

/** A comma-separated list of names from `allowed`. */
export function nameList<T extends string>(allowed: readonly [T, ...T[]]) {
  return z
    .string()
    .transform((text) => text.split(',').map((s) => s.trim()).filter(Boolean))
    .pipe(z.array(z.enum(allowed, { message: `expected names from ${allowed.join(', ')}, separated by commas` })).min(1, 'expected at least one name'));
}

/** A comma-separated list of distinct seeds (integers in 0..2^31-1). */
export const seedList = z
  .string()
  .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'expected whole-number seeds separated by commas, e.g. 1,2,3')
  .transform((text) => text.split(',').map((s) => s.trim()).filter(Boolean).map(Number))
  .pipe(
    z
      .array(z.number().int().min(0).max(2 ** 31 - 1, 'expected seeds below 2^31'))
      .min(1, 'expected at least one seed')
      .refine((xs) => new Set(xs).size === xs.length, { error: 'expected distinct seeds' }),
  );

/** Parses argv for one command. Returns null when --help was asked for (and printed). */
export function parseFlags<T>(argv: string[], flags: Record<string, FlagSpec>, schema: z.ZodType<T>, help: CommandHelp): T | null {
  const command = new Command()
    .name(help.usage)
    .description(help.summary)
    .helpOption('-h, --help', 'show this help')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined })
    .allowExcessArguments(false)
    .addHelpText('after', `\nExamples:\n${help.examples.map((e) => `  ${e}`).join('\n')}\n`);
  for (const [name, spec] of Object.entries(flags)) {
    const option =
      spec.type === 'boolean'
        ? new Option(`--${name}`, spec.description)
        : new Option(`--${name} <${spec.placeholder ?? 'value'}>`, spec.env ? `${spec.description} (env ${spec.env})` : spec.description);
    // --no-x flags stay false unless given; commander would otherwise read them as "x defaults to true".
    if (spec.type === 'boolean' && name.startsWith('no-')) option.default(true, 'off');
    else if (spec.default !== undefined && spec.default !== '') option.default(spec.default);
    command.addOption(option);
  }
  try {
    command.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help') return null;
      throw new UsageError(error.message.replace(/^error: /, ''), help.usage);
    }
    throw error;
  }
  const opts = command.opts() as Record<string, unknown>;
  const values: Record<string, unknown> = {};
  for (const option of command.options) {
    const name = option.long?.replace(/^--/, '') ?? '';
    if (!name || name === 'help') continue;
    const given = opts[option.attributeName()];
    const fromEnv = flags[name]?.env ? process.env[flags[name].env!] : undefined;
    const value = given ?? (fromEnv === '' ? undefined : fromEnv);
    if (name.startsWith('no-')) values[name] = value === false;
    else if (value !== undefined) values[name] = flags[name]?.type === 'boolean' ? value === true : value;
    else if (flags[name]?.type === 'boolean') values[name] = false;
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `--${issue.path.map(String).join('.')}: ${issue.message}`);
    throw new UsageError(problems.join('\n       '), help.usage);
  }
  return parsed.data;
}
