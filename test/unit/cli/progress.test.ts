import { describe, expect, it } from 'vitest';
import { runReporter } from '#cli/progress.js';
import { terminalOf } from '#cli/terminal.js';
import type { DiscoveryState } from '#workflow/discovery-state.js';

/** A discovered cluster of 5,000 nodes, as Discover's state counts them (the nodes themselves are in the store). */
const DISCOVERED: DiscoveryState = {
  runId: 'r',
  startedAt: '2026-11-30T02:00:00.000Z',
  account: '111111111111',
  region: 'eu-west-1',
  name: 'big',
  kubernetesVersion: '1.31',
  endpoint: null,
  addons: { vpcCni: null, kubeProxy: null },
  nodes: { expected: 5000, pending: 4990, unreachable: 10, unsupported: 4 },
  commandCount: 100,
  stored: { discoveryId: 'd', nodeItems: 10, commandItems: 1 },
  query: { queryId: 'q', logGroup: '/aws/eks/big/dataplane' },
  queryProblem: null,
  deadline: '2026-11-30T02:10:00.000Z',
};
const OUTCOME = {
  account: '111111111111',
  region: 'eu-west-1',
  name: 'big',
  status: 'PARTIAL' as const,
  score: 90,
  nodes: { expected: 5000, reached: 4985, unreachable: 10, failed: 5 },
};

function ttyTerminal(verbosity: 'quiet' | 'normal' = 'normal') {
  const written: string[] = [];
  const stderr = { isTTY: true, columns: 100, write: (text: string) => written.push(text) };
  const stdout = { isTTY: true, columns: 100, write: () => true };
  return { terminal: terminalOf(verbosity, {}, { stdout, stderr }), written };
}

describe('the run progress line', () => {
  it('erases itself before a warning, so the warning gets a line of its own, and is drawn again after it', () => {
    // Arrange
    const { terminal, written } = ttyTerminal();
    const reporter = runReporter(terminal, () => 0);

    // Act
    reporter.note('log signals of cluster a not evaluated: quota in use');
    reporter.stop();

    // Assert
    expect(written.join('')).toBe(
      '\r\u001b[2Kfleet-audit: planning · 0/0 nodes read · 0:00' +
        '\r\u001b[2Kfleet-audit: log signals of cluster a not evaluated: quota in use\n' +
        '\r\u001b[2Kfleet-audit: planning · 0/0 nodes read · 0:00' +
        '\r\u001b[2K',
    );
  });

  it("counts a discovered cluster's nodes from its state's counts", () => {
    // Arrange
    const { terminal, written } = ttyTerminal();
    const reporter = runReporter(terminal, () => 0);

    // Act
    reporter.planned?.({ runId: 'r', startedAt: DISCOVERED.startedAt, clusters: [DISCOVERED] });
    reporter.discovered?.(DISCOVERED);
    const afterDiscovery = written.at(-1);
    reporter.clusterDone?.(OUTCOME);
    reporter.stop();

    // Assert
    expect(afterDiscovery).toBe('\r\u001b[2Kfleet-audit: 0/1 clusters done · 0/5000 nodes read · 0:00');
    expect(written.at(-2)).toBe('\r\u001b[2Kfleet-audit: 1/1 clusters done · 4985/5000 nodes read · 0:00');
  });

  it('says with --verbose how many nodes a cluster has and how many the collector was sent to', () => {
    // Arrange
    const written: string[] = [];
    const stderr = { isTTY: false, write: (text: string) => written.push(text) };
    const reporter = runReporter(terminalOf('verbose', {}, { stdout: { write: () => true }, stderr }));

    // Act
    reporter.discovered?.(DISCOVERED);

    // Assert
    expect(written).toEqual([
      'discover big: 5000 nodes, collector sent to 4990; log query on /aws/eks/big/dataplane\n',
    ]);
  });

  it('writes a warning as one line when stderr is not a terminal, and nothing with --quiet', () => {
    // Arrange
    const written: string[] = [];
    const stderr = { isTTY: false, write: (text: string) => written.push(text) };
    const piped = runReporter(terminalOf('normal', {}, { stdout: { write: () => true }, stderr }));
    const quiet = ttyTerminal('quiet');

    // Act
    piped.note('one');
    runReporter(quiet.terminal).note('two');

    // Assert
    expect(written).toEqual(['fleet-audit: one\n']);
    expect(quiet.written).toEqual([]);
  });
});
