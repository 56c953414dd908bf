import { describe, expect, it } from 'vitest';
import { runReporter } from '#cli/progress.js';
import { terminalOf } from '#cli/terminal.js';

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
