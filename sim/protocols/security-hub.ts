import type { RegionFleet } from '../fleet.js';
import { ApiError, type SimRequest, type SimResponse } from './wire.js';

/**
 * Security Hub over restJson1: `POST /findings/import` is BatchImportFindings
 * (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html). Its limits are enforced
 * as documented: "up to 100 findings per batch, up to 240 KB per finding, and up to 6 MB per batch", and a finding
 * must be sent from the account it names ("You must call BatchImportFindings using the account that is associated
 * with the findings", Security Hub partner guide, guidelines-batchimportfindings) into the region of its product
 * ARN. A finding that breaks a per-finding rule is listed in FailedFindings; a request that breaks a batch rule is
 * refused whole. Imported findings are kept by Id (a later import updates them), as Security Hub does.
 */

export const SECURITY_HUB_BATCH_FINDINGS = 100;
export const SECURITY_HUB_FINDING_BYTES = 240 * 1024;
export const SECURITY_HUB_BATCH_BYTES = 6 * 1024 * 1024;

export function securityHubRoute(request: Pick<SimRequest, 'method' | 'path'>): 'BatchImportFindings' | null {
  return request.method === 'POST' && request.path === '/findings/import' ? 'BatchImportFindings' : null;
}

export function handleSecurityHub(request: SimRequest, region: RegionFleet): SimResponse {
  if (!securityHubRoute(request)) {
    throw new ApiError(404, 'UnknownOperationException', `Unknown operation ${request.method} ${request.path}`);
  }
  if (Buffer.byteLength(request.body) > SECURITY_HUB_BATCH_BYTES) {
    throw new ApiError(413, 'InvalidInputException', 'The request is larger than 6 MB.');
  }
  let body: { Findings?: unknown };
  try {
    body = JSON.parse(request.body) as { Findings?: unknown };
  } catch {
    throw new ApiError(400, 'InvalidInputException', 'The request body is not JSON.');
  }
  if (!Array.isArray(body.Findings) || body.Findings.length === 0) {
    throw new ApiError(400, 'InvalidInputException', 'Findings must hold at least one finding.');
  }
  if (body.Findings.length > SECURITY_HUB_BATCH_FINDINGS) {
    throw new ApiError(400, 'InvalidInputException', 'Findings must hold at most 100 findings.');
  }
  const failed: Array<{ Id: string; ErrorCode: string; ErrorMessage: string }> = [];
  let success = 0;
  for (const item of body.Findings as Array<Record<string, unknown>>) {
    const id = typeof item.Id === 'string' ? item.Id : '';
    const productArn = typeof item.ProductArn === 'string' ? item.ProductArn : '';
    const problem =
      id === ''
        ? 'Finding Id is required.'
        : Buffer.byteLength(JSON.stringify(item)) > SECURITY_HUB_FINDING_BYTES
          ? 'Finding is larger than 240 KB.'
          : item.AwsAccountId !== region.account
            ? 'The AwsAccountId of the finding is not the account that sent it.'
            : productArn.split(':')[3] !== region.region
              ? 'The ProductArn is not of this Region.'
              : item.SchemaVersion !== '2018-10-08'
                ? 'SchemaVersion must be 2018-10-08.'
                : null;
    if (problem) {
      failed.push({ Id: id || '(none)', ErrorCode: 'InvalidInput', ErrorMessage: problem });
      continue;
    }
    region.securityHubFindings.set(id, item);
    success += 1;
  }
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ FailedCount: failed.length, SuccessCount: success, FailedFindings: failed }),
  };
}
