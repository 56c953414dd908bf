import { type ClusterResult, type Finding, type RunResult, SEVERITIES, severityRank, worstSeverity } from '../model.js';
import { plural } from '../rules/facts.js';
import { scoreFleet } from '../scoring.js';
import { ANY, type Suppression } from '../suppressions.js';
import { type DigestPartPayload, type DigestPayload, digestPartPayload, digestPayload } from './digest-payload.js';
import { cutMrkdwn, escapeCluster, escapeFinding, slackText, truncate, visibleText } from './escape.js';
import { clusterLabel } from './labels.js';

export { clusterLabel };

/**
 * One SNS message: a plain-text part for email, an AWS Chatbot custom notification, and the digest as data for
 * the functions subscribed to the topic (the Slack notifier).
 */
export interface AlertMessage {
  subject: string;
  text: string;
  chatbot: Record<string, unknown>;
  /** absent on a message that is not a digest; on parts 2..N of a digest, only which part it is */
  payload?: DigestPayload | DigestPartPayload;
  attributes: {
    severity: string;
    account: string;
    cluster: string;
    /** the digest's id, the same on every part, so a subscriber can group the parts */
    digest?: string;
    /** this part's number (from 1) and how many parts the digest has */
    part?: number;
    parts?: number;
  };
}

export interface DigestEntry {
  cluster: ClusterResult;
  /** the findings worth telling about: NEW, WORSENED, RESOLVED */
  findings: Finding[];
}

/** One change a digest carries: its id (`<runId>/<fingerprint>`), its cluster's line and the finding. */
export interface DigestChange {
  id: string;
  cluster: ClusterResult;
  finding: Finding;
}

/** What the digest says about its own delivery, beside the findings. */
export interface DigestNotes {
  /** the digest's id: the same on a resend and on every part, so a subscriber can tell a repeat */
  digestId: string;
  /** changes of earlier runs whose digest was never delivered, carried in this one */
  earlierChanges: number;
  /** changes given up because too many waited undelivered */
  droppedChanges: number;
  /**
   * the part (from 0) that was published before, by a report step that died before recording it; null when none.
   * The parts before it were recorded as published and are not sent again; the parts after it never were.
   */
  repeatedPart: number | null;
  /**
   * suppressions that have ended and that no delivered digest has told of yet: each is told once, in part 1, so the
   * team can renew it or let its findings be alerted again
   */
  endedSuppressions?: ReadonlyArray<Suppression>;
}

export interface DigestSplit {
  /**
   * Whether a rendered part may be published as it is (the transport's size limits). A part of a single change
   * that does not fit is sent anyway, for the transport to cut.
   */
  fits: (message: AlertMessage) => boolean;
  /**
   * The parts of a digest split before (each part's last change, as {@link digestOrderKey}), so a retried step
   * sends the same parts; null or empty: split now.
   */
  boundaries?: ReadonlyArray<string> | null;
}

export interface DigestParts {
  messages: AlertMessage[];
  /** each part's last change as {@link digestOrderKey}: what a retried step needs to send the same parts */
  boundaries: string[];
}

const CHATBOT_DESCRIPTION_MAX = 3500;
/** SNS subjects must be shorter than 100 characters (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html). */
const SUBJECT_MAX = 99;
/** The part count a part is sized with before the split is known: the largest this renderer expects, in digits. */
const SIZING_PARTS = 999;

/** NEW and WORSENED by severity, then RESOLVED by severity. */
const importance = (f: Finding) => (f.state === 'RESOLVED' ? 0 : 10) + severityRank(f.severity);

/**
 * Where a change stands in a digest: most important first, then by change id (which starts with the run and the
 * cluster). A string, so that a part's last change, stored, still places every other change after a retry even if
 * that one change is gone.
 */
export function digestOrderKey(change: Pick<DigestChange, 'id' | 'finding'>): string {
  return `${String(99 - importance(change.finding)).padStart(2, '0')}|${change.id}`;
}

/**
 * The digest as an ordered sequence of parts, each a message that `split.fits`: part 1 has the fleet summary and
 * the most important changes, parts 2..N the rest in the same order; the last one says where the whole run is.
 * A digest that fits in one message is one message, as before there were parts. Every part carries the digest id
 * and its number; the Chatbot parts share a thread, and only part 1 carries the digest as data (the Slack
 * notifier's one message: the fleet summary and the most important changes, bounded).
 */
export function renderDigestParts(
  run: RunResult,
  changes: ReadonlyArray<DigestChange>,
  notes: DigestNotes,
  split: DigestSplit,
): DigestParts {
  const ordered = changes
    .map((change) => ({ change, order: digestOrderKey(change) }))
    .sort((a, b) => (a.order < b.order ? -1 : a.order > b.order ? 1 : 0));
  const summary = digestSummary(
    run,
    ordered.map((o) => o.change),
    notes,
  );
  let groups: Array<typeof ordered>;
  if (split.boundaries && split.boundaries.length > 0) {
    const boundaries = split.boundaries;
    groups = boundaries.map(() => []);
    for (const item of ordered) {
      const at = boundaries.findIndex((b) => item.order <= b);
      groups[at === -1 ? boundaries.length - 1 : at]?.push(item);
    }
  } else {
    groups = [];
    for (let from = 0; from < ordered.length || groups.length === 0; ) {
      const size = (n: number) =>
        split.fits(renderPart(run, ordered.slice(from, from + n), summary, groups.length, SIZING_PARTS, from, true));
      const count = largestFitting(ordered.length - from, size);
      groups.push(ordered.slice(from, from + count));
      from += count;
    }
  }
  const total = groups.length;
  let first = 0;
  const messages = groups.map((group, index) => {
    const message = renderPart(run, group, summary, index, total, first);
    first += group.length;
    return message;
  });
  const boundaries = groups.map((group, index) => group.at(-1)?.order ?? split.boundaries?.[index] ?? '');
  return { messages, boundaries };
}

/** The digest of `entries` as one message, however long (the transport cuts what does not fit). */
export function renderDigest(
  run: RunResult,
  entries: ReadonlyArray<DigestEntry>,
  notes: DigestNotes = { digestId: run.runId, earlierChanges: 0, droppedChanges: 0, repeatedPart: null },
): AlertMessage {
  const changes = entries.flatMap((e) =>
    e.findings.map((finding) => ({ id: `${run.runId}/${finding.fingerprint}`, cluster: e.cluster, finding })),
  );
  const [message] = renderDigestParts(run, changes, notes, { fits: () => true }).messages;
  if (!message) throw new Error('a digest renders at least one part');
  return message;
}

/** The most of `available` items (at least one) for which `fits(n)` holds; `fits` must only turn false as n grows. */
function largestFitting(available: number, fits: (n: number) => boolean): number {
  if (available <= 1 || fits(available)) return Math.max(available, 0);
  let good = 1;
  let bad = available;
  for (let n = 2; n < bad && fits(n); n *= 2) good = n;
  bad = Math.min(bad, good * 2);
  while (bad - good > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (fits(mid)) good = mid;
    else bad = mid;
  }
  return good;
}

interface DigestSummary {
  notes: DigestNotes;
  total: number;
  /** e.g. "2000 new, 3 resolved" */
  counts: string;
  /** the fleet's lines, first in part 1 */
  fleetLines: string[];
  /** notes on earlier digests (not the repeat, which is per part) */
  delivery: string[];
  /** the ended suppressions, unescaped: each channel escapes them its own way */
  ended: string[];
  clusters: number;
  payload: DigestPayload;
}

function digestSummary(run: RunResult, changes: ReadonlyArray<DigestChange>, notes: DigestNotes): DigestSummary {
  const all = changes.map((c) => c.finding);
  const count = (state: Finding['state']) => all.filter((f) => f.state === state).length;
  const counts = [
    [count('NEW'), 'new'],
    [count('WORSENED'), 'worsened'],
    [count('RESOLVED'), 'resolved'],
  ]
    .filter(([n]) => Number(n) > 0)
    .map(([n, word]) => `${n} ${word}`)
    .concat(notes.endedSuppressions?.length ? [`${plural(notes.endedSuppressions.length, 'suppression')} ended`] : [])
    .join(', ');
  const fleet = scoreFleet(run.clusters);
  const open = all.filter((f) => f.state !== 'RESOLVED');
  const bySeverity = SEVERITIES.map((s) => [s, open.filter((f) => f.severity === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  const fleetLines = [
    `Fleet score ${fleet.score ?? 'n/a'} (${fleet.audited} of ${plural(fleet.clusters, 'cluster')} audited), ` +
      `${fleet.nodes.reached}/${fleet.nodes.expected} nodes read.`,
    `Changes: ${counts || 'none'}${bySeverity ? ` (new or worse: ${bySeverity})` : ''}.`,
  ];
  const delivery = [
    notes.earlierChanges > 0
      ? `${plural(notes.earlierChanges, 'change')} from earlier runs whose digest was not delivered.`
      : null,
    notes.droppedChanges > 0
      ? `${plural(notes.droppedChanges, 'older change')} not shown: too many waited undelivered; see the report.`
      : null,
  ].filter((line): line is string => line !== null);
  const clusters = new Set(changes.map((c) => clusterLabel(c.cluster))).size;
  const ended = endedLines(notes.endedSuppressions ?? []);
  const payload = digestPayload(
    run,
    changes.map((c) => ({ cluster: c.cluster, findings: [c.finding] })),
    notes,
    [...delivery, ...ended],
  );
  return { notes, total: changes.length, counts, fleetLines, delivery, ended, clusters, payload };
}

/** Ended suppressions a digest names one by one; the rest are counted. */
const ENDED_SHOWN = 10;

/** One line an ended suppression, the first {@link ENDED_SHOWN}, then a count with the command that lists them all. */
function endedLines(ended: ReadonlyArray<Suppression>): string[] {
  const scope = (s: Suppression) =>
    [s.account, s.region, s.cluster].every((part) => part === ANY)
      ? 'the whole fleet'
      : `${s.account === ANY ? 'every account' : s.account}/${s.region === ANY ? 'every region' : s.region}/` +
        (s.cluster === ANY ? 'every cluster' : s.cluster);
  const sorted = [...ended].sort((a, b) => (a.expiresAt < b.expiresAt ? -1 : a.expiresAt > b.expiresAt ? 1 : 0));
  const lines = sorted
    .slice(0, ENDED_SHOWN)
    .map(
      (s) =>
        `Suppression ended ${s.expiresAt.slice(0, 10)}: ${s.ruleId === ANY ? 'every rule' : s.ruleId} on ` +
        `${scope(s)} (owner ${truncate(s.owner, 100)}: ${truncate(s.reason, 200)}); its findings are alerted ` +
        'again while they fire.',
    );
  const more = sorted.length - lines.length;
  if (more > 0) lines.push(`${plural(more, 'more suppression')} ended: fleet-audit suppress list --expired.`);
  return lines;
}

/**
 * Part `index` (from 0) of `total`, holding `items`, the first of which is change number `first` (from 0). Sized
 * (`sizing`), it is as large as it can ever be sent: with the note that it may be a repeat, which a retried step
 * adds to the one part it cannot know was published.
 */
function renderPart(
  run: RunResult,
  items: ReadonlyArray<{ change: DigestChange }>,
  summary: DigestSummary,
  index: number,
  total: number,
  first: number,
  sizing = false,
): AlertMessage {
  const { notes } = summary;
  const multi = total > 1;
  const base = `EKS fleet audit: ${summary.counts}${summary.clusters > 0 ? ` (${plural(summary.clusters, 'cluster')})` : ''}`;
  const suffix = multi ? ` (part ${index + 1} of ${total})` : '';
  const subject = base.slice(0, SUBJECT_MAX - suffix.length) + suffix;
  const entries = byCluster(items.map((i) => i.change));
  const findings = entries.flatMap((e) => e.findings);
  const repeated =
    notes.repeatedPart === index || sizing
      ? [
          multi
            ? `This part (${index + 1} of ${total}) of digest ${notes.digestId} may have been delivered before: its ` +
              'sender stopped before recording it.'
            : `This digest (${notes.digestId}) may have been delivered before: its sender stopped before recording it.`,
        ]
      : [];
  const range =
    items.length === 0
      ? 'none of its changes are left'
      : `changes ${first + 1}–${first + items.length} of ${summary.total}`;
  const partLine = multi
    ? [
        index === 0
          ? `This digest comes in ${total} parts, most important changes first: this part has ${range}.`
          : `Part ${index + 1} of ${total}, by importance after part ${index}: ${range}.`,
      ]
    : [];
  const head =
    index === 0 ? [...summary.fleetLines, ...summary.delivery, ...summary.ended.map((line) => visibleText(line))] : [];
  const reportCommand = `fleet-audit report --run ${run.runId} --table <TableName> --format html`;
  const last = index === total - 1;
  // The e-mail part is plain text; the Chatbot part is Slack mrkdwn: each gets its data escaped its own way.
  const plain = entries.map((e) => ({
    cluster: escapeCluster(e.cluster, visibleText),
    findings: e.findings.map((f) => escapeFinding(f, visibleText)),
  }));
  const slack = entries.map((e) => ({
    cluster: escapeCluster(e.cluster, slackText),
    findings: e.findings.map((f) => escapeFinding(f, slackText)),
  }));
  const text = [
    `Run ${visibleText(run.runId)} (${run.status}), ${run.clusters.length} clusters audited. ` +
      `Digest ${notes.digestId}${multi ? `, part ${index + 1} of ${total}` : ''}.`,
    ...repeated,
    ...head,
    ...partLine,
    '',
    ...plain.flatMap(({ cluster, findings }) => [
      `${clusterLabel(cluster)} — score ${cluster.score ?? 'n/a'}, ${cluster.status}, ` +
        `${cluster.nodes.reached}/${cluster.nodes.expected} nodes read`,
      ...findings.flatMap((f) => [
        `  ${f.state} ${f.severity} ${f.ruleId}: ${f.evidence.summary}`,
        ...(f.state === 'RESOLVED' ? [] : [`    Fix: ${f.remediation.summary}`]),
      ]),
      '',
    ]),
    ...(last ? [] : [`Continued in part ${index + 2} of ${total}.`]),
    `The whole run, every finding with its evidence and remediation: ${reportCommand}`,
  ].join('\n');
  const chatNotes = [...repeated, ...(index === 0 ? [...summary.delivery, ...summary.ended.map(slackText)] : [])];
  const description = [
    ...(index === 0 ? [`*Fleet audit ${slackText(run.runId)}*: ${summary.fleetLines.join(' ')}`] : []),
    ...(multi ? [`_Part ${index + 1} of ${total}: ${range}._`] : []),
    ...slack.map(
      ({ cluster, findings }) =>
        `*${clusterLabel(cluster)}* (score ${cluster.score ?? 'n/a'})\n` +
        findings.map((f) => `• ${f.state} *${f.severity}* \`${f.ruleId}\` ${f.evidence.summary}`).join('\n'),
    ),
    ...(chatNotes.length > 0 ? [chatNotes.join('\n')] : []),
  ].join('\n\n');
  const highest = worstSeverity(findings.filter((f) => f.state !== 'RESOLVED').map((f) => f.severity));
  const accounts = new Set(entries.map((e) => e.cluster.account ?? '-'));
  const names = new Set(entries.map((e) => e.cluster.name));
  const payload: DigestPayload | DigestPartPayload =
    index === 0
      ? { ...summary.payload, parts: total, notes: [...repeated, ...summary.delivery, ...summary.ended] }
      : digestPartPayload(run.runId, notes.digestId, index + 1, total);
  return {
    subject,
    text,
    chatbot: {
      version: '1.0',
      source: 'custom',
      content: {
        textType: 'client-markdown',
        title: subject,
        description:
          description.length > CHATBOT_DESCRIPTION_MAX
            ? `${cutMrkdwn(description, CHATBOT_DESCRIPTION_MAX - 1)}…`
            : description,
        nextSteps: [`Run \`${reportCommand}\` for the evidence and remediation of every finding.`],
      },
      // one thread for every part of a digest ("thread custom notifications using the threadId parameter",
      // https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html)
      metadata: { threadId: `fleet-audit-${notes.digestId}`, summary: subject },
    },
    payload,
    attributes: {
      severity: highest ?? 'INFO',
      account: accounts.size === 1 ? ([...accounts][0] ?? '-') : accounts.size === 0 ? '-' : 'multiple',
      cluster: names.size === 1 ? ([...names][0] ?? '-') : names.size === 0 ? '-' : 'multiple',
      digest: notes.digestId,
      part: index + 1,
      parts: total,
    },
  };
}

/** Changes grouped by cluster, clusters in the order of their first (most important) change. */
function byCluster(changes: ReadonlyArray<DigestChange>): DigestEntry[] {
  const entries = new Map<string, DigestEntry>();
  for (const { cluster, finding } of changes) {
    const key = clusterLabel(cluster);
    const entry = entries.get(key) ?? { cluster, findings: [] };
    entry.findings.push(finding);
    entries.set(key, entry);
  }
  return [...entries.values()];
}
