import { describe, expect, it } from 'vitest';
import { terminalOf } from '#cli/terminal.js';

function capture(verbosity: 'normal' | 'verbose') {
  const written: string[] = [];
  const stderr = { isTTY: false, write: (text: string) => written.push(text) };
  return { terminal: terminalOf(verbosity, {}, { stdout: { write: () => true }, stderr }), written };
}

describe('stderr lines with data in them', () => {
  it('write a warning that carries a cluster name or AWS message as one line of plain characters', () => {
    // Arrange
    const { terminal, written } = capture('normal');

    // Act
    terminal.warn('digest not sent: \u001b]0;title\u0007 InternalError\r\nfleet-audit: forged line \u202e');

    // Assert
    expect(written).toEqual([
      'fleet-audit: digest not sent: \\x1B]0;title\\x07 InternalError\\r\\nfleet-audit: forged line \\u202E\n',
    ]);
  });

  it('write an SDK error line in verbose mode with the message escaped', () => {
    // Arrange
    const { terminal, written } = capture('verbose');

    // Act
    terminal.sdkLogger?.error({
      clientName: 'EKSClient',
      commandName: 'ListClustersCommand',
      error: { name: 'AccessDenied', message: 'denied \u009b2J\u001b[2J' },
    });

    // Assert
    expect(written).toEqual(['aws: EKS ListClusters failed: AccessDenied: denied \\x9B2J\\x1B[2J\n']);
  });
});
