import { type ClusterResult, type Finding, type RunResult, worstSeverity } from '../model.js';
import { plural } from '../rules/facts.js';
import { type DigestPayload, digestPayload } from './digest-payload.js';
import { escapeCluster, escapeFinding, slackText, visibleText } from './escape.js';
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
  /** absent on a message that is not a digest */
  payload?: DigestPayload;
  attributes: { severity: string; account: string; cluster: string };
}

export interface DigestEntry {
  cluster: ClusterResult;
  /** the findings worth telling about: NEW, WORSENED, RESOLVED */
  findings: Finding[];
}

/** What the digest says about its own delivery, beside the findings. */
export interface DigestNotes {
  /** the digest's id: the same on a resend, so a subscriber can tell a repeat */
  digestId: string;
  /** changes of earlier runs whose digest was never delivered, carried in this one */
  earlierChanges: number;
  /** changes given up because too many waited undelivered */
  droppedChanges: number;
  /** this digest was published before, by a report step that died before recording it */
  repeated: boolean;
}

const CHATBOT_DESCRIPTION_MAX = 3500;

/** The digest: what is new, worse or resolved, cluster by cluster, with what it carries from earlier runs. */
export function renderDigest(
  run: RunResult,
  entries: ReadonlyArray<DigestEntry>,
  notes: DigestNotes = { digestId: run.runId, earlierChanges: 0, droppedChanges: 0, repeated: false },
): AlertMessage {
  const all = entries.flatMap((e) => e.findings);
  const count = (state: Finding['state']) => all.filter((f) => f.state === state).length;
  const parts = [
    [count('NEW'), 'new'],
    [count('WORSENED'), 'worsened'],
    [count('RESOLVED'), 'resolved'],
  ]
    .filter(([n]) => Number(n) > 0)
    .map(([n, word]) => `${n} ${word}`);
  const subject = `EKS fleet audit: ${parts.join(', ')} (${plural(entries.length, 'cluster')})`;
  const delivery = [
    notes.repeated
      ? `This digest (${notes.digestId}) may have been delivered before: its sender stopped before recording it.`
      : null,
    notes.earlierChanges > 0
      ? `${plural(notes.earlierChanges, 'change')} from earlier runs whose digest was not delivered.`
      : null,
    notes.droppedChanges > 0
      ? `${plural(notes.droppedChanges, 'older change')} not shown: too many waited undelivered; see the report.`
      : null,
  ].filter((line): line is string => line !== null);
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
    `Run ${visibleText(run.runId)} (${run.status}), ${run.clusters.length} clusters audited. Digest ${notes.digestId}.`,
    ...delivery,
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
  ].join('\n');
  const description = slack
    .map(
      ({ cluster, findings }) =>
        `*${clusterLabel(cluster)}* (score ${cluster.score ?? 'n/a'})\n` +
        findings.map((f) => `• ${f.state} *${f.severity}* \`${f.ruleId}\` ${f.evidence.summary}`).join('\n'),
    )
    .concat(delivery.length > 0 ? [delivery.join('\n')] : [])
    .join('\n\n');
  const highest = worstSeverity(all.filter((f) => f.state !== 'RESOLVED').map((f) => f.severity));
  const accounts = new Set(entries.map((e) => e.cluster.account ?? '-'));
  const names = new Set(entries.map((e) => e.cluster.name));
  return {
    subject: subject.slice(0, 100),
    text,
    chatbot: {
      version: '1.0',
      source: 'custom',
      content: {
        textType: 'client-markdown',
        title: subject.slice(0, 100),
        description:
          description.length > CHATBOT_DESCRIPTION_MAX
            ? `${cutSlack(description, CHATBOT_DESCRIPTION_MAX - 1)}…`
            : description,
        nextSteps: [
          `Run \`fleet-audit report --run ${run.runId} --table <TableName> --format html\` for the evidence and ` +
            'remediation of every finding.',
        ],
      },
      metadata: { threadId: `fleet-audit-${notes.digestId}`, summary: subject.slice(0, 100) },
    },
    payload: digestPayload(run, entries, notes, delivery),
    attributes: {
      severity: highest ?? 'INFO',
      account: accounts.size === 1 ? ([...accounts][0] ?? '-') : 'multiple',
      cluster: names.size === 1 ? ([...names][0] ?? '-') : 'multiple',
    },
  };
}

/** The first `max` UTF-16 units of mrkdwn text, never ending inside a surrogate pair or an escape like `&lt;`. */
function cutSlack(text: string, max: number): string {
  const cut = text.slice(0, max);
  return cut.replace(/[\ud800-\udbff]$/, '').replace(/&[a-z]{0,3}$/, '');
}
