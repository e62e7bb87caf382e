import type { OperationStatusKind } from '../common/tables';
import type { OperationName } from './operation';

/**
 * The status of an operation, kept in the status table: the gateway writes an `accepted` item (`processing`),
 * the consumer an `outcome` item (`completed` | `failed`); see common/tables.ts. States only move forward:
 * a read returns the outcome when there is one.
 */

export type OperationStatus = 'processing' | 'completed' | 'failed';

/** How long a status item is kept by default. */
export const DEFAULT_STATUS_RETENTION_SECONDS = 7 * 24 * 3600;

export interface OperationError {
  code: string;
  message: string;
}

/** An item of the status table (both kinds carry every field, so either alone answers a read). */
export interface StatusItem {
  requestId: string;
  kind: OperationStatusKind;
  /** Correlation id of the HTTP request that accepted the operation. */
  correlationId?: string;
  status: OperationStatus;
  sub?: string;
  operation: OperationName;
  businessId: string;
  locationId: string;
  resourceType: string;
  resourceId?: string;
  result?: unknown;
  /** The operation completed, but its result is too large for a status item (400 KB) and was left out. */
  resultOmitted?: boolean;
  error?: OperationError;
  acceptedAt: string;
  updatedAt: string;
  expiresAt: number;
}

/** Epoch seconds at which an item written `now` expires. */
export function expiresAt(now: Date, retentionSeconds = DEFAULT_STATUS_RETENTION_SECONDS): number {
  return Math.floor(now.getTime() / 1000) + retentionSeconds;
}
