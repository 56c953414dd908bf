import type { RuleId } from '../model.js';
import { kpIptablesScale } from './kp-iptables-scale.js';
import type { Rule } from './rule.js';

/** The rule catalogue, in the order findings are listed. */
export const CATALOGUE: ReadonlyArray<Rule> = [kpIptablesScale];

export function ruleById(id: RuleId): Rule | undefined {
  return CATALOGUE.find((rule) => rule.id === id);
}
