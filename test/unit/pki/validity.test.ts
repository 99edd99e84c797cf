import { checkValidity, DurationFormatError, formatDays, formatIsoSeconds, parseDuration } from '../../../lib/pki';

const DAY = 24 * 60 * 60 * 1000;

describe('checkValidity', () => {
  const cert = {
    notBefore: new Date('2025-01-01T00:00:00Z'),
    notAfter: new Date('2025-04-01T00:00:00Z'),
  };
  const renewBefore = 28 * DAY;

  test.each([
    ['2024-12-31T23:59:59Z', 'not-yet-valid', 90],
    ['2025-01-01T00:00:00Z', 'valid', 90],
    ['2025-03-01T00:00:00Z', 'valid', 31],
    ['2025-03-03T23:59:59Z', 'valid', 28],
    ['2025-03-04T00:00:00Z', 'renew', 28],
    ['2025-03-31T12:00:00Z', 'renew', 0],
    ['2025-04-01T00:00:00Z', 'renew', 0],
    ['2025-04-01T00:00:01Z', 'expired', -1],
    ['2025-04-11T00:00:01Z', 'expired', -11],
  ] as const)('GIVEN now=%s WHEN checked THEN status %s with %d days left', (now, status, daysLeft) => {
    expect(checkValidity(cert, { now: new Date(now), renewBefore })).toEqual({ status, daysLeft });
  });

  test('GIVEN renewBefore 0 WHEN checked on the last second THEN renew, not valid', () => {
    expect(checkValidity(cert, { now: new Date('2025-04-01T00:00:00Z'), renewBefore: 0 }).status).toBe('renew');
    expect(checkValidity(cert, { now: new Date('2025-03-31T23:59:59Z'), renewBefore: 0 }).status).toBe('valid');
  });

  test('GIVEN a renew window longer than the lifetime WHEN checked after notBefore THEN renew', () => {
    expect(checkValidity(cert, { now: new Date('2025-01-02T00:00:00Z'), renewBefore: 365 * DAY }).status).toBe('renew');
  });
});

describe('parseDuration', () => {
  test.each([
    ['28d', 28 * DAY],
    ['90d', 90 * DAY],
    ['12h', 12 * 60 * 60 * 1000],
    ['2w', 14 * DAY],
    ['30m', 30 * 60 * 1000],
    ['45s', 45 * 1000],
    ['500ms', 500],
    ['0d', 0],
    [' 7d ', 7 * DAY],
  ])('parseDuration(%j) is %d ms', (value, ms) => {
    expect(parseDuration(value)).toBe(ms);
  });

  test.each(['', '28', 'd', '28 days', '-1d', '1.5d', '1y', '28D', '1h30m', '99999999999999999w'])(
    'GIVEN %j WHEN parsed THEN the error names the field and the value',
    (value) => {
      let error: unknown;
      try {
        parseDuration(value);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(DurationFormatError);
      const e = error as DurationFormatError;
      expect(e.value).toBe(value);
      expect(e.field).toBe('renewBefore');
      expect(e.message).toBe(
        `'renewBefore' (${JSON.stringify(value)}) is not a duration; use a whole number followed by ms, s, m, h, d or w, e.g. "28d" or "12h".`,
      );
    },
  );

  test('GIVEN a field name WHEN the value is bad THEN the message uses it', () => {
    expect(() => parseDuration('soon', 'rancher.certificate.renewBefore')).toThrow(
      /^'rancher\.certificate\.renewBefore' \("soon"\) is not a duration/,
    );
  });
});

describe('formatting helpers', () => {
  test('formatIsoSeconds drops milliseconds', () => {
    expect(formatIsoSeconds(new Date('2025-03-01T00:00:00.000Z'))).toBe('2025-03-01T00:00:00Z');
  });

  test('formatDays gives whole or two-decimal days', () => {
    expect(formatDays(28 * DAY)).toBe('28');
    expect(formatDays(12 * 60 * 60 * 1000)).toBe('0.5');
    expect(formatDays(DAY / 3)).toBe('0.33');
  });
});
