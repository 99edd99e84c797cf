/**
 * Validity periods at an injected time, and the durations that configure them.
 */
import { isoSeconds } from '../contract';
import type { CertificateInfo } from './certificate';
import { DurationFormatError } from './errors';

/** One day in milliseconds. */
export const DAY_MS = 24 * 60 * 60 * 1000;

/** Where a certificate stands at a given time. */
export type ValidityStatus = 'valid' | 'renew' | 'expired' | 'not-yet-valid';

/** Options of {@link checkValidity}. */
export interface ValidityOptions {
  /** The time of the check. Always injected; this library never reads the clock. */
  readonly now: Date;
  /** How long before `notAfter` a certificate is due for renewal, in milliseconds. */
  readonly renewBefore: number;
}

/** The result of {@link checkValidity}. */
export interface Validity {
  /**
   * `not-yet-valid` before `notBefore`; `expired` after `notAfter`; `renew`
   * when `notAfter` is at most `renewBefore` away; else `valid`.
   */
  readonly status: ValidityStatus;
  /** Whole days from `now` to `notAfter`, rounded down (negative once expired). */
  readonly daysLeft: number;
}

/**
 * Where a certificate stands at `now`. Both ends of the validity period are
 * inclusive (RFC 5280 §4.1.2.5).
 */
export function checkValidity(cert: Pick<CertificateInfo, 'notBefore' | 'notAfter'>, options: ValidityOptions): Validity {
  const now = options.now.getTime();
  const left = cert.notAfter.getTime() - now;
  const daysLeft = Math.floor(left / DAY_MS);
  if (now < cert.notBefore.getTime()) {
    return { status: 'not-yet-valid', daysLeft };
  }
  if (left < 0) {
    return { status: 'expired', daysLeft };
  }
  if (left <= options.renewBefore) {
    return { status: 'renew', daysLeft };
  }
  return { status: 'valid', daysLeft };
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: DAY_MS,
  w: 7 * DAY_MS,
};

/**
 * Reads a duration such as `28d`, `90d`, `12h`, `2w`, `30m`, `45s` or `500ms`
 * into milliseconds.
 *
 * @param value a whole number followed by one of `ms`, `s`, `m`, `h`, `d`, `w`
 * @param field the setting the value came from, for the error message (default `renewBefore`)
 * @throws DurationFormatError naming the field and the value
 */
export function parseDuration(value: string, field: string = 'renewBefore'): number {
  const m = /^\s*(\d+)\s*(ms|s|m|h|d|w)\s*$/.exec(String(value));
  if (!m) {
    throw new DurationFormatError(field, String(value));
  }
  const ms = Number(m[1]) * UNITS[m[2]];
  if (!Number.isSafeInteger(ms)) {
    throw new DurationFormatError(field, String(value));
  }
  return ms;
}

/** Formats milliseconds as days for messages: `28`, `0.5`. */
export function formatDays(ms: number): string {
  return String(Math.round((ms / DAY_MS) * 100) / 100);
}

/** ISO 8601 UTC to the second, e.g. `2027-01-31T00:00:00Z`. */
export const formatIsoSeconds: (date: Date) => string = isoSeconds;
