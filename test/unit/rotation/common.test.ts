import { execFileSync } from 'child_process';
import { Testing } from 'cdktf';
import { Construct } from 'constructs';
import { sha256Hex } from '../../../lib/pki';
import { canonicalJson, contentRevision, fieldManagerName, shellQuote } from '../../../lib/rotation';
import { terraformLiteral } from '../../../lib/rotation/common';

describe('contentRevision', () => {
  test('is the first 8 hex digits of sha256 plus one', () => {
    // GIVEN a text WHEN its revision is computed THEN it follows the documented formula
    const text = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(contentRevision(text)).toBe(parseInt(sha256Hex(text).slice(0, 8), 16) + 1);
  });

  test('is at least 1 and an integer, also for content whose hash starts with zeros', () => {
    // GIVEN many different texts WHEN their revisions are computed THEN each is a whole number in [1, 2^32]
    for (let i = 0; i < 2000; i++) {
      const revision = contentRevision(`chain ${i}`);
      expect(Number.isInteger(revision)).toBe(true);
      expect(revision).toBeGreaterThanOrEqual(1);
      expect(revision).toBeLessThanOrEqual(2 ** 32);
    }
  });

  test('changes with the content and only with it', () => {
    expect(contentRevision('a')).toBe(contentRevision('a'));
    expect(contentRevision('a')).not.toBe(contentRevision('b'));
  });
});

describe('terraformLiteral', () => {
  test('escapes what Terraform would evaluate and leaves everything else alone', () => {
    expect(terraformLiteral('rancher-stable/rancher')).toBe('rancher-stable/rancher');
    expect(terraformLiteral('${file("/etc/passwd")}')).toBe('$${file("/etc/passwd")}');
    expect(terraformLiteral('%{ if true }x%{ endif }')).toBe('%%{ if true }x%%{ endif }');
    expect(terraformLiteral('$5 and 100%')).toBe('$5 and 100%');
  });
});

describe('shellQuote', () => {
  test('leaves safe words alone and single-quotes the rest', () => {
    expect(shellQuote('rancher-stable/rancher')).toBe('rancher-stable/rancher');
    expect(shellQuote('ingress.tls.source=secret')).toBe('ingress.tls.source=secret');
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$(rm -rf /)')).toBe("'$(rm -rf /)'");
  });

  test('round-trips hostile arguments through a real shell', () => {
    // GIVEN arguments with quotes, spaces, globs and substitutions
    const args = ["it's", 'a b', '$(echo no)', '`echo no`', '*', 'x;y', 'new\nline', '"', '\\', ''];
    // WHEN a shell prints them one per NUL THEN it prints exactly the originals
    const script = `printf '%s\\0' ${args.map(shellQuote).join(' ')}`;
    const out = execFileSync('sh', ['-c', script]).toString();
    expect(out.split('\0').slice(0, -1)).toEqual(args);
  });
});

describe('canonicalJson', () => {
  test('sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 'x' } })).toBe('{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}');
  });
});

describe('fieldManagerName', () => {
  test('is stable per construct path and differs between paths and purposes', () => {
    Testing.synthScope((scope) => {
      const a = new Construct(scope, 'a');
      const b = new Construct(scope, 'b');
      expect(fieldManagerName(a, 'env')).toBe(fieldManagerName(a, 'env'));
      expect(fieldManagerName(a, 'env')).toBe(fieldManagerName(a.node.path, 'env'));
      expect(fieldManagerName(a, 'env')).not.toBe(fieldManagerName(b, 'env'));
      expect(fieldManagerName(a, 'env')).not.toBe(fieldManagerName(a, 'restart'));
      expect(fieldManagerName(a, 'env')).toMatch(/^cert-rotation-env-[0-9a-f]{10}$/);
    });
  });
});
