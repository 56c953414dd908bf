import { type Finding, SEVERITIES, type Severity, severityRank } from '#audit/model.js';
import { UsageError } from './errors.js';

/** `--fail-on`: a severity in any case, or null when the option was not given. */
export function parseFailOn(text: string | undefined): Severity | null {
  if (text === undefined) return null;
  const severity = SEVERITIES.find((s) => s === text.toUpperCase());
  if (!severity) throw new UsageError(`--fail-on ${JSON.stringify(text)}: expected one of ${SEVERITIES.join(', ')}`);
  return severity;
}

/** A finding still open (not resolved, not suppressed) at or above `failOn`. */
export function breaches(findings: ReadonlyArray<Finding>, failOn: Severity | null): boolean {
  return (
    failOn !== null &&
    findings.some(
      (f) => f.state !== 'RESOLVED' && f.state !== 'SUPPRESSED' && severityRank(f.severity) >= severityRank(failOn),
    )
  );
}
