import type { Severity } from '../model.js';
import { plural } from '../rules/facts.js';
import type { DigestPayload } from './digest-payload.js';
import { cutMrkdwn, slackText, truncate, visibleText } from './escape.js';

/**
 * Slack Block Kit for one digest: a header, the fleet summary, the most important changes (cluster, evidence,
 * remediation) and a context line with the run id, within Slack's limits:
 * - at most 50 blocks a message (https://docs.slack.dev/reference/block-kit/blocks);
 * - a header's text at most 150 characters (https://docs.slack.dev/reference/block-kit/blocks/header-block);
 * - a section's text at most 3,000 characters (https://docs.slack.dev/reference/block-kit/blocks/section-block);
 * - the whole message well under the ~13,000 characters of blocks Slack accepts in practice
 *   (slackapi/bolt-js#2509: msg_blocks_too_long below the documented limits).
 * What does not fit is counted in an "and N more" line.
 */

export const SLACK_MAX_BLOCKS = 50;
export const SLACK_HEADER_MAX = 150;
export const SLACK_SECTION_MAX = 3000;
/** The blocks' text this renderer spends at most (see above). */
export const SLACK_TEXT_BUDGET = 11_000;
/** Changes shown at most: header, summary, divider, the changes, "and N more", context. */
const MAX_CHANGES = SLACK_MAX_BLOCKS - 5;
const CHANGE_MAX = 900;

export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'divider' }
  | { type: 'context'; elements: Array<{ type: 'mrkdwn'; text: string }> };

export interface SlackMessage {
  /** the notification's plain text (shown where blocks are not) */
  text: string;
  blocks: SlackBlock[];
}

const ICON: Readonly<Record<Severity, string>> = {
  CRITICAL: ':red_circle:',
  HIGH: ':large_orange_circle:',
  MEDIUM: ':large_yellow_circle:',
  LOW: ':large_blue_circle:',
  INFO: ':white_circle:',
};

/** Escaped mrkdwn cut to `max` with an ellipsis, never inside a character or an escape. */
const cut = (text: string, max: number) => (text.length > max ? `${cutMrkdwn(text, max - 1)}…` : text);

/** Plain text for a header: one line, data's control characters shown (headers do not read mrkdwn). */
const plainLine = (text: string) => truncate(visibleText(text), SLACK_HEADER_MAX);

export function renderSlackDigest(payload: DigestPayload): SlackMessage {
  const { changes, fleet } = payload;
  const counts = [
    [changes.new, 'new'],
    [changes.worsened, 'worsened'],
    [changes.resolved, 'resolved'],
  ]
    .filter(([n]) => Number(n) > 0)
    .map(([n, word]) => `${n} ${word}`);
  const title = `EKS fleet audit: ${counts.join(', ') || 'no changes'}`;
  const summary =
    `*Fleet score ${fleet.score ?? 'n/a'}* · ${plural(fleet.audited, 'cluster')} audited of ${fleet.clusters} · ` +
    `${fleet.nodesReached}/${fleet.nodesExpected} nodes read · run ${slackText(payload.status)}` +
    (payload.notes.length > 0 ? `\n${payload.notes.map(slackText).join('\n')}` : '');
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: plainLine(title) } },
    { type: 'section', text: { type: 'mrkdwn', text: cut(summary, SLACK_SECTION_MAX) } },
    { type: 'divider' },
  ];
  let spent = title.length + summary.length;
  let shown = 0;
  for (const f of payload.findings) {
    if (shown >= MAX_CHANGES) break;
    const lines = [
      `${ICON[f.severity]} *${f.state} ${f.severity}* \`${f.ruleId}\` on ${slackText(f.cluster)}`,
      slackText(f.evidence),
      ...(f.fix ? [`_Fix:_ ${slackText(f.fix)}`] : []),
    ];
    const text = cut(lines.join('\n'), CHANGE_MAX);
    if (spent + text.length > SLACK_TEXT_BUDGET) break;
    spent += text.length;
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text } });
    shown += 1;
  }
  const more = payload.findings.length - shown + payload.omitted;
  if (more > 0) {
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `…and ${plural(more, 'more change')}: see the run's report.` },
    });
  }
  blocks.push({
    type: 'context',
    elements: [
      {
        type: 'mrkdwn',
        text: cut(
          `Run ${slackText(payload.runId)} · digest ${slackText(payload.digestId)} · ` +
            `\`fleet-audit report --run ${slackText(payload.runId)} --table &lt;TableName&gt; --format html\``,
          SLACK_SECTION_MAX,
        ),
      },
    ],
  });
  return { text: plainLine(title), blocks };
}

/** A message for what the topic carries besides digests: the stack's CloudWatch alarms, or anything else. */
export function renderSlackNotice(subject: string | null, body: string): SlackMessage {
  let title = subject ?? 'Fleet audit notification';
  let text = body;
  try {
    const alarm = JSON.parse(body) as { AlarmName?: unknown; NewStateValue?: unknown; NewStateReason?: unknown };
    if (typeof alarm.AlarmName === 'string' && typeof alarm.NewStateValue === 'string') {
      title = `${alarm.NewStateValue}: ${alarm.AlarmName}`;
      text = typeof alarm.NewStateReason === 'string' ? alarm.NewStateReason : '';
    }
  } catch {
    // not JSON: the body as it is
  }
  return {
    text: plainLine(title),
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: plainLine(title) } },
      ...(text
        ? [{ type: 'section' as const, text: { type: 'mrkdwn' as const, text: cut(slackText(text), 2000) } }]
        : []),
    ],
  };
}
