import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ENDPOINT_PLACEHOLDER, shellQuote, updateAddonCommand } from '#audit/rules/remediation.js';

const run = (command: string) =>
  execFileSync(
    'bash',
    [
      '-c',
      `aws() { if [ "$2" = describe-cluster ]; then echo https://x.eks.amazonaws.com; else printf '%s\\n' "$@"; fi; }; ${command}`,
    ],
    {
      encoding: 'utf8',
    },
  ).split('\n');

describe('remediation helpers', () => {
  it('quotes words for the shell only when needed', () => {
    expect(shellQuote('prod-eu_1')).toBe('prod-eu_1');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it('builds update-addon commands that pass the JSON through the shell intact', () => {
    // Arrange
    const config = { env: { NOTE: "it's 100% fine", CLUSTER_ENDPOINT: ENDPOINT_PLACEHOLDER } };

    // Act
    const argv = run(updateAddonCommand({ account: null, region: 'us-east-1', name: 'odd name' }, 'vpc-cni', config));

    // Assert
    expect(argv.slice(0, 6)).toEqual(['eks', 'update-addon', '--cluster-name', 'odd name', '--addon-name', 'vpc-cni']);
    expect(JSON.parse(argv[7] ?? '')).toEqual({
      env: { NOTE: "it's 100% fine", CLUSTER_ENDPOINT: 'https://x.eks.amazonaws.com' },
    });
    expect(argv.slice(8, 12)).toEqual(['--resolve-conflicts', 'PRESERVE', '--region', 'us-east-1']);
  });
});
