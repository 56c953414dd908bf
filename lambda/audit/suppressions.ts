import { z } from 'zod';
import { type ClusterRef, RULE_IDS, type RuleId, RuleIdSchema } from './model.js';

/** Matches every account, region, cluster or rule in a suppression's scope. */
export const ANY = '*';

/**
 * A team's decision to silence one rule (or every rule) on part of the fleet until a date. The scope's account,
 * region and cluster are each a name or `*` (every one).
 */
export const SuppressionSchema = z.object({
  /** a 12-digit account id, or `*` */
  account: z.string().min(1),
  /** a region name, or `*` */
  region: z.string().min(1),
  /** cluster name, or `*` for every cluster of the account and region */
  cluster: z.string().min(1),
  /** a rule id, or `*` for every rule */
  ruleId: z.union([RuleIdSchema, z.literal(ANY)]),
  reason: z.string().min(1),
  owner: z.string().min(1),
  /**
   * ISO 8601; from then on the suppression no longer applies. The table's TTL attribute has the same name, but
   * "if ... the attribute on an item is a String data type, the TTL processes ignore the item" (DynamoDB Developer
   * Guide, time-to-live-ttl-before-you-start), so an expired suppression stays until someone removes it.
   */
  expiresAt: z.iso.datetime({ offset: true }),
  /** ISO 8601, when it was added (absent on suppressions stored before it was recorded) */
  createdAt: z.iso.datetime({ offset: true }).optional(),
  /**
   * Once it has ended: the digest given the notice that it ended (`sent` once that digest was delivered). A
   * suppression added again under the same scope replaces the item, and with it this mark.
   */
  endNotice: z.object({ digestId: z.string(), sent: z.boolean() }).optional(),
});
export type Suppression = z.infer<typeof SuppressionSchema>;

/** A suppression's id: its scope and rule, `<account>/<region>/<cluster>/<rule>`; one suppression per scope. */
export function suppressionId(s: Pick<Suppression, 'account' | 'region' | 'cluster' | 'ruleId'>): string {
  return `${s.account}/${s.region}/${s.cluster}/${s.ruleId}`;
}

const matches = (pattern: string, value: string | null) => pattern === ANY || pattern === value;

/** Whether `s` is in force at `now` (an expiry is the first instant it no longer applies). */
export function isActive(s: Suppression, now: string): boolean {
  return Date.parse(s.expiresAt) > Date.parse(now);
}

/** Whether `s`'s scope and rule cover `ruleId` on `cluster`, in force or not. */
function covers(s: Suppression, cluster: ClusterRef, ruleId: RuleId): boolean {
  return (
    matches(s.account, cluster.account) &&
    matches(s.region, cluster.region) &&
    matches(s.cluster, cluster.name) &&
    matches(s.ruleId, ruleId)
  );
}

/** The suppression that silences a rule on a cluster at `now`, if any. */
export function activeSuppression(
  cluster: ClusterRef,
  ruleId: RuleId,
  suppressions: ReadonlyArray<Suppression>,
  now: string,
): Suppression | undefined {
  return suppressions.find((s) => covers(s, cluster, ruleId) && isActive(s, now));
}

/** The suppression that silenced a rule on a cluster and has ended by `now` (the latest to end), if any. */
export function endedSuppression(
  cluster: ClusterRef,
  ruleId: RuleId,
  suppressions: ReadonlyArray<Suppression>,
  now: string,
): Suppression | undefined {
  return suppressions
    .filter((s) => covers(s, cluster, ruleId) && !isActive(s, now))
    .sort((a, b) => Date.parse(b.expiresAt) - Date.parse(a.expiresAt))[0];
}

/** A suppression given by a person that cannot be stored: what was wrong, in one line. */
export class SuppressionInputError extends Error {
  override readonly name = 'SuppressionInputError';
}

/** The longest a suppression may last: silencing is a decision to revisit, not a way to delete a rule. */
export const MAX_SUPPRESSION_DAYS = 366;

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** EKS cluster names: 1–100 characters, letters, digits, - and _, starting with a letter or digit (CreateCluster). */
const CLUSTER = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export interface SuppressionRequest {
  rule: string;
  account?: string;
  region?: string;
  cluster?: string;
  reason: string;
  owner: string;
  expires: string;
}

/**
 * Checks what a person typed and makes it a suppression: the rule a catalogue id or `*`; account, region and
 * cluster names in AWS's forms or `*` (omitted: `*`); reason and owner plain one-line text; the expiry a date
 * (`2027-03-31`: through the end of that day, UTC) or an ISO 8601 time with its offset, after `now` and at most
 * {@link MAX_SUPPRESSION_DAYS} days later.
 */
export function suppressionFrom(request: SuppressionRequest, now: Date): Suppression {
  const rule = request.rule.trim().toUpperCase();
  if (rule !== ANY && !(RULE_IDS as ReadonlyArray<string>).includes(rule)) {
    throw new SuppressionInputError(
      `--rule ${request.rule}: no such rule; one of ${RULE_IDS.join(', ')}, or * for every rule`,
    );
  }
  const account = scopePart('--account', request.account, ACCOUNT, 'a 12-digit account id');
  const region = scopePart('--region', request.region, REGION, 'a region name like eu-west-1');
  const cluster = scopePart('--cluster', request.cluster, CLUSTER, 'an EKS cluster name');
  return {
    account,
    region,
    cluster,
    ruleId: rule as RuleId | typeof ANY,
    reason: text('--reason', request.reason),
    owner: text('--owner', request.owner),
    expiresAt: expiryOf(request.expires, now),
    createdAt: now.toISOString(),
  };
}

function scopePart(flag: string, value: string | undefined, form: RegExp, what: string): string {
  const v = value?.trim() ?? ANY;
  if (v === ANY || form.test(v)) return v;
  throw new SuppressionInputError(`${flag} ${JSON.stringify(value)}: expected ${what}, or * for every one`);
}

function text(flag: string, value: string): string {
  const v = value.trim();
  if (v.length === 0) throw new SuppressionInputError(`${flag} is empty: say it in a few words`);
  if (CONTROL.test(v)) throw new SuppressionInputError(`${flag} holds a control character or a line break`);
  if (v.length > 500) throw new SuppressionInputError(`${flag} is ${v.length} characters; at most 500`);
  return v;
}

function expiryOf(value: string, now: Date): string {
  const v = value.trim();
  let at: number;
  const day = DATE_ONLY.exec(v);
  if (day) {
    const [, y, m, d] = day.map(Number) as [number, number, number, number];
    at = Date.UTC(y, m - 1, d + 1);
    const check = new Date(Date.UTC(y, m - 1, d));
    if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) at = Number.NaN;
  } else {
    at = DATE_TIME.test(v) ? Date.parse(v) : Number.NaN;
  }
  if (Number.isNaN(at)) {
    throw new SuppressionInputError(
      `--expires ${JSON.stringify(value)}: expected a date like 2027-03-31 or a time like 2027-03-31T18:00:00Z`,
    );
  }
  if (at <= now.getTime()) {
    throw new SuppressionInputError(`--expires ${v} is not in the future; a suppression needs an end`);
  }
  const latest = now.getTime() + MAX_SUPPRESSION_DAYS * 86_400_000;
  if (at > latest) {
    throw new SuppressionInputError(
      `--expires ${v} is more than ${MAX_SUPPRESSION_DAYS} days away; pick an earlier date and renew it then`,
    );
  }
  return new Date(at).toISOString();
}
