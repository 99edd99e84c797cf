import { X509Certificate } from 'crypto';
import { makePrivateCa } from '../../support/pki';
import { FakeKube, fakeContext } from './support/fake-step-kube';
import { phaseRefusal, runCaBundlesStep, runExtensionAuthPruneStep } from '../../../lib/cli/step/kubeadm';

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

describe('ca-bundles step: extension servers that trust the old cluster CA also trust the new one', () => {
  const oldCa = makePrivateCa('Old cluster CA').root;
  const newCa = makePrivateCa('New cluster CA').root;
  const ownCa = makePrivateCa('Webhook CA').root;
  const b64 = (...pems: string[]) => Buffer.from(pems.join('')).toString('base64');
  const fp = (pem: string) => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
  const VWC = '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations';
  const MWC = '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations';
  const API = '/apis/apiregistration.k8s.io/v1/apiservices';
  const CRD = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

  function cluster(): FakeKube {
    const kube = new FakeKube();
    const put = (list: string, items: any[]) => {
      kube.objects.set(list, { items });
      for (const o of items) kube.objects.set(`${list}/${o.metadata.name}`, o);
    };
    put(VWC, [{
      metadata: { name: 'policy', resourceVersion: '7' },
      webhooks: [
        { name: 'a.example.com', clientConfig: { service: { namespace: 'p', name: 'a' }, caBundle: b64(oldCa.certPem) } },
        { name: 'b.example.com', clientConfig: { service: { namespace: 'p', name: 'b' }, caBundle: b64(ownCa.certPem) } },
      ],
    }]);
    put(MWC, [{ metadata: { name: 'own', resourceVersion: '3' }, webhooks: [{ name: 'c.example.com', clientConfig: { url: 'https://c.example.com', caBundle: b64(ownCa.certPem) } }] }]);
    put(API, [
      { metadata: { name: 'v1beta1.metrics.k8s.io', resourceVersion: '5' }, spec: { service: { namespace: 'kube-system', name: 'metrics' }, caBundle: b64(oldCa.certPem) } },
      { metadata: { name: 'v1.apps', resourceVersion: '1' }, spec: { group: 'apps', version: 'v1' } },
    ]);
    put(CRD, [{ metadata: { name: 'widgets.example.com', resourceVersion: '9' }, spec: { conversion: { strategy: 'Webhook', webhook: { clientConfig: { caBundle: b64(ownCa.certPem, oldCa.certPem) } } } } }]);
    return kube;
  }

  test('adds the new CA where the old one is trusted, leaves the rest, reads back; a second run changes nothing', async () => {
    const kube = cluster();
    const { ctx, lines } = fakeContext(kube);
    const spec = { step: 'ca-bundles' as const, oldCaSha256: fp(oldCa.certPem), addPem: newCa.certPem, fieldManager: 'cert-rotation/test' };
    await runCaBundlesStep(spec, ctx);
    expect(kube.patches.map((p) => [p.path, p.contentType, p.body.metadata.resourceVersion])).toEqual([
      [`${VWC}/policy`, 'application/merge-patch+json', '7'],
      [`${API}/v1beta1.metrics.k8s.io`, 'application/merge-patch+json', '5'],
      [`${CRD}/widgets.example.com`, 'application/merge-patch+json', '9'],
    ]);
    const bundle = (o: any) => Buffer.from(o, 'base64').toString();
    const policy = kube.objects.get(`${VWC}/policy`);
    expect(bundle(policy.webhooks[0].clientConfig.caBundle)).toBe(oldCa.certPem.replace(/\s*$/, '\n') + newCa.certPem.replace(/\s*$/, '\n'));
    expect(policy.webhooks[1].clientConfig.caBundle).toBe(b64(ownCa.certPem));
    expect(bundle(kube.objects.get(`${CRD}/widgets.example.com`).spec.conversion.webhook.clientConfig.caBundle)).toContain(newCa.certPem.trim());
    expect(kube.objects.get(`${MWC}/own`).webhooks[0].clientConfig.caBundle).toBe(b64(ownCa.certPem));
    expect(lines.at(-1)).toMatch(/^3 object\(s\) trust the old CA, 3 changed now; .*Drop the old CA from these bundles once each server presents a certificate from the new CA/);

    // The lists now show the new bundles; a second run patches nothing.
    for (const list of [VWC, API, CRD]) kube.objects.set(list, { items: kube.objects.get(list).items.map((o: any) => kube.objects.get(`${list}/${o.metadata.name}`)) });
    const before = kube.patches.length;
    await runCaBundlesStep(spec, ctx);
    expect(kube.patches.length).toBe(before);
  });

  test('a bundle that another writer puts back to the old CA alone fails the step', async () => {
    const kube = cluster();
    kube.afterPatch = (p, stored) => {
      if (p.endsWith('/policy')) stored.webhooks[0].clientConfig.caBundle = b64(oldCa.certPem);
    };
    const { ctx } = fakeContext(kube);
    await expect(runCaBundlesStep({ step: 'ca-bundles', oldCaSha256: fp(oldCa.certPem), addPem: newCa.certPem, fieldManager: 'f' }, ctx))
      .rejects.toThrow(/ValidatingWebhookConfiguration policy read back with a caBundle that trusts the old CA .* but not the new one: another writer changed it; deploy again/);
  });
});

describe('extension-auth-prune step: retired CAs out of extension-apiserver-authentication', () => {
  const oldCa = makePrivateCa('Old cluster CA').root;
  const newCa = makePrivateCa('New cluster CA').root;
  const oldFp = makePrivateCa('Old front proxy CA').root;
  const newFp = makePrivateCa('New front proxy CA').root;
  const fp = (pem: string) => new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
  const CM = '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication';
  const spec = { step: 'extension-auth-prune' as const, removeSha256: [fp(oldCa.certPem), fp(oldFp.certPem)], fieldManager: 'cert-rotation/test' };

  function cluster(): FakeKube {
    const kube = new FakeKube();
    kube.objects.set(CM, {
      metadata: { name: 'extension-apiserver-authentication', namespace: 'kube-system', resourceVersion: '42' },
      // As the API server merges them: what the ConfigMap held first, then its own.
      data: { 'client-ca-file': oldCa.certPem + newCa.certPem, 'requestheader-client-ca-file': oldFp.certPem + newFp.certPem, 'requestheader-allowed-names': '["front-proxy-client"]' },
    });
    return kube;
  }

  test('takes the old CAs out of both keys, keeps the rest, reads back; a second run writes nothing', async () => {
    const kube = cluster();
    const { ctx, lines } = fakeContext(kube);
    await runExtensionAuthPruneStep(spec, ctx);
    expect(kube.patches.map((p) => [p.contentType, p.body.metadata.resourceVersion, Object.keys(p.body.data).sort()])).toEqual([
      ['application/merge-patch+json', '42', ['client-ca-file', 'requestheader-client-ca-file']],
    ]);
    const data = kube.objects.get(CM).data;
    expect([fp(data['client-ca-file']), fp(data['requestheader-client-ca-file'])]).toEqual([fp(newCa.certPem), fp(newFp.certPem)]);
    expect(data['requestheader-allowed-names']).toBe('["front-proxy-client"]');
    expect(lines.at(-1)).toMatch(/took CA .* out of client-ca-file, requestheader-client-ca-file; aggregated API servers trust the new CA alone/);
    await runExtensionAuthPruneStep(spec, ctx);
    expect(kube.patches.length).toBe(1);
  });

  test('an API server that adds the old CA back (still on the old files) fails the step; a key left empty is refused before writing', async () => {
    const kube = cluster();
    kube.afterPatch = (_p, stored) => {
      stored.data['client-ca-file'] = oldCa.certPem + stored.data['client-ca-file'];
    };
    await expect(runExtensionAuthPruneStep(spec, fakeContext(kube).ctx)).rejects.toThrow(/read back with a retired CA in client-ca-file: an API server still runs with the old CA/);
    const only = cluster();
    only.objects.get(CM).data['client-ca-file'] = oldCa.certPem;
    await expect(runExtensionAuthPruneStep(spec, fakeContext(only).ctx)).rejects.toThrow(/client-ca-file would hold no CA without .*nothing was written/);
    expect(only.patches).toEqual([]);
  });
});
