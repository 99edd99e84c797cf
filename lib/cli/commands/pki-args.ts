/**
 * Option values the pki subcommands share: whole numbers in a range and
 * durations, each refused with the option, the value and an example.
 */
import { parseDuration } from '../../pki/validity';
import { UsageError } from '../io';

/** A whole number from `min` to `max`, or a UsageError naming the option and `unit`, with `example` (default: 365, or `min`). */
export function wholeNumber(value: string, option: string, min: number, max: number, unit: string, example?: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(n >= min && n <= max)) {
    throw new UsageError(`${option} '${value}' is not a whole number from ${min} to ${max}; pass the ${unit}, e.g. ${option} ${example ?? (min === 1 ? 365 : min)}`);
  }
  return n;
}

/** A duration such as 30d, 2w or 12h in milliseconds, or a UsageError with `example` first among the examples. */
export function durationOption(value: string, option: string, example: string): number {
  try {
    return parseDuration(value, option);
  } catch {
    throw new UsageError(`${option} '${value}' is not a duration; write a number and a unit, e.g. ${example}, 2w or 12h`);
  }
}
