/**
 * What every step gets: a client of its cluster, a log that prefixes each
 * line with the step and the cluster, and a clock that tests can speed up.
 */
import type { TextSink } from '../io';
import { KubeApiError, KubeClient } from '../kube/client';
import { loadKubeconfig, selectContext } from '../kube/kubeconfig';
import type { StepTarget } from '../../steps/spec';

/** A step failed: the message says what, where, the state the cluster is in and what to run. */
export class StepFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StepFailure';
    Object.setPrototypeOf(this, StepFailure.prototype);
  }
}

/** The API of the cluster a step works on, with a progress log. */
export interface StepContext {
  readonly target: StepTarget;
  readonly kube: Pick<KubeClient, 'get' | 'patch'>;
  /** One progress line (stdout: Terraform prints it with the resource's address). */
  log(line: string): void;
  /** Waits `ms` milliseconds (tests replace it). */
  sleep(ms: number): Promise<void>;
  /** Epoch milliseconds (tests replace it). */
  now(): number;
}

/** The client of a step's target: its kubeconfig and context. */
export function kubeClientFor(target: StepTarget): KubeClient {
  const config = loadKubeconfig({ file: target.kubeconfig });
  return new KubeClient(selectContext(config, target.context));
}

/** A context writing to `out`, each line as `cert-rotation <step> [<cluster>]: …`. */
export function stepContext(target: StepTarget, step: string, out: TextSink, kube: StepContext['kube'] = kubeClientFor(target)): StepContext {
  return {
    target,
    kube,
    log: (line) => out.write(`cert-rotation ${step} [${target.cluster}]: ${line}\n`),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
  };
}

/** Whether an error is the API server's 404. */
export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 404;
}

/** The first 12 hex digits of a digest, for log lines. */
export function short(hex: string): string {
  return hex.length > 12 ? `${hex.slice(0, 12)}…` : hex;
}
