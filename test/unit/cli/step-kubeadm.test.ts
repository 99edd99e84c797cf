import { phaseRefusal } from '../../../lib/cli/step/kubeadm';

const CA = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

describe('kubeadm-phase gate: phaseRefusal', () => {
  test('a cluster with no rotation recorded takes trust-both only', () => {
    expect(phaseRefusal(undefined, 'trust-both', CA)).toBeUndefined();
    expect(phaseRefusal(undefined, 'switch', CA)).toMatch(/^phase 'switch' would skip 'trust-both': .*does not exist\)\. Nothing was written\. Set phase: 'trust-both'/);
    expect(phaseRefusal(undefined, 'drop-old', CA)).toMatch(/would skip 'trust-both'/);
  });

  test('the same phase again and the next phase run; a skipped or earlier one is refused', () => {
    expect(phaseRefusal({ phase: 'trust-both', caSha256: CA }, 'trust-both', CA)).toBeUndefined();
    expect(phaseRefusal({ phase: 'trust-both', caSha256: CA }, 'switch', CA)).toBeUndefined();
    expect(phaseRefusal({ phase: 'switch', caSha256: CA }, 'drop-old', CA)).toBeUndefined();
    expect(phaseRefusal({ phase: 'trust-both', caSha256: CA }, 'drop-old', CA)).toMatch(/^phase 'drop-old' would skip 'switch': the cluster finished phase 'trust-both'.*Set phase: 'switch'/);
    expect(phaseRefusal({ phase: 'switch', caSha256: CA }, 'trust-both', CA)).toMatch(/^phase 'trust-both' would go back: the cluster already finished phase 'switch'.*set phase: 'drop-old'/);
    expect(phaseRefusal({ phase: 'drop-old', caSha256: CA }, 'switch', CA)).toMatch(/would go back/);
  });

  test('another CA: a new rotation starts only after drop-old, with trust-both', () => {
    expect(phaseRefusal({ phase: 'drop-old', caSha256: OTHER }, 'trust-both', CA)).toBeUndefined();
    expect(phaseRefusal({ phase: 'drop-old', caSha256: OTHER }, 'switch', CA)).toMatch(/would skip 'trust-both': the cluster finished the rotation to CA bbbbbbbbbbbb/);
    expect(phaseRefusal({ phase: 'switch', caSha256: OTHER }, 'trust-both', CA)).toMatch(/in the middle of a rotation to another CA \(bbbbbbbbbbbb…, phase 'switch' done\)/);
  });

  test('an unknown recorded phase is named', () => {
    expect(phaseRefusal({ phase: 'half', caSha256: CA }, 'switch', CA)).toMatch(/holds phase 'half', which is not a phase/);
  });
});
