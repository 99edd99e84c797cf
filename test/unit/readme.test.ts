import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';

// The README's TypeScript examples compile against the library as it is: the
// first is a whole program, the others are fragments that use its names.
const ROOT = path.resolve(__dirname, '../..');

describe('README examples', () => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);

  test('there is one example per construct section', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6);
  });

  test('every example type-checks in strict mode', () => {
    const [program, ...fragments] = blocks;
    const imports = program.split('\n').filter((l) => l.startsWith('import '));
    const body = program.split('\n').filter((l) => !l.startsWith('import ')).join('\n');
    const source = [
      ...imports,
      'import { RancherIngressCertificate, RancherCaSecret, RancherHelmValues, CacertsGate, AgentCaChecksum, RolloutRestart, Rke2CertificateRotation, RkeCertificateRotation, RancherContainerCertificateRotation, RancherClusterCertificateRotation, KubeadmCaRotation, KubeadmCertificateRenewal, rancherAgents, StepTarget } from "./lib";',
      body,
      'declare const server: StepTarget;',
      'declare const prodEu: StepTarget;',
      'declare const trustHash: string;',
      ...fragments.map((f, i) => `function fragment${i}() {\n${f}}`),
      `void [${fragments.map((_, i) => `fragment${i}`).join(', ')}];`,
    ].join('\n');
    const dir = fs.mkdtempSync(path.join(ROOT, '.readme-check-'));
    const file = path.join(dir, 'example.ts');
    try {
      fs.writeFileSync(file, source.replace(/"\.\/lib"|'\.\/lib'/g, "'../lib'").replace(/'\.\/stacks\//g, "'../stacks/"));
      const prog = ts.createProgram([file], {
        strict: true, noEmit: true, esModuleInterop: true, skipLibCheck: true,
        target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, types: ['node'],
      });
      const diagnostics = ts.getPreEmitDiagnostics(prog).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
      expect(diagnostics).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
