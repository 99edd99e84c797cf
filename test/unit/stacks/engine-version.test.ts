import * as fs from 'fs';
import * as path from 'path';
import { removeDir, tempDir } from '../../support/pki';

// GIVEN a stack with many terraform_data resources (a step per downstream
// cluster), WHEN the app synthesizes, THEN `terraform version` runs once, not
// once per resource, and a too-old engine is still refused.
describe('runEngineVersionChecksOnce', () => {
  let dir: string;
  beforeEach(() => { dir = tempDir('engine-version-'); });
  afterEach(() => {
    delete process.env.TERRAFORM_BINARY_NAME;
    removeDir(dir);
  });

  /**
   * cdktf and the patch, loaded afresh with a fake engine that prints `version` and
   * counts its calls. (cdktf reads TERRAFORM_BINARY_NAME when it loads; child
   * processes do not see a PATH changed inside a jest test, an absolute path they do.)
   */
  function withFakeEngine(version: string): { calls: string; synth: (resources: number) => void; once: () => void } {
    const calls = path.join(dir, 'calls');
    const binary = path.join(dir, 'terraform');
    fs.writeFileSync(binary, `#!/bin/sh\necho x >> '${calls}'\necho 'Terraform v${version}'\n`, { mode: 0o755 });
    process.env.TERRAFORM_BINARY_NAME = binary;
    let loaded: any;
    jest.isolateModules(() => {
      loaded = {
        cdktf: require('cdktf'),
        DataResource: require('cdktf/lib/terraform-data-resource').DataResource,
        once: require('../../../stacks/engine-version').runEngineVersionChecksOnce,
      };
    });
    const synth = (resources: number) => {
      const app = new loaded.cdktf.App({ outdir: path.join(dir, 'out') });
      const stack = new loaded.cdktf.TerraformStack(app, 's');
      for (let i = 0; i < resources; i++) new loaded.DataResource(stack, `step-${i}`, { input: { i } });
      app.synth();
    };
    return { calls, synth, once: loaded.once };
  }
  const count = (calls: string) => (fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8').trim().split('\n').length : 0);

  test('without it cdktf runs terraform version per resource; with it once for 40 resources', () => {
    const before = withFakeEngine('1.14.1');
    before.synth(5);
    expect(count(before.calls)).toBe(5);

    fs.rmSync(before.calls);
    const after = withFakeEngine('1.14.1');
    after.once();
    after.once(); // a second call patches nothing twice
    after.synth(40);
    expect(count(after.calls)).toBe(1);
  });

  test('an engine older than cdktf asks for still fails synth with its message', () => {
    const e = withFakeEngine('1.3.0');
    e.once();
    expect(() => e.synth(3)).toThrow(/terraform version 1\.3\.0 is lower than the required version >=1\.4/);
    expect(count(e.calls)).toBe(1);
  });
});
