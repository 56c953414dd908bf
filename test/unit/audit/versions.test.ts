import { describe, expect, it } from 'vitest';
import { compareVersions, formatVersion, parseVersion } from '#audit/versions.js';

describe('parseVersion', () => {
  it.each([
    ['v1.18.1-eksbuild.3', { major: 1, minor: 18, patch: 1 }],
    ['v1.19.4', { major: 1, minor: 19, patch: 4 }],
    ['1.31', { major: 1, minor: 31, patch: 0 }],
    ['1.31.2-eks-7f9249a', { major: 1, minor: 31, patch: 2 }],
    [' v1.23.0+build ', { major: 1, minor: 23, patch: 0 }],
  ])('reads %s', (text, version) => {
    expect(parseVersion(text)).toEqual(version);
  });

  it.each([['latest'], [''], ['v1'], ['1.x.3'], ['v1.18.1 beta'], [null], [undefined]])(
    'reads %j as unknown',
    (text) => {
      expect(parseVersion(text)).toBeNull();
    },
  );

  it('orders by major, minor, patch', () => {
    const sorted = ['v1.9.3', 'v1.19.4', 'v1.19.10', 'v1.2.0'].map((v) => parseVersion(v)).filter((v) => v !== null);
    sorted.sort(compareVersions);
    expect(sorted.map(formatVersion)).toEqual(['v1.2.0', 'v1.9.3', 'v1.19.4', 'v1.19.10']);
  });
});
