/**
 * Versions as EKS and the nodes spell them: `v1.18.1-eksbuild.3` (add-on), `v1.19.4` (aws-node image), `1.31` or
 * `1.31.2-eks-7f9249a` (Kubernetes). Anything else is unknown, never guessed.
 */
export interface Version {
  major: number;
  minor: number;
  patch: number;
}

const VERSION = /^v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?(?:[-+][0-9A-Za-z.+-]*)?$/;

/** Parses a version; null when absent or not of the forms above. A missing patch reads as 0 (`1.31` = `1.31.0`). */
export function parseVersion(text: string | null | undefined): Version | null {
  if (typeof text !== 'string') return null;
  const match = VERSION.exec(text.trim());
  if (!match) return null;
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3] ?? '0') };
}

/** Negative when a < b, 0 when equal, positive when a > b (major, then minor, then patch). */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** `v1.19.4`-style text, for evidence and docs. */
export function formatVersion(version: Version): string {
  return `v${version.major}.${version.minor}.${version.patch}`;
}

/** Parses a version literal written in code (advisories, remediation); throws on a typo there. */
export function versionOf(text: string): Version {
  const version = parseVersion(text);
  if (!version) throw new Error(`not a version: ${text}`);
  return version;
}
