import type { PublishedMessage } from '#sim/fleet.js';

/** One digest message as delivered: its digest, its part, the changes it lists, and whether it says it may be a repeat. */
export interface DeliveredPart {
  digestId: string;
  /** from 1; a digest of one message is part 1 of 1 */
  part: number;
  parts: number;
  /** `account/region/cluster/RULE STATE`, in the order the e-mail lists them */
  changes: string[];
  repeated: boolean;
}

/** Reads the digest parts from the e-mail parts the simulator's SNS received. */
export function deliveredParts(outbox: ReadonlyArray<PublishedMessage>): DeliveredPart[] {
  return outbox.map((message) => {
    const text = message.parts?.email ?? '';
    const head = /Digest (\S+?)(?:, part (\d+) of (\d+))?\.$/m.exec(text);
    if (!head?.[1]) throw new Error(`a published message is not a digest: ${text.slice(0, 200)}`);
    const changes: string[] = [];
    let cluster = '';
    for (const line of text.split('\n')) {
      const header = /^(\S+\/\S+\/\S+) — score /.exec(line);
      if (header?.[1]) cluster = header[1];
      const change = /^ {2}(NEW|WORSENED|RESOLVED) \S+ (\S+):/.exec(line);
      if (change) changes.push(`${cluster}/${change[2]} ${change[1]}`);
    }
    return {
      digestId: head[1],
      part: Number(head[2] ?? 1),
      parts: Number(head[3] ?? 1),
      changes,
      repeated: text.includes('may have been delivered before'),
    };
  });
}
