import { describe, expect, it } from 'vitest';
import type { AuditStore } from '#aws/store.js';
import type { DiscoveryState } from '#workflow/discovery-state.js';
import { AuditSettingsSchema } from '#workflow/settings.js';
import { poll, type StepDeps } from '#workflow/steps.js';

const state: DiscoveryState = {
  runId: 'r',
  startedAt: '2026-11-30T02:00:00.000Z',
  account: '111111111111',
  region: 'eu-west-1',
  name: 'payments',
  kubernetesVersion: '1.31',
  endpoint: null,
  addons: { vpcCni: null, kubeProxy: null },
  nodes: { expected: 1, pending: 1, unreachable: 0, unsupported: 0 },
  commandCount: 1,
  stored: { discoveryId: 'd-1', nodeItems: 1, commandItems: 1 },
  query: { queryId: 'q-1', logGroup: '/aws/containerinsights/payments/dataplane' },
  queryProblem: null,
  deadline: '2026-11-30T02:10:00.000Z',
};

describe('poll', () => {
  it('says done past the deadline without calling AWS, so a throttled call cannot fail a late cluster', async () => {
    // Arrange
    const deps: StepDeps = {
      clientsFor: () => {
        throw new Error('no AWS call expected past the deadline');
      },
      store: {} as AuditStore,
      publisher: null,
      settings: AuditSettingsSchema.parse({ targets: [{ account: '111111111111', region: 'eu-west-1' }] }),
      now: () => new Date('2026-11-30T02:10:00.000Z'),
    };

    // Act
    const result = await poll(state, deps);

    // Assert
    expect(result).toEqual({ done: true, commandsDone: false, queryDone: false });
  });
});
