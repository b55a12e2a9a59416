// Command-line flags: parsed strictly (an unknown flag is an error), then checked by zod, so a
// wrong value says which flag, what was wrong and what was expected.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { z } from 'zod';
import { describeZodError } from '@fedbit/core';

export class UsageError extends Error {}

export function parseFlags<T>(argv: string[], options: NonNullable<ParseArgsConfig['options']>, schema: z.ZodType<T>): T {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Record<string, unknown>;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    const { field, reason } = describeZodError(parsed.error);
    throw new UsageError(`--${field}: ${reason.slice(field.length + 2)}`);
  }
  return parsed.data;
}
