import {
  CloudWatchLogsClient,
  DescribeFieldIndexesCommand,
  type DescribeFieldIndexesCommandOutput,
  GetQueryResultsCommand,
  StartQueryCommand,
  StopQueryCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import type { FieldIndexInfo } from '#audit/log-query.js';
import { awsCall, errorCode } from './errors.js';
import type { LogQuery, LogQueryResults, LogQueryRunner } from './ports.js';
import { sdkClientConfig } from './sdk-config.js';

export interface InsightsLogQueryRunnerClients {
  logs?: CloudWatchLogsClient;
  /**
   * The client StartQuery and DescribeFieldIndexes are sent with: one without the SDK's retries (maxAttempts 1), so
   * a start refused for the quota or throttled comes back at once and the workflow tries it at the next poll, and a
   * throttled DescribeFieldIndexes at once leaves the query unindexed. Default: `logs`.
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

  /**
   * One DescribeFieldIndexes call (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeFieldIndexes.html):
   * its first page only. A log group has at most 20 custom field indexes besides the default ones (field index
   * syntax and quotas, https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatchLogs-Field-Indexing-Syntax.html);
   * an index on a later page is not used, and the query then scans the group in full, as without one.
   * DescribeIndexPolicies would answer only with the policy's JSON: neither the default indexes nor since when an
   * index holds events, which filterIndex needs. Sent once, like StartQuery (the `starts` client): a throttled
   * answer costs one full scan, where the SDK's back-off would hold Discover for seconds. A log group that does
   * not exist has no indexes (StartQuery then says it is missing).
   */
  fieldIndexes(logGroup: string): Promise<FieldIndexInfo[]> {
    return awsCall('logs:DescribeFieldIndexes', `log group ${logGroup}`, async () => {
      let fieldIndexes: DescribeFieldIndexesCommandOutput['fieldIndexes'];
      try {
        ({ fieldIndexes } = await this.#starts.send(
          new DescribeFieldIndexesCommand({ logGroupIdentifiers: [logGroup] }),
        ));
      } catch (error) {
        if (errorCode(error) === 'ResourceNotFoundException') return [];
        throw error;
      }
      return (fieldIndexes ?? []).flatMap((index) =>
        index.fieldIndexName
          ? [
              {
                name: index.fieldIndexName,
                category: index.indexCategory,
                type: index.type,
                firstEventTime: index.firstEventTime,
              },
            ]
          : [],
      );
    });
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
