// A small Kubernetes API client for the test bed's models: JSON over HTTPS with
// the cluster's admin client certificate. Only what the models need.
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';

export class KubeError extends Error {
  constructor(readonly status: number, readonly body: string, message: string) {
    super(message);
  }
}

export class KubeClient {
  private readonly agent: https.Agent;
  private readonly base: URL;

  /** `dir` is a test-bed cluster directory (clusters/I) with `url` and `pki/`. */
  constructor(readonly name: string, dir: string) {
    this.base = new URL(fs.readFileSync(path.join(dir, 'url'), 'utf8').trim());
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 8,
      ca: fs.readFileSync(path.join(dir, 'pki', 'serving-ca.crt')),
      cert: fs.readFileSync(path.join(dir, 'pki', 'admin.crt')),
      key: fs.readFileSync(path.join(dir, 'pki', 'admin.key')),
    });
  }

  request(method: string, apiPath: string, body?: unknown, contentType = 'application/json'): Promise<any> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = https.request({
        host: this.base.hostname,
        port: this.base.port,
        path: apiPath,
        method,
        agent: this.agent,
        timeout: 10_000,
        headers: { Accept: 'application/json', ...(data ? { 'Content-Type': contentType, 'Content-Length': data.length } : {}) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 0) >= 300) {
            reject(new KubeError(res.statusCode ?? 0, text, `${this.name}: ${method} ${apiPath} -> ${res.statusCode}: ${text.slice(0, 300)}`));
          } else {
            resolve(text ? JSON.parse(text) : undefined);
          }
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${this.name}: ${method} ${apiPath} timed out`)));
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  get(apiPath: string): Promise<any> {
    return this.request('GET', apiPath);
  }

  /** GET that answers undefined for 404. */
  async find(apiPath: string): Promise<any | undefined> {
    try {
      return await this.get(apiPath);
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return undefined;
      throw e;
    }
  }

  async list(apiPath: string): Promise<any[]> {
    try {
      return (await this.get(apiPath)).items ?? [];
    } catch (e) {
      if (e instanceof KubeError && e.status === 404) return [];
      throw e;
    }
  }

  create(apiPath: string, body: unknown): Promise<any> {
    return this.request('POST', apiPath, body);
  }

  mergePatch(apiPath: string, body: unknown): Promise<any> {
    return this.request('PATCH', apiPath, body, 'application/merge-patch+json');
  }
}
