import {
  CloudWatchLogsClient,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { awsCall, errorCode } from './errors.js';
import type { LogQuery, LogQueryResults, LogQueryRunner } from './ports.js';
import { sdkClientConfig } from './sdk-config.js';

export interface InsightsLogQueryRunnerClients {
  logs?: CloudWatchLogsClient;
  /**
   * The client StartQuery is sent with: one without the SDK's retries (maxAttempts 1), so a start refused for the
   * quota or throttled comes back at once and the workflow tries it at the next poll. Default: `logs`.
   */
  starts?: CloudWatchLogsClient;
}

/**
 * {@link LogQueryRunner} over CloudWatch Logs Insights. Pass the client in (tests, the target factory), or it builds
 * a default one with the project's retry policy.
 */
export class InsightsLogQueryRunner implements LogQueryRunner {
  readonly #logs: CloudWatchLogsClient;
  readonly #starts: CloudWatchLogsClient;

  constructor(clients: InsightsLogQueryRunnerClients = {}) {
    this.#logs = clients.logs ?? new CloudWatchLogsClient(sdkClientConfig());
    this.#starts = clients.starts ?? this.#logs;
  }

  startQuery(query: LogQuery): Promise<string | null> {
    return awsCall('logs:StartQuery', `log group ${query.logGroup}`, async () => {
      try {
        const { queryId } = await this.#starts.send(
          new StartQueryCommand({
            logGroupName: query.logGroup,
            queryString: query.queryString,
            startTime: query.startTime,
            endTime: query.endTime,
            ...(query.limit !== undefined && { limit: query.limit }),
          }),
        );
        if (!queryId) throw new Error('StartQuery returned no queryId');
        return queryId;
      } catch (error) {
        // A cluster without Container Insights has no data-plane log group: nothing to query, not a failure.
        if (errorCode(error) === 'ResourceNotFoundException') return null;
        throw error;
      }
    });
  }

  getQueryResults(queryId: string): Promise<LogQueryResults> {
    return awsCall('logs:GetQueryResults', `query ${queryId}`, async () => {
      const response = await this.#logs.send(new GetQueryResultsCommand({ queryId }));
      const rows = (response.results ?? []).map((fields) => {
        const row: Record<string, string> = {};
        for (const { field, value } of fields) {
          // @ptr is Logs Insights' pointer to the source event, not a result column.
          if (field !== undefined && field !== '@ptr' && value !== undefined) row[field] = value;
        }
        return row;
      });
      return { status: response.status ?? 'Unknown', rows };
    });
  }

  stopQuery(queryId: string): Promise<void> {
    return awsCall('logs:StopQuery', `query ${queryId}`, async () => {
      await this.#logs.send(new StopQueryCommand({ queryId }));
    });
  }
}
