import { BatchImportFindingsCommand, type SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { AsffFinding } from '#audit/render/asff.js';
import { awsCall } from './errors.js';

/**
 * Security Hub's limits for BatchImportFindings ("up to 100 findings per batch, up to 240 KB per finding, and up
 * to 6 MB per batch", Security Hub partner guide, guidelines-batchimportfindings). A finding over 240 KB is not
 * sent (it is reported failed here, as Security Hub would); batches are cut at 100 findings or 6 MB.
 */
export const IMPORT_BATCH_MAX_FINDINGS = 100;
export const IMPORT_FINDING_MAX_BYTES = 240 * 1024;
export const IMPORT_BATCH_MAX_BYTES = 6 * 1024 * 1024;

export interface ImportFailure {
  id: string;
  code: string;
  message: string;
}

export interface SecurityHubImportResult {
  imported: number;
  failed: ImportFailure[];
  /** findings not sent: their account is not the caller's */
  skipped: Array<{ id: string; account: string }>;
  /** BatchImportFindings calls made */
  calls: number;
}

/** A BatchImportFindings call that failed (after the SDK's retries), with the region it went to. */
export class SecurityHubImportError extends Error {
  override readonly name = 'SecurityHubImportError';
  constructor(
    readonly region: string,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

export interface SecurityHubImporterOptions {
  /** the account the credentials belong to: "You must call BatchImportFindings using the account that is
   * associated with the findings" (the same guide), so findings of other accounts are skipped */
  account: string;
  /** a client for a region (Security Hub is regional: each finding goes to its own region) */
  clientFor: (region: string) => Pick<SecurityHubClient, 'send'>;
}

/** Imports ASFF findings into Security Hub, region by region, in batches within the service's limits. */
export class SecurityHubImporter {
  readonly #options: SecurityHubImporterOptions;

  constructor(options: SecurityHubImporterOptions) {
    this.#options = options;
  }

  async import(findings: ReadonlyArray<AsffFinding>): Promise<SecurityHubImportResult> {
    const result: SecurityHubImportResult = { imported: 0, failed: [], skipped: [], calls: 0 };
    const byRegion = new Map<string, AsffFinding[]>();
    for (const finding of findings) {
      if (finding.AwsAccountId !== this.#options.account) {
        result.skipped.push({ id: finding.Id, account: finding.AwsAccountId });
        continue;
      }
      if (Buffer.byteLength(JSON.stringify(finding)) > IMPORT_FINDING_MAX_BYTES) {
        result.failed.push({ id: finding.Id, code: 'FindingTooLarge', message: 'the finding is over 240 KB' });
        continue;
      }
      const region = regionOf(finding);
      byRegion.set(region, [...(byRegion.get(region) ?? []), finding]);
    }
    for (const [region, inRegion] of byRegion) {
      const client = this.#options.clientFor(region);
      for (const batch of batches(inRegion)) {
        const out = await awsCall('securityhub:BatchImportFindings', `of ${batch.length} findings in ${region}`, () =>
          client.send(new BatchImportFindingsCommand({ Findings: batch as never })),
        ).catch((error: unknown) => {
          throw new SecurityHubImportError(region, error);
        });
        result.calls += 1;
        result.imported += out.SuccessCount ?? 0;
        for (const failure of out.FailedFindings ?? []) {
          result.failed.push({
            id: failure.Id ?? '?',
            code: failure.ErrorCode ?? 'Unknown',
            message: failure.ErrorMessage ?? '',
          });
        }
      }
    }
    return result;
  }
}

/** The region a finding is imported in: its product ARN's (the renderer puts the cluster's region there). */
export function regionOf(finding: AsffFinding): string {
  return finding.ProductArn.split(':')[3] ?? '';
}

/** Consecutive batches of at most 100 findings and 6 MB of JSON (the request's other bytes are few). */
function* batches(findings: ReadonlyArray<AsffFinding>): Generator<AsffFinding[]> {
  let batch: AsffFinding[] = [];
  let bytes = 0;
  for (const finding of findings) {
    const size = Buffer.byteLength(JSON.stringify(finding)) + 1;
    if (batch.length > 0 && (batch.length === IMPORT_BATCH_MAX_FINDINGS || bytes + size > IMPORT_BATCH_MAX_BYTES)) {
      yield batch;
      batch = [];
      bytes = 0;
    }
    batch.push(finding);
    bytes += size;
  }
  if (batch.length > 0) yield batch;
}
