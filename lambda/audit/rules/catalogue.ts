import type { RuleId } from '../model.js';
import { addonVersionRisk } from './addon-version-risk.js';
import { auditCoverage } from './audit-coverage.js';
import { auditFailed } from './audit-failed.js';
import { cniApiDependency } from './cni-api-dependency.js';
import { cniRestarts } from './cni-restarts.js';
import { iptMixedBackend } from './ipt-mixed-backend.js';
import { iptSlowSync } from './ipt-slow-sync.js';
import { kpIptablesScale } from './kp-iptables-scale.js';
import { kpSyncFailing } from './kp-sync-failing.js';
import type { Rule } from './rule.js';
import { scaleGrowth } from './scale-growth.js';
import { xtLockContention } from './xt-lock-contention.js';

/** The rule catalogue in the fixed order of RULE_IDS; findings are listed most severe first. */
export const CATALOGUE: ReadonlyArray<Rule> = [
  kpIptablesScale,
  xtLockContention,
  iptSlowSync,
  kpSyncFailing,
  cniRestarts,
  cniApiDependency,
  iptMixedBackend,
  addonVersionRisk,
  scaleGrowth,
  auditCoverage,
  auditFailed,
];

export function ruleById(id: RuleId): Rule | undefined {
  return CATALOGUE.find((rule) => rule.id === id);
}

/** Looks a rule up by an id typed by a user (case-insensitive); undefined when there is none. */
export function findRule(id: string): Rule | undefined {
  return CATALOGUE.find((rule) => rule.id === id.trim().toUpperCase());
}
