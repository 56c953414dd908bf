import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { awsCall } from './errors.js';

/** Where one run's cluster list is: what the Plan step returns instead of the list itself. */
export interface RunListLocation {
  bucket: string;
  key: string;
}

/** The object key of a run's cluster list (the bucket's lifecycle rule expires `runs/`). */
export function runListKey(runId: string): string {
  return `runs/${runId}/clusters.json`;
}

/** Where a run's cluster list is written and read back: S3 (below), or a test's own. */
export interface RunListStore {
  /** Writes the run's list; returns where it is. */
  put(runId: string, items: ReadonlyArray<unknown>): Promise<RunListLocation>;
  /** Reads a run's list back: the parsed JSON (the caller checks its shape). */
  get(location: RunListLocation): Promise<unknown>;
}

/**
 * The runs' cluster lists in S3: the Plan function writes each run's list as one JSON array, the Distributed Map's
 * ItemReader reads its items from it (lib/constructs/audit-workflow.ts), and the Report function reads it again to
 * know every cluster of the run. A retried Plan writes the same key again (PutObject replaces it whole).
 */
export class S3RunLists implements RunListStore {
  readonly #s3: S3Client;
  readonly #bucket: string;

  constructor(options: { s3: S3Client; bucket: string }) {
    this.#s3 = options.s3;
    this.#bucket = options.bucket;
  }

  /** Writes the run's list; returns where it is. */
  async put(runId: string, items: ReadonlyArray<unknown>): Promise<RunListLocation> {
    const key = runListKey(runId);
    await awsCall('s3:PutObject', `s3://${this.#bucket}/${key}`, () =>
      this.#s3.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          Body: JSON.stringify(items),
          ContentType: 'application/json',
        }),
      ),
    );
    return { bucket: this.#bucket, key };
  }

  /** Reads a run's list back: the parsed JSON (the caller checks its shape). */
  async get(location: RunListLocation): Promise<unknown> {
    const text = await awsCall('s3:GetObject', `s3://${location.bucket}/${location.key}`, async () => {
      const { Body } = await this.#s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));
      if (!Body) throw new Error('GetObject returned no body');
      return Body.transformToString('utf8');
    });
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`s3://${location.bucket}/${location.key} is not JSON: the plan writes a JSON array there`);
    }
  }
}
