import { describe, expect, it } from 'vitest';
import * as handlerSide from '#handlers/observability.js';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#lib/constructs/audit-function.js';
import { RUN_METRICS } from '#lib/constructs/dashboard.js';

describe('the dashboard’s metric names', () => {
  it('graphs the metrics the report function emits, under the same namespace and service', () => {
    expect(RUN_METRICS).toEqual(handlerSide.RUN_METRICS);
    expect(METRICS_NAMESPACE).toBe(handlerSide.METRICS_NAMESPACE);
    expect(SERVICE_NAME).toBe(handlerSide.SERVICE_NAME);
  });
});
