import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS, loadThresholds, ThresholdsError, thresholdsFromJson } from '#audit/thresholds.js';

describe('thresholds', () => {
  it('defaults to the documented thresholds', () => {
    expect(DEFAULT_THRESHOLDS).toMatchObject({
      servicesMedium: 500,
      servicesHigh: 1000,
      lockWaitedMedium: 0,
      lockWaitedShareHigh: 0.1,
      lockWaitersHigh: 2,
      saveMsNftMedium: 4000,
      saveMsNftHigh: 20000,
      staleSyncFloorSeconds: 60,
      saveMsMedium: 1000,
      saveMsHigh: 5000,
      syncP99SecondsMedium: 1,
      syncP99SecondsHigh: 5,
      staleSyncFactor: 2,
      staleSyncGraceSeconds: 60,
      awsNodeRestartsHigh: 3,
      uncoveredShareMedium: 0.25,
      growthMinSnapshots: 3,
      growthHorizonDays: 30,
    });
  });

  it('fills a partial object with the defaults', () => {
    expect(loadThresholds({ servicesHigh: 1500 })).toEqual({ ...DEFAULT_THRESHOLDS, servicesHigh: 1500 });
    expect(loadThresholds(undefined)).toEqual(DEFAULT_THRESHOLDS);
  });

  it.each([
    [{ servicesHigh: 'many' }, 'field servicesHigh: Invalid input: expected number, received string'],
    [{ servicesMedium: -1 }, 'field servicesMedium: Too small: expected number to be >0'],
    [{ lockWaitedShareHigh: 1.5 }, 'field lockWaitedShareHigh: Too big: expected number to be <=1'],
    [{ lockBusyShareHigh: 0.25 }, 'field lockBusyShareHigh: retired: XT-LOCK-CONTENTION now judges writers waiting'],
    [
      { saveMsNftMedium: 9000, saveMsNftHigh: 8000 },
      'field saveMsNftHigh: must be at least saveMsNftMedium (9000), is 8000',
    ],
    [{ servicesMedium: 800, servicesHigh: 700 }, 'field servicesHigh: must be at least servicesMedium (800), is 700'],
    [{ servicesHihg: 1500 }, /^field servicesHihg: not a threshold \(known: servicesMedium, servicesHigh, /],
    // a name every object inherits is still only an unknown threshold
    [{ toString: 1 }, /^field toString: not a threshold \(known: servicesMedium, /],
    [[1, 2], 'field (top level): Invalid input: expected object, received array'],
  ])('rejects %j with one line naming the field', (input, message) => {
    expect(() => loadThresholds(input)).toThrow(ThresholdsError);
    expect(() => loadThresholds(input)).toThrow(message);
  });

  it('reads JSON text and says when it is not JSON', () => {
    expect(thresholdsFromJson('{"growthHorizonDays": 14}').growthHorizonDays).toBe(14);
    expect(() => thresholdsFromJson('{')).toThrow(
      'not JSON (expected an object of thresholds, e.g. {"servicesHigh": 1500})',
    );
  });
});
