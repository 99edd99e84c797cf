import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { guardLocalState, LAST_GOOD_SUFFIX, readState } from '../../lib/local-state';

function stateText(serial: number, lineage = 'lineage-a'): string {
  return JSON.stringify({ version: 4, terraform_version: '1.11.4', serial, lineage, outputs: {}, resources: [{ type: 'terraform_data', name: `s${serial}` }] }, null, 2);
}

describe('guardLocalState: the local state survives a run killed while Terraform wrote it', () => {
  let dir: string;
  let statePath: string;
  const now = new Date('2026-12-02T07:00:00.000Z');

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-state-'));
    statePath = path.join(dir, 'terraform.rancher.tfstate');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const torn = () => fs.readdirSync(dir).filter((f) => f.includes('.torn-'));

  test('no state yet: nothing is written', () => {
    expect(guardLocalState(statePath, now)).toEqual({ action: 'none' });
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test('a readable state is copied to .last-good with mode 0600, and the state is left as it is', () => {
    fs.writeFileSync(statePath, stateText(7));
    expect(guardLocalState(statePath, now)).toEqual({ action: 'snapshot' });
    expect(fs.readFileSync(statePath + LAST_GOOD_SUFFIX, 'utf8')).toBe(stateText(7));
    expect(fs.statSync(statePath + LAST_GOOD_SUFFIX).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(statePath, 'utf8')).toBe(stateText(7));
  });

  test.each([
    ['empty', '', /is empty/],
    ['cut short', stateText(9).slice(0, 120), /is cut short or not JSON \(120 bytes\)/],
    ['JSON that is not a state', '{"hello": 1}', /is JSON but not a Terraform state/],
  ])('a state file that is %s is set aside and the last good state is put back, with a line that says so', (_what, text, problem) => {
    fs.writeFileSync(statePath, stateText(8));
    guardLocalState(statePath, now);
    fs.writeFileSync(statePath, text);
    const report = guardLocalState(statePath, now);
    expect(report.action).toBe('restored');
    expect(report.message).toMatch(problem);
    expect(report.message).toContain(`restored the last readable state (serial 8) from ${statePath}${LAST_GOOD_SUFFIX}`);
    expect(fs.readFileSync(statePath, 'utf8')).toBe(stateText(8));
    expect(torn()).toEqual(['terraform.rancher.tfstate.torn-2026-12-02T07-00-00-000Z']);
    expect(fs.readFileSync(path.join(dir, torn()[0]), 'utf8')).toBe(text);
  });

  test("Terraform's .backup is used when it is newer than the snapshot, but never one of another lineage", () => {
    fs.writeFileSync(statePath + LAST_GOOD_SUFFIX, stateText(3));
    fs.writeFileSync(statePath + '.backup', stateText(5));
    fs.writeFileSync(statePath, '');
    expect(guardLocalState(statePath, now).message).toContain(`(serial 5) from ${statePath}.backup`);

    fs.writeFileSync(statePath + '.backup', stateText(50, 'someone-elses'));
    fs.writeFileSync(statePath, '');
    expect(guardLocalState(statePath, new Date(now.getTime() + 1000)).message).toContain(`(serial 3) from ${statePath}${LAST_GOOD_SUFFIX}`);
  });

  test('a torn state with nothing readable to put back is set aside, and Terraform starts from no state', () => {
    fs.writeFileSync(statePath + '.backup', '');
    fs.writeFileSync(statePath, '{"version": 4, "ser');
    const report = guardLocalState(statePath, now);
    expect(report.action).toBe('set-aside');
    expect(report.message).toMatch(/no readable earlier state: set it aside as .*torn-2026-12-02T07-00-00-000Z; Terraform starts from no state/);
    expect(fs.existsSync(statePath)).toBe(false);
  });

  test('readState names what is wrong', () => {
    expect(readState(path.join(dir, 'missing')).problem).toMatch(/cannot be read \(ENOENT\)/);
  });
});
